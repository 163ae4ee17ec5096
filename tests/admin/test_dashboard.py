"""The admin home page: the user's banks' portfolio, failed gates, assessments waiting, jobs, latest report; and
the navigation in groups (work, reference data, administration)."""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from html import unescape
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.db import connection
from django.db.models import F
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from playwright.sync_api import expect

from partnerships.admin.site import NAV_GROUPS, OTHER, group_app_list
from partnerships.errors import ServiceError
from partnerships.models import Initiative, KPIObservation
from scoring.dashboard import SHOWN, dashboard_for
from scoring.models import Assessment, Criterion, CurrentScore, Report, ScoreJob
from scoring.selectors import assessments_to_approve, assessments_to_rate
from scoring.services.assessments import (
    assessment_check_ratings,
    assessment_create,
    assessment_return,
    assessment_set_ratings,
    assessment_submit,
    may_approve,
)
from scoring.services.compute import score_initiatives
from scoring.services.jobs import score_job_create
from scoring.services.rubrics import rubrics_load
from tests.e2e.conftest import (  # noqa: F401  (Chromium on the live server, screenshots in test-artifacts/)
    artifacts,
    artifacts_root,
    browser,
    login,
    new_page,
    shot,
)
from tests.factories import InitiativeFactory, MembershipFactory, UserFactory
from tests.scoring.conftest import make_rated_initiative
from tests.test_chinese_text import HALF_WIDTH

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [
    ROOT / "scoring" / "templates" / "scoring" / "admin" / "dashboard.html",
    ROOT / "config" / "templates" / "admin" / "index.html",
]
INDEX = "/admin/"


@pytest.fixture
def rubrics(two_banks):
    rubrics_load(versions={1})


def _page(client, language: str = "en") -> str:
    response = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str, element_id: str) -> str:
    """The dashboard section (a div.module) with this id, up to the next section."""
    start = html.index(f'id="{element_id}"')
    following = [
        html.find('<div class="module sc-section"', start),
        html.find('id="content-related"', start),
        html.find("</main>", start),
    ]
    return html[start : min(i for i in following if i != -1)]


def _scored(bank, n: int, *, pillar: str = "scenario") -> list[Initiative]:
    """``n`` initiatives of the bank with no assessment, scored: every rated gate is unrated, so each fails."""
    initiatives = [InitiativeFactory(bank=bank, pillar_id=pillar) for _ in range(n)]
    score_initiatives(bank_id=bank.pk, initiative_ids=[i.pk for i in initiatives])
    return initiatives


def _rated_assessment(initiative, author, *, raters=()) -> Assessment:
    """A draft by ``author`` with every rated criterion at 3 (rated by ``raters`` too, if given)."""
    assessment = assessment_create(user=author, initiative=initiative)
    keys = list(assessment.rubric_version.criteria.filter(source="rated").values_list("key", flat=True))
    assessment_set_ratings(
        user=author, assessment=assessment, ratings=[{"criterion": k, "value": 3} for k in keys]
    )
    for rater in raters:
        assessment_set_ratings(
            user=rater, assessment=assessment, ratings=[{"criterion": keys[0], "value": 2}]
        )
    return assessment


def _submitted(initiative, author, **kwargs) -> Assessment:
    assessment = _rated_assessment(initiative, author, **kwargs)
    return assessment_submit(user=author, assessment=assessment)


# --- tenancy: bank A's numbers, not bank B's ---------------------------------------------------------------


def test_an_analyst_sees_the_counts_of_their_bank_and_not_of_the_other(two_banks, rubrics, client_for):
    banks, users = two_banks
    a_scored = _scored(banks["A"], 3)
    a_high = make_rated_initiative(bank=banks["A"], rating=4, compliance=4)
    score_initiatives(bank_id=banks["A"].pk, initiative_ids=[a_high.pk])
    InitiativeFactory(bank=banks["A"], pillar_id="data_sharing", title="甲行未评分项目")  # not scored
    b_scored = _scored(banks["B"], 5)
    InitiativeFactory.create_batch(2, bank=banks["B"], pillar_id="smart_banking")

    tier_of_high = CurrentScore.objects.get(initiative=a_high).tier
    d = dashboard_for(users[("A", "analyst")])
    rows = {row.pillar: {c.tier: c.count for c in row.cells} for row in d.portfolio}
    assert list(rows) == ["scenario", "data_sharing", "smart_banking"]  # every pillar, in the seed's order
    expected_scenario = Counter({"D": 3}) + Counter({tier_of_high: 1})
    assert {t: n for t, n in rows["scenario"].items() if n} == dict(expected_scenario)
    assert rows["data_sharing"] == {"A": 0, "B": 0, "C": 0, "D": 0, "none": 1}
    assert rows["smart_banking"] == {
        "A": 0,
        "B": 0,
        "C": 0,
        "D": 0,
        "none": 0,
    }  # bank B's two are not counted
    assert d.totals.total == 5  # bank A's five initiatives; bank B has seven
    assert d.banks == {banks["A"].pk: banks["A"].name}
    assert d.failed_gates.count == 3 and {r["initiative_id"] for r in d.failed_gates.rows} == {
        i.pk for i in a_scored
    }

    client = client_for(users[("A", "analyst")])
    html = _page(client)
    portfolio = _section(html, "sc-portfolio")
    changelist = reverse("admin:partnerships_initiative_changelist")
    assert f'<a href="{changelist}?pillar__key__exact=scenario&amp;tier=D">3</a>' in portfolio
    assert f'<a href="{changelist}?pillar__key__exact=data_sharing&amp;tier=none">1</a>' in portfolio
    assert f'<a href="{changelist}">5</a>' in portfolio  # the grand total
    for initiative in b_scored:
        assert initiative.title not in html
    assert banks["B"].name_en not in html

    # Each number opens the list it counts.
    listed = client.get(f"{changelist}?pillar__key__exact=scenario&tier=D")
    assert listed.status_code == 200 and listed.context["cl"].result_count == 3

    # Bank B's manager sees bank B's numbers and none of bank A's initiatives.
    d_b = dashboard_for(users[("B", "manager")])
    assert d_b.totals.total == 7 and d_b.failed_gates.count == 5
    html_b = _page(client_for(users[("B", "manager")]))
    assert a_high.title not in html_b and "甲行未评分项目" not in html_b


def test_a_member_of_two_banks_sees_both_named(two_banks, client_for):
    banks, _users = two_banks
    both = UserFactory(username="both")
    MembershipFactory(user=both, bank=banks["A"], role="viewer")
    MembershipFactory(user=both, bank=banks["B"], role="analyst")
    InitiativeFactory(bank=banks["A"])
    InitiativeFactory(bank=banks["B"])
    assert dashboard_for(both).totals.total == 2
    html = _page(client_for(both), "zh-hans")
    assert "您所属的银行：甲银行、乙银行" in html
    assert "Your banks: Bank A, Bank B" in _page(client_for(both), "en")


def test_a_superuser_sees_every_bank(two_banks, rubrics):
    banks, _users = two_banks
    _scored(banks["A"], 2)
    _scored(banks["B"], 3)
    d = dashboard_for(UserFactory(username="root", is_superuser=True))
    assert d.all_banks and d.totals.total == 5 and d.failed_gates.count == 5


# --- assessments waiting: four eyes ------------------------------------------------------------------------


def test_the_approver_sees_a_submitted_assessment_and_its_author_does_not(two_banks, rubrics, client_for):
    banks, users = two_banks
    author = users[("A", "manager")]  # a manager, so only four eyes keep it off their list
    approver = UserFactory(username="manager2_a")
    MembershipFactory(user=approver, bank=banks["A"], role="manager")
    rater = UserFactory(username="manager3_a")
    MembershipFactory(user=rater, bank=banks["A"], role="manager")
    initiative = InitiativeFactory(bank=banks["A"], title="四眼原则项目")
    submitted = _submitted(initiative, author, raters=[rater])

    for user, expected in [
        (approver, True),
        (author, False),  # wrote it
        (rater, False),  # rated it
        (users[("A", "analyst")], False),  # not a manager
        (users[("B", "manager")], False),  # another bank
    ]:
        assert (submitted in assessments_to_approve(user)) is expected, user
        assert may_approve(user, submitted) is expected, user  # the service's answer, the same rule

    url = reverse("admin:scoring_assessment_change", args=[submitted.pk])
    approving = _section(_page(client_for(approver)), "sc-assessments")
    assert url in approving[approving.index('id="sc-to-approve"') :]
    assert "四眼原则项目" in approving
    authoring = _section(_page(client_for(author)), "sc-assessments")
    assert url not in authoring[authoring.index('id="sc-to-approve"') :]
    assert url not in _page(client_for(users[("B", "manager")]))


def test_drafts_to_rate_mine_first_and_a_returned_one_says_why(two_banks, rubrics, client_for):
    banks, users = two_banks
    analyst, manager = users[("A", "analyst")], users[("A", "manager")]
    colleague_draft = assessment_create(user=manager, initiative=InitiativeFactory(bank=banks["A"]))
    returned = _submitted(InitiativeFactory(bank=banks["A"], title="退回的项目"), analyst)
    assessment_return(user=manager, assessment=returned, reason="缺少合规材料")
    assessment_create(user=users[("B", "analyst")], initiative=InitiativeFactory(bank=banks["B"]))

    d = dashboard_for(analyst)
    assert [a.pk for a in d.to_rate.rows] == [returned.pk, colleague_draft.pk]  # mine first
    assert d.to_rate.count == 2
    assert not dashboard_for(users[("A", "viewer")]).to_rate.rows  # a viewer rates nothing
    # The selector and the service agree on who may rate what.
    for user in (analyst, manager, users[("A", "viewer")], users[("B", "analyst")]):
        for assessment in Assessment.objects.all():
            try:
                assessment_check_ratings(user=user, assessment=assessment, ratings=[])
                allowed = True
            except ServiceError:
                allowed = False
            assert (assessment in assessments_to_rate(user)) is allowed, (user, assessment)

    section = _section(_page(client_for(analyst), "zh-hans"), "sc-assessments")
    assert "退回的项目" in section and "已退回草稿：缺少合规材料" in section
    assert 'id="sc-to-approve"' not in section  # an analyst approves nothing: no such list
    assert 'id="sc-assessments"' not in _page(client_for(users[("A", "viewer")]))  # nor a viewer anything


# --- failed gates, jobs, report --------------------------------------------------------------------------


def test_a_failed_gate_is_named_with_a_link_to_the_initiative(two_banks, rubrics, client_for):
    banks, users = two_banks
    initiative = make_rated_initiative(bank=banks["A"], compliance=1)  # below the compliance gate (2)
    passing = make_rated_initiative(bank=banks["A"], compliance=3)
    score_initiatives(bank_id=banks["A"].pk, initiative_ids=[initiative.pk, passing.pk])
    gate = Criterion.objects.get(
        version=CurrentScore.objects.get(initiative=initiative).rubric_version, key="compliance_readiness"
    )

    client = client_for(users[("A", "viewer")])
    zh = _section(_page(client, "zh-hans"), "sc-failed-gates")
    assert reverse("admin:partnerships_initiative_change", args=[initiative.pk]) in zh
    assert f'<span title="compliance_readiness">{gate.name_zh_hans}</span>：打分为 1，低于门槛 2' in zh
    assert passing.title not in zh
    en = _section(_page(client, "en"), "sc-failed-gates")
    assert f"{gate.name_en}</span>: rated 1, below the gate of 2" in en


def test_a_running_job_shows_its_progress_and_the_endpoint_the_page_polls(two_banks, rubrics, client_for):
    banks, users = two_banks
    ids = [i.pk for i in InitiativeFactory.create_batch(4, bank=banks["A"])]
    job = score_job_create(requested_by=users[("A", "analyst")], bank_id=banks["A"].pk, initiative_ids=ids)
    ScoreJob.objects.filter(pk=job.pk).update(status="running", total=40, done=10, failed=2)
    finished = score_job_create(bank_id=banks["A"].pk, initiative_ids=ids)
    ScoreJob.objects.filter(pk=finished.pk).update(status="succeeded", done=4)

    client = client_for(users[("A", "viewer")])
    jobs = _section(_page(client, "zh-hans"), "sc-jobs")
    row = jobs[jobs.index(f'data-job="{job.pk}"') :]
    row = row[: row.index("</tr>")]
    assert '<progress class="sc-job-bar" max="40" value="12">30%</progress>' in row
    assert "12/40" in row and "运行中" in row and str(job.pk)[:8] in row
    assert f'data-job="{finished.pk}"' not in jobs  # only queued and running jobs
    assert 'id="sc-job-config"' in jobs and "scoring/admin/dashboard.js" in jobs
    assert finders.find("scoring/admin/dashboard.js")

    # The script's endpoint: the API's job list, signed in by the admin session, with the live counts.
    config = dashboard_config(jobs)
    polled = client.get(config["list"], HTTP_ACCEPT="application/json")
    assert polled.status_code == 200
    assert [(j["id"], j["done"], j["failed"], j["total"]) for j in polled.json()["results"]] == [
        (str(job.pk), 10, 2, 40)
    ]
    detail = client.get(config["detail"].replace(config["placeholder"], str(finished.pk)))
    assert detail.status_code == 200 and detail.json()["status"] == "succeeded"
    assert config["status"]["running"] == "运行中" and config["banks"] == {str(banks["A"].pk): "甲银行"}
    assert f'data-job="{job.pk}"' not in _page(
        client_for(users[("B", "manager")])
    )  # (logs the client out of A)


@pytest.mark.slow
def test_in_a_browser_the_bars_follow_the_jobs_without_a_reload_and_the_page_fits_1024px(
    two_banks,
    rubrics,
    new_page,  # noqa: F811  (the e2e fixture imported above)
    shot,  # noqa: F811
):
    banks, _users = two_banks
    _scored(banks["A"], 12)  # rows in the failed-gates table, long pillar names in the portfolio
    long = InitiativeFactory(bank=banks["A"], title="Unbroken" * 20, code="x" * 40)  # nowhere to break
    score_initiatives(bank_id=banks["A"].pk, initiative_ids=[long.pk])
    ids = [i.pk for i in InitiativeFactory.create_batch(3, bank=banks["A"])]
    job = score_job_create(bank_id=banks["A"].pk, initiative_ids=ids)
    ScoreJob.objects.filter(pk=job.pk).update(status="running", total=40, done=10, failed=2)

    page = new_page("zh-CN")
    page.set_viewport_size({"width": 1024, "height": 800})
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/api/v1/score-jobs/" in r.url else None)
    login(page, "viewer_a", "pw-for-tests-only")
    row = page.locator(f'tr[data-job="{job.pk}"]')
    expect(row.locator("progress")).to_have_attribute("value", "12")
    page.evaluate("window.sameDocument = true")  # a reload would lose it
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024  # no sideways scrolling
    shot(page, "dashboard-1024")

    ScoreJob.objects.filter(pk=job.pk).update(done=30)
    expect(row.locator(".sc-job-count")).to_have_text("32/40")
    expect(row.locator("progress")).to_have_attribute("value", "32")
    queued = score_job_create(bank_id=banks["A"].pk, initiative_ids=ids)  # started elsewhere: a row appears
    expect(page.locator(f'tr[data-job="{queued.pk}"] .sc-job-status')).to_have_text("排队中")

    ScoreJob.objects.filter(pk__in=[job.pk, queued.pk]).update(status="succeeded", done=F("total"), failed=0)
    expect(row.locator(".sc-job-status")).to_have_text("已成功")
    expect(row.locator(".sc-job-count")).to_have_text("40/40")
    expect(page.locator(f'tr[data-job="{queued.pk}"] .sc-job-count')).to_have_text("3/3")
    seen = len(polls)
    page.wait_for_timeout(4000)  # longer than one poll: none comes once nothing runs
    assert len(polls) == seen and page.evaluate("window.sameDocument") is True
    shot(page.locator("#sc-jobs"), "jobs-finished")


def dashboard_config(html: str) -> dict:
    found = re.search(r'<script id="sc-job-config" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_the_latest_ready_report_of_my_banks_is_linked(two_banks, client_for):
    banks, users = two_banks

    def report(bank, start: datetime.date, status="ready") -> Report:
        return Report.objects.create(
            bank=bank,
            period_start=start,
            period_end=start + datetime.timedelta(days=6),
            status=status,
            generated_at=timezone.now(),
        )

    older = report(banks["A"], datetime.date(2024, 11, 18))
    latest = report(banks["A"], datetime.date(2024, 11, 25))
    report(banks["A"], datetime.date(2024, 12, 2), status="failed")  # not ready: not linked
    other = report(banks["B"], datetime.date(2024, 12, 9))

    section = _section(_page(client_for(users[("A", "viewer")]), "zh-hans"), "sc-report")
    assert reverse("admin:scoring_report_change", args=[latest.pk]) in section
    assert reverse("admin:scoring_report_change", args=[older.pk]) not in section
    assert reverse("admin:scoring_report_change", args=[other.pk]) not in section
    assert "每周项目组合报告 · 甲银行 · 2024-11-25 – 2024-12-01" in section
    assert reverse("admin:scoring_report_changelist") in section
    assert dashboard_for(users[("B", "viewer")]).report == other


# --- language ------------------------------------------------------------------------------------------------


def _english_msgids() -> set[str]:
    """The English texts our templates translate ({% translate %} and one-line {% blocktranslate %})."""
    found: set[str] = set()
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'\{% translate "([^"]+)"', text))
        for body in re.findall(r"\{% blocktranslate[^%]*%\}(.*?)\{% endblocktranslate %\}", text):
            found |= {part.strip() for part in re.split(r"\{\{[^}]+\}\}", body) if len(part.strip()) > 3}
    return found


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style|template)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_the_home_page_in_chinese_has_no_english_words_of_ours(two_banks, rubrics, client_for):
    banks, users = two_banks
    manager = users[("A", "manager")]
    failing = make_rated_initiative(bank=banks["A"], compliance=1)
    score_initiatives(bank_id=banks["A"].pk, initiative_ids=[failing.pk])
    assessment_create(user=manager, initiative=InitiativeFactory(bank=banks["A"]))
    _submitted(InitiativeFactory(bank=banks["A"]), users[("A", "analyst")])
    job = score_job_create(bank_id=banks["A"].pk, initiative_ids=[failing.pk])
    ScoreJob.objects.filter(pk=job.pk).update(status="running", total=1)
    Report.objects.create(
        bank=banks["A"],
        period_start=datetime.date(2024, 11, 25),
        period_end=datetime.date(2024, 12, 1),
        status="ready",
        generated_at=timezone.now(),
    )

    html = _page(client_for(manager), "zh-hans")
    dashboard = html[html.index('<div class="sc-dashboard">') : html.index('<div id="content-related"')]
    text = _visible_text(dashboard)
    msgids = _english_msgids()
    assert len(msgids) > 30
    left = sorted(m for m in msgids if m in text)
    assert not left, left
    # Every Latin word left is data (codes, job ids, user names, the rubric's name) or a tier letter.
    data = {str(job.pk), *Initiative.objects.values_list("code", flat=True)}  # a job's id is hex
    data |= {
        str(v) for v in Assessment.objects.values_list("rubric_version__rubric__name_zh_hans", flat=True)
    }
    words = set(re.findall(r"[A-Za-z][A-Za-z_-]+", text))
    strays = {w for w in words if not any(w in item for item in data) and w not in {"analyst_a", "manager_a"}}
    assert not strays, strays
    bad = HALF_WIDTH.search(text)  # “：” and “（）” next to Chinese, not “:” and “()”
    assert not bad, text[max(0, bad.start() - 40) : bad.end() + 40]
    for chinese in (
        "各合作支柱的项目等级分布",
        "未过门槛",
        "待您处理的评估",
        "待打分",
        "待批准",
        "进行中的评分任务",
        "最新报告",
    ):
        assert chinese in text, chinese
    # The navigation's groups, in Chinese; Django's "Recent actions" is gone.
    related = _visible_text(html[html.index('id="content-related"') :])
    assert "日常工作" in related and "参考数据" in related
    assert "最近动作" not in html and "Recent actions" not in html and "recent-actions-module" not in html


# --- a fixed number of queries ------------------------------------------------------------------------------


def _world(banks, users, n: int) -> None:
    """``n`` initiatives of bank A (scored, every one failing a gate), a draft, a submitted assessment per three,
    a running job and a report — every section of the page has rows."""
    initiatives = _scored(banks["A"], n)
    InitiativeFactory(bank=banks["A"], pillar_id="data_sharing")
    for i, initiative in enumerate(initiatives):
        if i % 3 == 0:
            _submitted(initiative, users[("A", "analyst")])
        elif i % 3 == 1:
            assessment_create(user=users[("A", "analyst")], initiative=initiative)
    for _ in range(max(1, n // 4)):
        job = score_job_create(bank_id=banks["A"].pk, initiative_ids=[initiatives[0].pk])
        ScoreJob.objects.filter(pk=job.pk).update(status="running", total=n, done=1)
    start = datetime.date(2024, 11, 25) - datetime.timedelta(weeks=Report.objects.count())
    Report.objects.create(
        bank=banks["A"], period_start=start, period_end=start + datetime.timedelta(days=6), status="ready"
    )


def _fresh(user):
    return type(user).objects.get(pk=user.pk)  # no bank roles cached from an earlier call


def test_the_dashboard_reads_in_the_same_number_of_queries_for_5_or_42_initiatives(
    two_banks, rubrics, client_for, django_assert_max_num_queries
):
    banks, users = two_banks
    manager = users[("A", "manager")]
    _world(banks, users, 4)
    with CaptureQueriesContext(connection) as small:
        d = dashboard_for(_fresh(manager))
    assert d.failed_gates.count == 4 and d.to_approve.count == 2 and d.jobs.rows and d.report
    client = client_for(manager)
    with CaptureQueriesContext(connection) as small_page:
        _page(client)

    _world(banks, users, 36)  # 42 initiatives of bank A in all
    with django_assert_max_num_queries(len(small)):
        d = dashboard_for(_fresh(manager))
    assert d.totals.total == 42 and d.failed_gates.count == 40 and len(d.failed_gates.rows) == SHOWN
    assert d.to_approve.count == 2 + 12 and len(d.to_approve.rows) == SHOWN
    assert d.to_rate.more > 0 and d.jobs.count == 1 + 9
    assert len(small) <= 12, [q["sql"][:120] for q in small]
    with django_assert_max_num_queries(len(small_page)):
        html = _page(client)
    assert "显示" in _page(client, "zh-hans") and "Showing 10 of 40." in html


# --- navigation in groups -------------------------------------------------------------------------------------


def test_every_registered_model_lands_in_exactly_one_group():
    listed = [key for group in NAV_GROUPS for key in group.models]
    twice = [key for key, n in Counter(listed).items() if n > 1]
    assert not twice, f"in more than one group: {twice}"
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered - set(listed) == set(), "registered but in no group (add it to NAV_GROUPS)"
    assert set(listed) - registered == set(), "in a group but not registered (remove it from NAV_GROUPS)"
    with translation.override("en"):
        assert [str(g.name) for g in NAV_GROUPS] == ["Work", "Reference data", "Administration"]
    with translation.override("zh-hans"):
        assert [str(g.name) for g in NAV_GROUPS] == ["日常工作", "参考数据", "系统管理"]


def test_a_model_missing_from_the_lists_shows_under_other_rather_than_vanishing():
    app_list = [
        {
            "name": "Partnerships",
            "app_label": "partnerships",
            "models": [
                {"model": Initiative, "name": "initiatives", "object_name": "Initiative"},
                {"model": KPIObservation, "name": "KPI observations", "object_name": "KPIObservation"},
            ],
        }
    ]
    groups = group_app_list(app_list)
    assert [(g["app_label"], [m["object_name"] for m in g["models"]]) for g in groups] == [
        ("work", ["Initiative"]),
        (OTHER.label, ["KPIObservation"]),
    ]


def _groups(user) -> list[tuple[str, list[str]]]:
    request = RequestFactory().get(INDEX)
    request.user = user
    return [
        (g["app_label"], [m["model"]._meta.label_lower for m in g["models"]])
        for g in admin.site.get_app_list(request)
    ]


def test_analysts_see_work_and_reference_data_and_superusers_also_administration(two_banks, client_for):
    _banks, users = two_banks
    analyst = _groups(users[("A", "analyst")])
    assert [label for label, _models in analyst] == ["work", "reference"]
    assert analyst[0][1][:2] == ["partnerships.initiative", "scoring.assessment"]
    root = UserFactory(username="root", is_superuser=True)
    groups = _groups(root)
    assert [label for label, _models in groups] == ["work", "reference", "administration"]
    assert sorted(m for _label, models in groups for m in models) == sorted(
        m._meta.label_lower for m in admin.site._registry
    )

    # The sidebar of any page shows the groups; an app's own page still lists that app.
    client = client_for(root)
    changelist = client.get(reverse("admin:scoring_score_changelist"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    sidebar = changelist.content.decode()
    sidebar = sidebar[sidebar.index('id="nav-sidebar"') :]
    for name in ("日常工作", "参考数据", "系统管理"):
        assert f'<span class="section">{name}</span>' in sidebar
    assert 'class="app-work module"' in sidebar and "current-model" in sidebar
    app_page = client.get("/admin/partnerships/", HTTP_ACCEPT_LANGUAGE="en")
    assert app_page.status_code == 200
    assert [app["app_label"] for app in app_page.context["app_list"]] == ["partnerships"]
    assert reverse("admin:partnerships_initiative_changelist") in app_page.content.decode()
    assert client.get("/admin/no-such-app/").status_code == 404
