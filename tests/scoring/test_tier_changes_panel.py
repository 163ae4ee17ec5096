"""The score panel's "what would change the tier" section and the initiative's score charts, in both languages.

The search itself is tested against the engine in tests/scoring/test_sensitivity.py; here: what the admin pages
show, that it is the search's answer for the stored inputs, and that the charts cost a fixed number of queries.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from scoring.models import Score
from scoring.services.compute import score_initiatives
from scoring.services.sensitivity import score_sensitivity, score_tier_changes
from tests.scoring.conftest import make_rated_initiative

pytestmark = pytest.mark.django_db


def _scored(bank, **kwargs):
    initiative = make_rated_initiative(bank=bank, **kwargs)
    score_initiatives(bank_id=bank.pk, initiative_ids=[initiative.pk])
    return initiative


def _page(client, initiative, language: str) -> str:
    url = reverse("admin:partnerships_initiative_change", args=[initiative.pk])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str) -> str:
    start = html.index('class="tier-changes"')
    return html[start : html.index("</section>", start)]


def test_the_panel_says_in_chinese_what_one_change_would_do(two_banks, rubrics, client_for):
    banks, users = two_banks
    # Every rated criterion 3, compliance 3, partner strength 3 (腾讯 +43 %), KPI attainment 2: 73.5 → B.
    initiative = _scored(banks["A"])
    html = _page(client_for(users[("A", "viewer")]), initiative, "zh-hans")
    section = _section(html)
    assert "怎样改变等级" in section
    # One more level on a weight-10 criterion adds 100 × 10 × ¼ / 102 = 2.45 points: 75.95 → A.
    assert '<span title="acquisition_cost">获客成本</span>：提高 1 档 → A 级' in section
    # The compliance gate (≥ 2): one level more → A; two less (1) fails the gate → D. Chinese separators.
    assert (
        '<span title="compliance_readiness">合规就绪</span>：提高 1 档 → A 级；降低 2 档 → D 级（未过门槛）'
        in section
    )
    # A computed criterion says what its data would have to give.
    assert re.search(
        r"合作方实力</span><small[^>]*>（由数据计算）</small>：若数据结果为 4（现为 3）→ A 级", section
    )
    # Criteria whose one level adds too little are not listed: mutual_benefit (weight 4, +0.98 → 74.5, B).
    assert 'title="mutual_benefit"' not in section
    assert "level" not in section and "tier " not in section  # no English left in the Chinese page


def test_the_panel_says_in_english_that_only_the_failed_gate_can_lift_it(two_banks, rubrics, client_for):
    banks, users = two_banks
    initiative = _scored(banks["A"], compliance=1)  # below the compliance gate: D whatever the total (69.6)
    html = _page(client_for(users[("A", "viewer")]), initiative, "en")
    section = _section(html)
    assert "What would change the tier" in section
    items = re.findall(r"<li>(.*?)</li>", section)
    # Only the gate can move a D held down by a gate; no weight can.
    assert items == [
        '<span title="compliance_readiness">Compliance readiness</span>: +1 level → tier B (passes its gate)'
    ]


def test_the_sentences_are_the_search_on_the_stored_inputs(two_banks, rubrics):
    banks, _users = two_banks
    initiative = _scored(banks["A"])
    score = initiative.scores.get()
    result, _bundle = score_sensitivity(score)
    assert (result.total, result.tier) == (float(score.total), score.tier)
    with translation.override("en"):
        panel = score_tier_changes(score)
    listed = {row["key"] for row in panel["rows"]}
    assert listed == {c.key for c in result.criteria if c.up or c.down}  # no weight move within ½–2× here
    one = next(c for c in result.criteria if c.key == "acquisition_cost")
    assert (one.up.value, one.up.delta, one.up.tier) == (4.0, 1.0, "A")


def test_a_score_whose_inputs_do_not_give_its_tier_shows_no_section(two_banks, rubrics, client_for):
    banks, users = two_banks
    initiative = _scored(banks["A"])
    score = initiative.scores.get()
    Score.objects.filter(pk=score.pk).update(tier="C", total=50)  # as if scored by another engine
    score.refresh_from_db()
    assert score_tier_changes(score) is None
    assert 'class="tier-changes"' not in _page(client_for(users[("A", "viewer")]), initiative, "en")


def test_the_score_page_shows_the_section_too(two_banks, rubrics, client_for):
    banks, users = two_banks
    initiative = _scored(banks["A"])
    score = initiative.scores.get()
    html = (
        client_for(users[("A", "viewer")])
        .get(reverse("admin:scoring_score_change", args=[score.pk]), HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    assert '<span title="acquisition_cost">Customer-acquisition cost</span>: +1 level → tier A' in _section(
        html
    )


def _add_history(initiative, count: int) -> None:
    """``count`` older scores of the initiative (copies of its score with other totals and times)."""
    score = initiative.scores.get()
    start = score.computed_at - datetime.timedelta(days=count + 1)
    for i in range(count):
        total = 40 + i
        tier = "C" if total >= 45 else "D"
        old = Score.objects.create(
            initiative=initiative,
            rubric_version=score.rubric_version,
            assessment=score.assessment,
            total=total,
            tier=tier,
            gate_passed=True,
            failed_gates=[],
            confidence=score.confidence,
            provisional=False,
            breakdown=score.breakdown,
            inputs_hash=f"older-{i}",
        )
        Score.objects.filter(pk=old.pk).update(computed_at=start + datetime.timedelta(days=i))


def _trend(html: str) -> str:
    start = html.index('id="score-trend"')
    return html[start : html.index("</figure>", start)]


def _bars(html: str) -> str:
    start = html.index('id="score-criteria"')
    return html[start : html.index("</figure>", start)]


def test_the_charts_draw_a_point_per_score_and_a_bar_per_criterion(two_banks, rubrics, client_for):
    banks, users = two_banks
    initiative = _scored(banks["A"], compliance=1)
    _add_history(initiative, 4)
    criteria = initiative.scores.first().rubric_version.criteria.count()
    html = _page(client_for(users[("A", "viewer")]), initiative, "zh-hans")

    trend = _trend(html)
    assert trend.count('<circle class="point"') == 5
    assert trend.count('<line class="guide"') == 3 and "A ≥ 75" in trend and "C ≥ 45" in trend
    assert "<polyline" in trend and 'viewBox="0 0 640 240"' in trend and 'width="100%"' in trend
    assert '<title id="score-trend-title">评分趋势</title>' in trend and "<desc" in trend
    # The newest (69.6, D) is last in time; each point's tooltip has its date, total, tier and rubric version.
    titles = re.findall(r"<circle[^>]*><title>(.*?)</title>", trend)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d · 40\.0 分（D 级）· .* v1", titles[0]), titles[0]
    assert "69.6 分（D 级）" in titles[-1]
    hidden = trend[trend.index('class="sr-only"') :]
    assert hidden.count("<tr>") == 1 + 5  # header and one row per score

    bars = _bars(html)
    assert bars.count('<g class="bar">') == criteria
    assert bars.count('class="gate failed"') == 1  # compliance readiness, rated 1 below its gate of 2
    assert "合规就绪：贡献 1.96 分，最高 7.84 分（评分值 1，满分 4）" in bars
    assert bars[bars.index('class="sr-only"') :].count("<tr>") == 1 + criteria


def test_the_charts_in_english(two_banks, rubrics, client_for):
    banks, users = two_banks
    initiative = _scored(banks["A"])
    html = _page(client_for(users[("A", "viewer")]), initiative, "en")
    trend, bars = _trend(html), _bars(html)
    assert "Score trend" in trend and trend.count('<circle class="point"') == 1 and "<polyline" not in trend
    assert "Points by criterion" in bars
    assert "Customer-acquisition cost: 7.35 of 9.8 points (rated 3 of 4)" in bars


def test_the_initiative_page_costs_the_same_queries_for_2_and_20_scores(
    two_banks, rubrics, client_for, django_assert_max_num_queries
):
    banks, users = two_banks
    few, many = _scored(banks["A"]), _scored(banks["A"])
    _add_history(few, 1)
    _add_history(many, 19)
    client = client_for(users[("A", "viewer")])
    _page(client, few, "en")  # warms the per-process caches (the published rubric's compiled form)
    with CaptureQueriesContext(connection) as small:
        html = _page(client, few, "en")
    assert _trend(html).count('<circle class="point"') == 2
    assert len(small) <= 25, [q["sql"] for q in small.captured_queries]
    with django_assert_max_num_queries(len(small)):
        html = _page(client, many, "en")
    assert _trend(html).count('<circle class="point"') == 20
