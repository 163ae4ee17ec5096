"""Joint-lending limits where they act: through the real scoring service, a breached or unknown limit caps
compliance readiness at 0 and fails the compliance gate naming the limit and its figures — under rubric version 1
(published by default, no caps of its own) and version 2 alike — while an approaching limit is a warning that caps
nothing, and an initiative no limit concerns keeps the very score it had."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from partnerships.models import PartnerExposure
from scoring.models import RubricVersion, Score
from scoring.selectors import score_breakdown
from scoring.services.compute import score_initiatives
from scoring.services.preview import score_preview
from scoring.services.rubrics import rubric_version_publish, rubrics_load
from tests.factories import BankFactory, MembershipFactory, UserFactory
from tests.partnerships.limit_data import AS_OF, bank_figures, expose, lending_bank, load_regulatory_limits
from tests.scoring.conftest import make_rated_initiative

pytestmark = pytest.mark.django_db


def _score(initiative) -> Score:
    outcome = score_initiatives(bank_id=initiative.bank_id, initiative_ids=[initiative.pk], as_of=AS_OF)
    assert outcome.failed == 0, outcome.errors
    return Score.objects.filter(initiative=initiative).latest("id")


def _compliance(score) -> dict:
    return score.breakdown["inputs"]["data"].get("compliance_readiness") or {}


@pytest.fixture
def bank(rubrics):
    """Version 1 published; the 2021 limits loaded; a city commercial bank with tier-1 capital 1,000 万元."""
    load_regulatory_limits()
    bank = lending_bank("cap-bank")
    bank_figures(bank)
    return bank


def _tencent_exposure(initiative, **figures):
    from partnerships.models import TechPartner

    return expose(initiative.bank, TechPartner.objects.get(key="tencent"), **figures)


# --- version 1 -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("own", "tier", "gate"),
    [
        ("240", "A", True),
        ("250", "A", True),
        ("250.01", "D", False),
    ],  # capital 1,000: at 25 % allowed, over not
)
def test_under_version_1_the_capital_limit_caps_compliance_at_just_over_25_percent(bank, own, tier, gate):
    initiative = make_rated_initiative(rating=4, compliance=4, bank=bank)
    _tencent_exposure(initiative, balance=own, funded="0", low="50")
    score = _score(initiative)
    assert (score.tier, score.gate_passed) == (tier, gate)
    data = _compliance(score)
    if gate:
        assert "cap" not in data  # a warning (24 % and 25 % are ≥ 80 % of the limit) caps nothing
        assert [w["rule"] for w in data["joint_lending_warnings"]] == ["cn_2021_partner_capital_share"]
    else:
        assert score.failed_gates[0]["key"] == "compliance_readiness"
        assert (data["cap"], data["rated"]) == (0, 4.0)
        reason = data["cap_reasons"][0]
        assert (reason["kind"], reason["rule"], reason["status"]) == (
            "joint_lending",
            "cn_2021_partner_capital_share",
            "breach",
        )
        assert (reason["value_percent"], reason["threshold_percent"]) == ("25.001", "25")
        assert reason["figures"]["tier1_net_capital"]["value"] == "1000.00"


def test_an_unknown_limit_caps_too_never_within(bank):
    initiative = make_rated_initiative(rating=4, compliance=4, bank=bank)
    _tencent_exposure(initiative, balance="10", funded="5")
    other = BankFactory(bank_type="joint_stock", home_region="31")  # a bank with no figures at all
    moved = make_rated_initiative(rating=4, compliance=4, bank=other)
    _tencent_exposure(moved, balance="10", funded="5")
    score = _score(moved)
    assert score.tier == "D"
    reasons = _compliance(score)["cap_reasons"]
    assert {(r["rule"], r["status"]) for r in reasons} == {
        ("cn_2021_partner_capital_share", "unknown"),
        ("cn_2021_total_loans_share", "unknown"),
    }
    assert _score(initiative).tier == "A"  # the same exposure with the figures recorded is within


def test_an_initiative_no_limit_concerns_keeps_its_version_1_score(bank):
    initiative = make_rated_initiative(rating=4, compliance=4, bank=bank)
    before = _score(initiative)
    from tests.partnerships.limit_data import partner

    expose(bank, partner("someone-else"), balance="900", funded="0")  # a breach, but not with this partner
    outcome = score_initiatives(bank_id=bank.pk, initiative_ids=[initiative.pk], as_of=AS_OF)
    assert outcome.created == 0 and outcome.score_ids == [before.pk]
    assert "compliance_readiness" not in before.breakdown["inputs"]["data"]


def test_the_gate_fails_naming_the_limit_and_its_figures_in_the_readers_language(bank):
    initiative = make_rated_initiative(rating=4, compliance=3, bank=bank)
    _tencent_exposure(initiative, balance="400", funded="100")  # own part 300: 30 % of capital
    score = _score(initiative)
    with translation.override("zh-hans"):
        zh = score_breakdown(score)
    with translation.override("en"):
        en = score_breakdown(score)
    zh_text, en_text = zh["limits"]["compliance_readiness"], en["limits"]["compliance_readiness"]
    assert "与单一合作方（含其关联方）联合贷款余额不超过一级资本净额的25%" in zh_text
    assert "30%" in zh_text and "25%" in zh_text and "1,000" in zh_text and "：" in zh_text
    assert (
        "Joint lending with one partner and its related parties at most 25% of tier-1 net capital" in en_text
    )
    assert "30%, over the maximum of 25%" in en_text and "Tencent" in en_text
    row = next(r for r in en["rows"] if r["key"] == "compliance_readiness")
    assert row["rating"] == 0.0 and "Capped at 0 by a joint-lending limit" in row["rationale"]


def test_the_score_panel_shows_the_limit_under_the_failed_gate(bank, two_banks):
    initiative = make_rated_initiative(rating=4, compliance=3, bank=bank)
    _tencent_exposure(initiative, balance="400", funded="100")
    _score(initiative)
    user = UserFactory(is_superuser=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    page = client.get(reverse("admin:partnerships_initiative_change", args=[initiative.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "与单一合作方（含其关联方）联合贷款余额不超过一级资本净额的25%" in text


def test_a_warning_is_a_row_in_the_breakdown_that_caps_nothing(bank):
    initiative = make_rated_initiative(rating=4, compliance=4, bank=bank)
    _tencent_exposure(initiative, balance="300", funded="90")  # own 210: 21 % of 25 %, 84 % used
    score = _score(initiative)
    assert (score.tier, score.gate_passed) == ("A", True)
    with translation.override("en"):
        text = score_breakdown(score)["limits"]["compliance_readiness"]
    assert text.startswith("Joint-lending limit approaching, no cap:") and "84%" in text


def test_when_the_breach_ends_the_score_returns_to_the_one_without_it(bank):
    initiative = make_rated_initiative(rating=4, compliance=4, bank=bank)
    exposure = _tencent_exposure(initiative, balance="600", funded="0")
    assert _score(initiative).tier == "D"
    PartnerExposure.objects.filter(pk=exposure.pk).update(balance=50)
    assert _score(initiative).tier == "A"


# --- version 2 -----------------------------------------------------------------------------------------------------
@pytest.fixture
def v2(bank):
    rubrics_load()
    version = RubricVersion.objects.get(rubric__pillar_id="scenario", number=2)
    rubric_version_publish(version, rescore=False)
    return version


def test_under_version_2_the_breach_joins_the_compliance_caps(v2, bank):
    initiative = make_rated_initiative(
        rating=4, compliance=4, bank=bank
    )  # rated under version 2, now published
    _tencent_exposure(initiative, balance="600", funded="0", low="20")
    score = _score(initiative)
    assert score.rubric_version_id == v2.pk
    assert score.tier == "D" and score.failed_gates[0]["key"] == "compliance_readiness"
    data = _compliance(score)
    kinds = [(r["kind"], r.get("rule")) for r in data["cap_reasons"]]
    # both limits, each listed once (the cap's reasons and the joint-lending step agree)
    assert kinds == [
        ("joint_lending", "cn_2021_partner_capital_share"),
        ("joint_lending", "cn_2021_partner_funded_share"),
    ]
    assert (data["cap"], data["rated"]) == (0, 4.0)


def test_under_version_2_a_limit_within_leaves_the_checklist_cap_alone(v2, bank):
    initiative = make_rated_initiative(rating=4, compliance=4, bank=bank)
    _tencent_exposure(initiative, balance="10", funded="4")
    data = _compliance(_score(initiative))
    assert [r["kind"] for r in data["cap_reasons"]] == [
        "no_checklist"
    ]  # none loaded here: capped at 0 anyway


# --- the preview --------------------------------------------------------------------------------------------------
def test_the_preview_caps_by_the_limits_under_version_1(bank):
    initiative = make_rated_initiative(rating=4, compliance=4, bank=bank)
    _tencent_exposure(initiative, balance="600", funded="0")
    manager = UserFactory()
    MembershipFactory(user=manager, bank=bank, role="manager")
    ratings = [{"criterion": "compliance_readiness", "value": 4}]
    result = score_preview(user=manager, ratings=ratings, initiative=initiative)
    row = next(r for r in result["breakdown"] if r["key"] == "compliance_readiness")
    assert row["rating"] == 0.0 and row["data"]["cap_reasons"][0]["rule"] == "cn_2021_partner_capital_share"
    assert not result["gate_passed"]


def test_the_preview_reads_the_partner_links_once_for_the_sources_and_the_limits(bank):
    """As a chunk does: the partner sources' read of the links serves the limits too — one read of the links, the
    same capped preview (partner strength computed from the same read)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    initiative = make_rated_initiative(rating=4, compliance=4, bank=bank)
    _tencent_exposure(initiative, balance="600", funded="0")
    manager = UserFactory()
    MembershipFactory(user=manager, bank=bank, role="manager")
    ratings = [{"criterion": "compliance_readiness", "value": 4}]
    with CaptureQueriesContext(connection) as ctx:
        result = score_preview(user=manager, ratings=ratings, initiative=initiative)
    reads = [q["sql"] for q in ctx.captured_queries if "partnerships_initiativepartner" in q["sql"]]
    assert len(reads) == 1, reads
    rows = {r["key"]: r for r in result["breakdown"]}
    assert rows["compliance_readiness"]["rating"] == 0.0 and not result["gate_passed"]
    assert rows["partner_strength"]["rating"] == 3.0  # Tencent's +43 % market cap, as when scored
