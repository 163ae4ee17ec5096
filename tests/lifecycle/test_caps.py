"""The lifecycle caps where they act (docs/lifecycle.md): through the real scoring service, the contract register
caps exit readiness at each level under version 1 and version 2, a severe monitoring event caps the tier at C until
an assessment is approved after it, the preview does the same — and an initiative the rules do not touch keeps its
score bit for bit."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone, translation

from partnerships.models import MonitoringEvent, PartnershipContract
from scoring.choices import AssessmentStatus
from scoring.lifecycle import capped_tier, exit_readiness_cap
from scoring.models import Assessment, RubricVersion, Score
from scoring.selectors import score_breakdown
from scoring.services.compute import score_initiatives
from scoring.services.preview import score_preview
from scoring.services.rubrics import rubric_version_publish, rubrics_load
from tests.factories import UserFactory
from tests.scoring.conftest import complete_contract, make_rated_initiative

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 6, 1)


def _score(initiative, as_of=TODAY) -> Score:
    outcome = score_initiatives(bank_id=initiative.bank_id, initiative_ids=[initiative.pk], as_of=as_of)
    assert outcome.failed == 0, outcome.errors
    return Score.objects.get(pk=outcome.score_ids[0])  # the current one (an earlier Score when inputs recur)


def _exit(score) -> dict:
    return score.breakdown["inputs"]["data"].get("exit_readiness") or {}


def _exit_value(score) -> float | None:
    return score.breakdown["inputs"]["ratings"].get("exit_readiness")


# --- the pure rule ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("contract", "cap", "kinds"),
    [
        (None, 0, ["no_contract"]),
        ({"exit_plan": "  "}, 0, ["no_exit_plan"]),
        ({"exit_plan": "plan"}, 1, ["exit_plan_untested"]),
        (
            {"exit_plan": "plan", "exit_plan_last_tested_on": datetime.date(2024, 5, 31)},
            2,
            ["exit_plan_test_old"],
        ),
        (
            {"exit_plan": "plan", "exit_plan_last_tested_on": datetime.date(2024, 6, 1)},
            3,
            ["no_data_return_terms", "no_alternative_provider"],
        ),
        (
            {
                "exit_plan": "plan",
                "exit_plan_last_tested_on": datetime.date(2025, 1, 1),
                "data_return_and_destruction": "unknown",
                "alternative_provider": "X",
            },
            3,
            ["no_data_return_terms"],  # unknown counts as no
        ),
        (
            {
                "exit_plan": "plan",
                "exit_plan_last_tested_on": datetime.date(2025, 1, 1),
                "data_return_and_destruction": "yes",
                "alternative_provider": "X",
            },
            4,
            [],
        ),
    ],
)
def test_each_level_of_the_exit_readiness_cap(contract, cap, kinds):
    found, reasons = exit_readiness_cap(contract, as_of=TODAY)  # 2024-05-31 is 731 days before: too old
    assert (found, [r["kind"] for r in reasons]) == (cap, kinds)


def test_a_tier_cap_never_raises_a_tier():
    assert [capped_tier(t, "C") for t in "ABCD"] == ["C", "C", "C", "D"]
    assert capped_tier("A", None) == "A"


# --- through scoring, version 1 ---------------------------------------------------------------------------------
def test_no_contract_caps_exit_readiness_at_0_and_says_why(rubrics):
    initiative = make_rated_initiative(rating=4, compliance=4, contract=False)
    score = _score(initiative)
    data = _exit(score)
    assert (data["cap"], data["rated"], _exit_value(score)) == (0, 4.0, 0.0)
    assert [r["kind"] for r in data["cap_reasons"]] == ["no_contract"]
    # scenario version 1: Σw = 102, exit readiness w 4, KPI half-way (w 6 at 2/4), partner strength 3/4 (w 6)
    full = _score(make_rated_initiative(rating=4, compliance=4))
    assert float(full.total) - float(score.total) == pytest.approx(100 * 4 / 102, abs=0.06)
    with translation.override("zh-hans"):
        row = next(r for r in score_breakdown(score)["rows"] if r["key"] == "exit_readiness")
    assert "合同与退出登记" in row["rationale"] and "。" in row["rationale"]
    with translation.override("en"):
        row = next(r for r in score_breakdown(score)["rows"] if r["key"] == "exit_readiness")
    assert "Capped at 0 by the contract register: no contract is recorded" in row["rationale"]


@pytest.mark.parametrize(
    ("fields", "value"),
    [
        ({"exit_plan_last_tested_on": None}, 1.0),
        ({"exit_plan_last_tested_on": datetime.date(2023, 1, 1)}, 2.0),
        ({"alternative_provider": ""}, 3.0),
        ({}, 4.0),
    ],
)
def test_the_register_caps_a_rating_of_4_at_its_level(rubrics, fields, value):
    initiative = make_rated_initiative(rating=4, compliance=4, contract=False)
    complete_contract(initiative, **{"exit_plan_last_tested_on": datetime.date(2026, 5, 1), **fields})
    score = _score(initiative)
    assert _exit_value(score) == value
    assert ("cap" in _exit(score)) is (value < 4)


def test_a_rating_under_the_cap_stays_and_an_unrated_criterion_stays_unrated(rubrics):
    initiative = make_rated_initiative(rating=1, compliance=3, contract=False)
    complete_contract(initiative, exit_plan_last_tested_on=None)  # cap 1
    score = _score(initiative)
    assert _exit_value(score) == 1.0 and "rated" not in _exit(score) and _exit(score)["cap"] == 1

    other = make_rated_initiative(rating=3, compliance=3, contract=False)
    Assessment.objects.get(initiative=other).ratings.filter(criterion__key="exit_readiness").delete()
    score = _score(other)
    assert (
        _exit_value(score) is None and _exit(score)["cap"] == 0
    )  # recorded: the breakdown names what is missing


def test_a_complete_register_keeps_the_score_bit_for_bit(rubrics):
    initiative = make_rated_initiative(rating=3, compliance=3)
    before = _score(initiative)
    assert "exit_readiness" not in before.breakdown["inputs"]["data"]
    # a low-severity event and a contract edit that keeps it complete change nothing
    MonitoringEvent.objects.create(
        initiative=initiative, kind="complaint", occurred_on=TODAY, severity="low", description="投诉"
    )
    PartnershipContract.objects.filter(initiative=initiative).update(reference="HT-2026-01", notice_days=90)
    outcome = score_initiatives(bank_id=initiative.bank_id, initiative_ids=[initiative.pk], as_of=TODAY)
    assert outcome.created == 0 and outcome.score_ids == [before.pk]


# --- the tier cap -------------------------------------------------------------------------------------------------
def _severe(initiative, severity="high", **fields):
    return MonitoringEvent.objects.create(
        initiative=initiative,
        kind=fields.pop("kind", "data_breach"),
        occurred_on=fields.pop("occurred_on", datetime.date(2026, 5, 20)),
        severity=severity,
        description="客户信息泄露",
        **fields,
    )


@pytest.mark.parametrize("severity", ["high", "critical"])
def test_a_severe_event_caps_the_tier_at_c_until_reassessed(rubrics, severity):
    initiative = make_rated_initiative(rating=4, compliance=4)
    assert _score(initiative).tier == "A"
    event = _severe(initiative, severity)
    score = _score(initiative)
    assert score.tier == "C" and float(score.total) > 75  # the total stays; the tier is capped
    cap = score.breakdown["tier_cap"]
    assert (cap["cap"], cap["tier"], cap["capped"]) == ("C", "A", "C")
    assert [(r["event_kind"], r["severity"], r["occurred_on"]) for r in cap["reasons"]] == [
        (event.kind, severity, "2026-05-20")
    ]
    with translation.override("en"):
        text = score_breakdown(score)["tier_cap_text"]
    assert text.startswith("Re-assessment required: tier capped at C (from A) by Data breach")
    with translation.override("zh-hans"):
        assert "数据泄露" in score_breakdown(score)["tier_cap_text"]

    # closing the event does not lift the cap
    MonitoringEvent.objects.filter(pk=event.pk).update(status="closed", closed_on=datetime.date(2026, 5, 25))
    assert _score(initiative).tier == "C"
    # an assessment approved after the event was recorded does
    assessment = Assessment.objects.get(initiative=initiative)
    Assessment.objects.filter(pk=assessment.pk).update(
        approved_at=timezone.now() + datetime.timedelta(seconds=1)
    )
    after = _score(initiative)
    assert after.tier == "A" and "tier_cap" not in after.breakdown


def test_a_medium_event_caps_nothing_and_d_stays_d(rubrics):
    initiative = make_rated_initiative(rating=4, compliance=4)
    _severe(initiative, "medium")
    assert _score(initiative).tier == "A"
    failing = make_rated_initiative(rating=4, compliance=0)  # the compliance gate fails: D
    _severe(failing)
    score = _score(failing)
    assert score.tier == "D" and score.breakdown["tier_cap"]["capped"] == "D"


def test_an_initiative_never_approved_is_capped_by_any_severe_event(rubrics):
    initiative = make_rated_initiative(rating=4, compliance=4)
    Assessment.objects.filter(initiative=initiative).update(
        status=AssessmentStatus.SUBMITTED, approved_by=None, approved_at=None
    )
    _severe(initiative, occurred_on=datetime.date(2020, 1, 1))
    assert _score(initiative).tier == "C"


# --- version 2 and the preview -------------------------------------------------------------------------------------
def test_under_version_2_the_register_caps_too(rubrics):
    rubrics_load()
    rubric_version_publish(RubricVersion.objects.get(rubric__pillar_id="scenario", number=2), rescore=False)
    initiative = make_rated_initiative(rating=4, compliance=4, contract=False)
    score = _score(initiative)
    assert score.rubric_version.number == 2
    assert _exit(score)["cap"] == 0 and _exit_value(score) == 0.0
    _severe(initiative)
    assert _score(initiative).breakdown["tier_cap"]["cap"] == "C"


def test_the_preview_applies_both_caps(rubrics):
    initiative = make_rated_initiative(rating=4, compliance=4, contract=False)
    _severe(initiative)
    user = UserFactory(is_superuser=True)
    version = Assessment.objects.get(initiative=initiative).rubric_version
    ratings = [{"criterion": c.key, "value": 4} for c in version.criteria.filter(source="rated")]
    body = score_preview(user=user, ratings=ratings, initiative=initiative)
    row = next(r for r in body["breakdown"] if r["key"] == "exit_readiness")
    assert row["rating"] == 0.0
    assert body["tier"] == "C" and body["tier_cap"]["tier"] == "A"
    alone = score_preview(user=user, ratings=ratings, rubric_version=version)
    assert alone["tier"] == "A" and alone["tier_cap"] is None
