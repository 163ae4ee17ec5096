"""Rubric version 2 end to end: published, it scores initiatives through the real scoring service with the
version 2 formulas and the compliance cap — unknown facts fail the gates, and a knock-out names its rule.

The cap and formula rules have their own tests (test_caps.py, test_formulas_v2.py, test_sources_v2.py); these
pin what a whole score says when each rule trips and when it passes.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from partnerships.models import InitiativeDataCategory, PartnerLicence, PartnerMetric, ScenarioType
from scoring.choices import AssessmentStatus
from scoring.models import Assessment, Criterion, Rating, RubricVersion, Score
from scoring.services.checklists import checklists_load, current_checklists
from scoring.services.compute import score_initiatives
from scoring.services.rubrics import rubric_version_publish, rubrics_load
from tests.factories import (
    BankFactory,
    InitiativeFactory,
    InitiativePartnerFactory,
    KPIFactory,
    KPIObservationFactory,
    TechPartnerFactory,
    UserFactory,
)
from tests.scoring.test_caps import answer_levels

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def v2(taxonomy):
    rubrics_load()
    checklists_load()
    versions = {}
    for pillar in ("scenario", "data_sharing"):
        version = RubricVersion.objects.get(rubric__pillar_id=pillar, number=2)
        rubric_version_publish(version, rescore=False)
        versions[pillar] = version
    return versions


def _initiative(
    version, *, pillar, rating=4, answered=(1, 2, 3, 4), partner_kind="listed_platform", **fields
):
    """An initiative of ``pillar`` with a strong lead partner, a KPI on its path, every rated criterion at
    ``rating`` in an approved version 2 assessment, and its checklist answered up to ``answered``."""
    bank = BankFactory()
    initiative = InitiativeFactory(bank=bank, pillar_id=pillar, status="pilot", **fields)
    lead = TechPartnerFactory(kind=partner_kind)
    PartnerMetric.objects.create(
        partner=lead,
        metric="market_cap_change_pct",
        segment="",
        period="2025",
        value=60,
        unit="%",
        period_end=TODAY - datetime.timedelta(days=30),
        source="test",
    )
    PartnerMetric.objects.create(
        partner=lead,
        metric="revenue_growth_pct",
        segment="",
        period="2025",
        value=25,
        unit="%",
        period_end=TODAY - datetime.timedelta(days=30),
        source="test",
    )
    InitiativePartnerFactory(initiative=initiative, partner=lead, role="lead")
    kpi = KPIFactory(
        initiative=initiative,
        baseline=100,
        target=200,
        baseline_date=TODAY - datetime.timedelta(days=200),
        target_date=TODAY + datetime.timedelta(days=200),
    )
    KPIObservationFactory(kpi=kpi, value=160, observed_on=TODAY - datetime.timedelta(days=1))
    assessment = Assessment.objects.create(
        initiative=initiative,
        rubric_version=version,
        author=UserFactory(),
        status=AssessmentStatus.APPROVED,
        approved_by=UserFactory(),
        approved_at=timezone.now(),
    )
    Rating.objects.bulk_create(
        Rating(assessment=assessment, criterion=c, value=rating, rationale="试点实测")
        for c in Criterion.objects.filter(version=version, source="rated")
    )
    if answered:
        answer_levels(initiative, current_checklists()[pillar], *answered)
    return initiative


def _score(initiative, version) -> Score:
    outcome = score_initiatives(bank_id=None, initiative_ids=[initiative.pk], rubric_version_id=version.pk)
    assert outcome.failed == 0, outcome.errors
    return Score.objects.filter(initiative=initiative).latest("id")


def _row(score, key):
    return score.breakdown["inputs"]["data"].get(key) or {}


def test_a_scenario_initiative_with_everything_recorded_and_met_scores_a(v2):
    score = _score(_initiative(v2["scenario"], pillar="scenario"), v2["scenario"])
    assert (score.tier, score.gate_passed) == ("A", True)
    assert _row(score, "compliance_readiness")["cap"] == 4


def test_an_unanswered_checklist_caps_compliance_at_0_and_fails_its_gate(v2):
    score = _score(_initiative(v2["scenario"], pillar="scenario", answered=()), v2["scenario"])
    assert score.tier == "D" and [g["key"] for g in score.failed_gates] == ["compliance_readiness"]
    cap = _row(score, "compliance_readiness")
    assert cap["cap"] == 0 and cap["rated"] == 4 and cap["cap_reasons"][0]["kind"] == "checklist"


def test_a_checklist_met_to_level_2_caps_a_rating_of_4_at_2(v2):
    score = _score(_initiative(v2["scenario"], pillar="scenario", answered=(1, 2)), v2["scenario"])
    assert _row(score, "compliance_readiness")["cap"] == 2 and score.gate_passed


def test_p2p_is_knocked_out_naming_the_rule_while_history_is_kept(v2):
    initiative = _initiative(v2["scenario"], pillar="scenario")
    initiative.scenario_types.set(ScenarioType.objects.filter(key="p2p"))
    score = _score(initiative, v2["scenario"])
    assert score.tier == "D" and score.failed_gates[0]["key"] == "compliance_readiness"
    reason = _row(score, "compliance_readiness")["cap_reasons"][0]
    assert reason["kind"] == "prohibited_type" and reason["scenario_type"] == "p2p"


@pytest.mark.parametrize(
    ("valid_until", "tier"),
    [(None, "D"), (TODAY - datetime.timedelta(days=1), "D"), (TODAY + datetime.timedelta(days=365), "A")],
)
def test_credit_enhancement_needs_a_valid_guarantee_or_insurance_licence(v2, valid_until, tier):
    initiative = _initiative(v2["scenario"], pillar="scenario")
    guarantor = TechPartnerFactory(kind="guarantee")
    InitiativePartnerFactory(
        initiative=initiative, partner=guarantor, role="technology", services=["credit_enhancement"]
    )
    if valid_until is not None:
        PartnerLicence.objects.create(
            partner=guarantor,
            licence_type="financing_guarantee",
            issuer="地方金融管理局",
            valid_until=valid_until,
            source="test",
        )
    score = _score(initiative, v2["scenario"])
    assert score.tier == tier


def _facts(**overrides):
    facts = {
        "provided_to_partner": True,
        "provision_separate_consent": True,
        "cross_border_transfer": False,
        "credit_use": False,
        "impact_assessment_on": TODAY - datetime.timedelta(days=100),
        "processing_agreement": True,
    }
    return {**facts, **overrides}


def _sharing(v2, categories=(("contact", "contract", False),), **facts):
    initiative = _initiative(v2["data_sharing"], pillar="data_sharing", **facts)
    for category, basis, consent in categories:
        InitiativeDataCategory.objects.create(
            initiative=initiative, category=category, lawful_basis=basis, separate_consent=consent
        )
    return _score(initiative, v2["data_sharing"])


def test_data_sharing_with_every_fact_recorded_and_lawful_scores_a(v2):
    score = _sharing(v2, **_facts())
    assert (score.tier, score.gate_passed) == ("A", True)


def test_nothing_recorded_about_personal_data_fails_the_gate_naming_what_is_missing(v2):
    score = _sharing(v2, categories=())
    gate = next(g for g in score.failed_gates if g["key"] == "data_protection")
    assert gate["reason"] == "missing" and "personal_data_categories" in gate["missing"]
    assert score.tier == "D"


@pytest.mark.parametrize(
    ("categories", "facts", "rule"),
    [
        ((("credit", "contract", False),), _facts(), "PIPL Art. 28–29"),
        ((("contact", "contract", False),), _facts(provision_separate_consent=False), "PIPL Art. 23"),
        (
            (("contact", "contract", False),),
            _facts(
                cross_border_transfer=True,
                cross_border_destination="新加坡",
                cross_border_separate_consent=True,
            ),
            "PIPL Art. 38",
        ),
        ((("contact", "contract", False),), _facts(credit_use=True), "断直连"),
    ],
)
def test_each_personal_data_rule_knocks_out_naming_its_article(v2, categories, facts, rule):
    score = _sharing(v2, categories=categories, **facts)
    assert score.tier == "D"
    breaches = _row(score, "data_protection")["breaches"]
    assert rule in [b["rule"] for b in breaches]


def test_credit_data_through_a_licensed_agency_passes_duan_zhilian(v2):
    agency = TechPartnerFactory(kind="credit_reporting")
    PartnerLicence.objects.create(
        partner=agency,
        licence_type="credit_reporting",
        issuer="中国人民银行",
        valid_until=None,
        source="test",
    )
    score = _sharing(v2, **_facts(credit_use=True, credit_route_agency=agency))
    assert score.gate_passed and not _row(score, "data_protection")["breaches"]


# --- unknown is never better than known, over whole initiatives ------------------------------------------------
def _blank_each_input(initiative) -> list[tuple[str, object]]:
    from partnerships.models import KPI, KPIObservation, PartnerMetric
    from scoring.models import ChecklistAnswer

    steps: list[tuple[str, object]] = []
    for name in (
        "provided_to_partner",
        "cross_border_transfer",
        "credit_use",
        "impact_assessment_on",
        "credit_route_agency",
    ):
        steps.append(
            (
                f"initiative.{name}",
                lambda n=name: type(initiative).objects.filter(pk=initiative.pk).update(**{n: None}),
            )
        )
    for name in ("provision_separate_consent", "processing_agreement", "cross_border_separate_consent"):
        steps.append(
            (
                f"initiative.{name}",
                lambda n=name: type(initiative).objects.filter(pk=initiative.pk).update(**{n: False}),
            )
        )
    steps.append(("data categories", lambda: initiative.data_categories.all().delete()))
    steps.append(("a category's basis", lambda: initiative.data_categories.update(lawful_basis="")))
    steps.append(("a category's consent", lambda: initiative.data_categories.update(separate_consent=False)))
    steps.append(("KPI target", lambda: KPI.objects.filter(initiative=initiative).update(target=None)))
    steps.append(
        ("KPI baseline date", lambda: KPI.objects.filter(initiative=initiative).update(baseline_date=None))
    )
    steps.append(
        ("KPI target date", lambda: KPI.objects.filter(initiative=initiative).update(target_date=None))
    )
    steps.append(
        ("KPI observations", lambda: KPIObservation.objects.filter(kpi__initiative=initiative).delete())
    )
    steps.append(
        (
            "partner figures",
            lambda: PartnerMetric.objects.filter(partner__initiative_links__initiative=initiative).delete(),
        )
    )
    steps.append(
        ("checklist answers", lambda: ChecklistAnswer.objects.filter(initiative=initiative).delete())
    )
    steps.append(("ratings", lambda: Rating.objects.filter(assessment__initiative=initiative).delete()))
    return steps


@pytest.mark.parametrize("pillar", ["scenario", "data_sharing"])
def test_blanking_any_input_of_an_initiative_never_raises_its_total_or_passes_a_gate(v2, pillar):
    """Starting from an initiative with every input recorded, each input is blanked in turn (in a savepoint rolled
    back after): the score never rises and a failed gate never passes."""
    from django.db import transaction

    # Not the best case (the checklist met to level 2 only, ratings of 3), so that a gap could lift it.
    facts = _facts(processing_agreement=False) if pillar == "data_sharing" else {}
    initiative = _initiative(v2[pillar], pillar=pillar, rating=3, answered=(1, 2), **facts)
    if pillar == "data_sharing":
        InitiativeDataCategory.objects.create(
            initiative=initiative, category="contact", lawful_basis="contract", separate_consent=False
        )
    base = _score(initiative, v2[pillar])
    checked = 0
    steps = _blank_each_input(initiative)
    for label, blank in steps:

        class Rollback(Exception):
            pass

        try:
            with transaction.atomic():
                blank()
                outcome = score_initiatives(
                    bank_id=None, initiative_ids=[initiative.pk], rubric_version_id=v2[pillar].pk
                )
                after = Score.objects.filter(initiative=initiative).latest("id") if outcome.created else base
                assert float(after.total) <= float(base.total), (label, base.total, after.total)
                assert after.gate_passed <= base.gate_passed, label
                assert not (
                    set(g["key"] for g in base.failed_gates) - set(g["key"] for g in after.failed_gates)
                ), label
                checked += 1
                raise Rollback
        except Rollback:
            pass
    assert checked == len(steps)
