"""The demo under rubric version 2: for each new rule, one illustrative initiative that trips it and one that
passes, with the tiers pinned (fixtures/demo.yaml, "version 2 rules", and the checklists of
fixtures/demo_assessments.yaml).

The demo ships with version 1 published and version 2 as a draft (docs/rubric-v2.md). Here version 2 is
published, each approved demo assessment is carried to it with the same ratings (the criteria keys are the
same), and every demo initiative is scored as of a fixed day through the real scoring service.
"""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from partnerships.models import Initiative
from scoring.choices import AssessmentStatus
from scoring.models import Assessment, Criterion, Rating, RubricVersion, Score
from scoring.services.compute import score_initiatives
from scoring.services.rubrics import rubric_version_publish

pytestmark = pytest.mark.django_db(transaction=False)
AS_OF = datetime.date(2026, 12, 1)


@pytest.fixture
def demo_v2(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.SCORECARD_DEMO_PASSWORD = ""
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    v2 = {}
    for version in RubricVersion.objects.filter(number=2).select_related("rubric"):
        rubric_version_publish(version, rescore=False)
        v2[version.rubric.pillar_id] = version
    criteria = {(c.version_id, c.key): c for c in Criterion.objects.filter(version__in=list(v2.values()))}
    for old in Assessment.objects.filter(
        status=AssessmentStatus.APPROVED, rubric_version__number=1
    ).select_related("initiative"):
        version = v2[old.initiative.pillar_id]
        new = Assessment.objects.create(
            initiative=old.initiative,
            rubric_version=version,
            author=old.author,
            status=AssessmentStatus.APPROVED,
            approved_by=old.approved_by,
            approved_at=timezone.now(),
        )
        Rating.objects.bulk_create(
            Rating(
                assessment=new,
                criterion=criteria[(version.pk, r.criterion.key)],
                value=r.value,
                rationale=r.rationale,
            )
            for r in old.ratings.select_related("criterion")
        )
    ids = list(Initiative.objects.filter(is_illustrative=True).values_list("pk", flat=True))
    outcome = score_initiatives(bank_id=None, initiative_ids=ids, as_of=AS_OF)
    assert outcome.failed == 0, outcome.errors
    return {
        s.initiative.code: s
        for s in Score.objects.filter(rubric_version__number=2).select_related("initiative")
    }


def _gates(score):
    return {g["key"]: g for g in score.failed_gates}


def _cap_kinds(score):
    data = score.breakdown["inputs"]["data"].get("compliance_readiness") or {}
    return [r["kind"] for r in data.get("cap_reasons", [])]


def _breaches(score):
    data = score.breakdown["inputs"]["data"].get("data_protection") or {}
    return {b["rule"] for b in data.get("breaches", [])}


# (initiative, tier, failed gates) — each pair: the first trips the rule, the second passes it.
PINNED = [
    ("p2p-2018-06", "D", {"compliance_readiness"}),  # prohibited business (P2P)
    ("pay-2024-01", "B", set()),  # active scenario types, checklist met to level 4
    (
        "guar-2025-05",
        "D",
        {"compliance_readiness"},
    ),  # credit enhancement by a guarantor whose licence expired
    ("guar-2025-06", "B", set()),  # the same with a valid financing-guarantee licence
    ("cf-2024-03", "D", {"data_protection"}),  # credit data for credit decisions without an agency (断直连)
    ("cf-2025-11", "B", set()),  # the same data through a licensed credit-reporting agency
    ("scf-2024-01", "D", {"compliance_readiness"}),  # checklist not answered: capped at 0
]


@pytest.mark.parametrize(("code", "tier", "gates"), PINNED, ids=[p[0] for p in PINNED])
def test_each_rule_trips_one_demo_initiative_and_another_passes(demo_v2, code, tier, gates):
    score = demo_v2[code]
    assert (score.tier, set(_gates(score))) == (tier, gates)


def test_the_knock_outs_name_their_rule(demo_v2):
    assert _cap_kinds(demo_v2["p2p-2018-06"]) == ["prohibited_type"]
    assert _cap_kinds(demo_v2["guar-2025-05"]) == ["licence"]
    assert _cap_kinds(demo_v2["scf-2024-01"]) == ["checklist"]
    assert _breaches(demo_v2["cf-2024-03"]) == {"断直连"} and not _breaches(demo_v2["cf-2025-11"])
    assert _breaches(demo_v2["travel-2024-07"]) == {"PIPL Art. 38"}
    assert _breaches(demo_v2["match-2025-04"]) == {
        "PIPL Art. 13",
        "PIPL Art. 28–29",
        "PIPL Art. 23",
        "断直连",
    }
    # Lawful and consented, but no impact assessment: 2, below the gate of 3.
    wealth = demo_v2["wealth-2024-02"]
    assert wealth.breakdown["inputs"]["ratings"]["data_protection"] == 2.0 and "data_protection" in _gates(
        wealth
    )


def test_a_lead_partner_without_figures_is_unknown_not_average(demo_v2):
    """The P2P platform (演示, unlisted) leads with no figures: partner strength is unrated and says so."""
    data = demo_v2["p2p-2018-06"].breakdown["inputs"]["data"]["partner_strength"]
    lead = next(p for p in data["partners"] if p["role"] == "lead")
    assert data["value"] is None and data["missing"] == [f"figures of the lead partner {lead['name']}"]
    assert demo_v2["p2p-2018-06"].breakdown["inputs"]["ratings"].get("partner_strength") is None
