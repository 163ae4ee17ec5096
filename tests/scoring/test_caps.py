"""The compliance cap: the pure maths (scoring.caps) case by case, the registry a criterion's ``capped_by`` names,
and the loader (scoring.services.caps) on real data in a fixed number of queries."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from partnerships.models import ScenarioType
from partnerships.services.evidence import evidence_create
from scoring.caps import (
    CAPS,
    REASON_EXPIRED,
    REASON_MISSING,
    REASON_NO_EVIDENCE,
    REASON_NOT_MET,
    ChecklistItemState,
    capped_rating,
    checklist_item_reason,
    checklist_level_of,
    compliance_cap,
)
from scoring.services.caps import compliance_caps
from scoring.services.checklists import checklist_answers_set, checklists_load, current_checklists
from tests.factories import BankFactory, InitiativeFactory, InitiativePartnerFactory, TechPartnerFactory

ROOT = Path(__file__).resolve().parents[2]
DAY = datetime.date(2025, 6, 30)
CHECKLIST = {
    "urn": "urn:scorecard:checklist:scenario",
    "version": 1,
    "name_zh_hans": "清单",
    "name_en": "List",
}
P2P = {
    "scenario_type": "p2p",
    "name_zh_hans": "P2P",
    "name_en": "P2P lending",
    "rule_zh_hans": "《网络借贷信息中介机构业务活动管理暂行办法》",
    "rule_en": "Interim Measures (2016)",
}
NO_GUARANTEE = {
    "partner": "demo-guarantor",
    "partner_name": "演示担保公司",
    "service": "credit_enhancement",
    "needs": ["financing_guarantee", "insurance"],
    "reason": "expired",
    "expired_on": datetime.date(2025, 3, 31),
}


def level(n: int, blocking=()) -> dict:
    return {"level": n, "checklist": CHECKLIST, "blocking": list(blocking), "unmet": list(blocking)}


# --- the pure maths -----------------------------------------------------------------------------------------------
def test_a_prohibited_scenario_type_caps_at_0_naming_the_type_and_its_rule():
    cap, reasons = compliance_cap(prohibited_types=[P2P], licence_problems=[], checklist=level(4))
    assert cap == 0
    assert reasons == [{"kind": "prohibited_type", **P2P}]


def test_a_missing_or_expired_licence_caps_at_0_naming_partner_and_licence():
    cap, reasons = compliance_cap(prohibited_types=[], licence_problems=[NO_GUARANTEE], checklist=level(3))
    assert cap == 0
    assert reasons == [{"kind": "licence", **NO_GUARANTEE, "expired_on": "2025-03-31"}]  # plain JSON values


def test_every_knock_out_is_listed_not_only_the_first():
    missing = {**NO_GUARANTEE, "reason": "missing", "expired_on": None, "service": "credit_data"}
    cap, reasons = compliance_cap(
        prohibited_types=[P2P],
        licence_problems=[NO_GUARANTEE, missing],
        checklist=level(4),
        joint_lending_breaches=[{"limit": "partner_share", "value": 20, "minimum": 30}],
    )
    assert cap == 0
    assert [r["kind"] for r in reasons] == ["prohibited_type", "licence", "licence", "joint_lending"]


def test_the_joint_lending_hook_defaults_to_no_breach():
    assert compliance_cap(prohibited_types=[], licence_problems=[], checklist=level(4)) == (4, [])
    cap, reasons = compliance_cap(
        prohibited_types=[], licence_problems=[], checklist=level(4), joint_lending_breaches=[{"limit": "x"}]
    )
    assert (cap, reasons) == (0, [{"kind": "joint_lending", "limit": "x"}])


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_otherwise_the_checklist_level_caps_with_what_stops_the_next_level(n):
    blocking = [{"key": "written_agreement", "level": n + 1, "reason": "missing"}]
    cap, reasons = compliance_cap(prohibited_types=[], licence_problems=[], checklist=level(n, blocking))
    assert cap == n
    assert reasons == [{"kind": "checklist", "level": n, "checklist": CHECKLIST, "blocking": blocking}]


def test_no_checklist_is_never_better_than_an_unanswered_one():
    assert compliance_cap(prohibited_types=[], licence_problems=[], checklist=None) == (
        0,
        [{"kind": "no_checklist"}],
    )
    none_loaded = {"level": 0, "checklist": None, "blocking": [], "unmet": []}
    assert compliance_cap(prohibited_types=[], licence_problems=[], checklist=none_loaded)[0] == 0


@pytest.mark.parametrize(
    ("answer", "evidence", "expires_on", "reason"),
    [
        (None, False, None, REASON_MISSING),
        ("not_met", True, DAY + datetime.timedelta(days=9), REASON_NOT_MET),
        ("na", False, None, None),
        ("met", True, DAY + datetime.timedelta(days=1), None),
        ("met", True, DAY, REASON_EXPIRED),  # expires on the day asked about: expired
        ("met", True, DAY - datetime.timedelta(days=1), REASON_EXPIRED),
        ("met", False, DAY + datetime.timedelta(days=9), REASON_NO_EVIDENCE),
        ("met", True, None, REASON_NO_EVIDENCE),
    ],
)
def test_when_an_item_counts(answer, evidence, expires_on, reason):
    assert checklist_item_reason(answer, has_evidence=evidence, expires_on=expires_on, as_of=DAY) == reason


def state(key: str, lvl: int, reason: str | None = None) -> ChecklistItemState:
    return ChecklistItemState(key=key, level=lvl, reason=reason)


def test_the_level_is_the_highest_whose_items_and_those_below_all_count():
    items = [
        state("a", 1),
        state("b", 1),
        state("c", 2),
        state("d", 2, "missing"),
        state("e", 3),
        state("f", 4),
    ]
    reached, blocking, unmet = checklist_level_of(items)
    assert reached == 1
    assert [b["key"] for b in blocking] == ["d"] and [u["key"] for u in unmet] == ["d"]
    # A met level 3 and 4 do not lift an unmet level 2.
    assert checklist_level_of([state("a", 1, "expired"), state("b", 2), state("c", 3), state("d", 4)])[0] == 0
    assert checklist_level_of([state("a", 1), state("b", 2), state("c", 3), state("d", 4)]) == (4, [], [])


def test_a_level_without_items_stops_the_count():
    assert checklist_level_of([state("a", 1), state("c", 3), state("d", 4)])[0] == 1
    assert checklist_level_of([])[0] == 0


def test_a_rating_under_its_cap():
    assert capped_rating(3, 1) == 1
    assert capped_rating(1, 3) == 1
    assert capped_rating(None, 2) is None  # unrated stays unrated
    assert capped_rating(4, None) == 4


# --- the registry ---------------------------------------------------------------------------------------------
def test_compliance_caps_is_registered_and_loads_its_loader():
    assert "compliance_caps" in CAPS
    assert CAPS["compliance_caps"].load() is compliance_caps


def test_the_cap_maths_imports_no_django():
    code = "import sys, scoring.caps; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- the loader on real data --------------------------------------------------------------------------------------
@pytest.fixture
def loaded(taxonomy):
    checklists_load()
    return current_checklists()


def answer_levels(initiative, version, *levels):
    evidence = evidence_create(
        user=None, initiative=initiative, data={"kind": "link", "url": f"https://example.com/{initiative.pk}"}
    )
    expiry = timezone.localdate() + datetime.timedelta(days=60)
    checklist_answers_set(
        user=None,
        initiative=initiative,
        answers=[
            {"item": i.key, "answer": "met", "evidence": evidence.pk, "expires_on": expiry}
            for i in version.items.filter(level__in=levels)
        ],
    )


@pytest.mark.django_db
def test_the_loader_caps_p2p_a_missing_licence_and_otherwise_by_the_checklist(loaded):
    bank = BankFactory()
    version = loaded["scenario"]
    p2p = InitiativeFactory(bank=bank, pillar_id="scenario")
    p2p.scenario_types.set(ScenarioType.objects.filter(key__in=["p2p", "ecommerce"]))
    answer_levels(p2p, version, 1, 2, 3, 4)
    unlicensed = InitiativeFactory(bank=bank, pillar_id="scenario")
    guarantor = TechPartnerFactory(key="demo-guarantor", name_zh_hans="演示担保公司")
    InitiativePartnerFactory(
        initiative=unlicensed, partner=guarantor, role="technology", services=["credit_enhancement"]
    )
    answer_levels(unlicensed, version, 1, 2, 3, 4)
    halfway = InitiativeFactory(bank=bank, pillar_id="scenario")
    answer_levels(halfway, version, 1, 2)
    complete = InitiativeFactory(bank=bank, pillar_id="scenario")
    answer_levels(complete, version, 1, 2, 3, 4)
    untouched = InitiativeFactory(bank=bank, pillar_id="data_sharing")

    caps = compliance_caps(
        [p2p.pk, unlicensed.pk, halfway.pk, complete.pk, untouched.pk], as_of=timezone.localdate()
    )
    assert caps[p2p.pk][0] == 0
    assert caps[p2p.pk][1][0]["kind"] == "prohibited_type" and caps[p2p.pk][1][0]["scenario_type"] == "p2p"
    assert "《网络借贷信息中介机构业务活动管理暂行办法》" in caps[p2p.pk][1][0]["rule_zh_hans"]
    assert caps[unlicensed.pk][0] == 0
    licence = caps[unlicensed.pk][1][0]
    assert (licence["kind"], licence["partner"], licence["reason"]) == (
        "licence",
        "demo-guarantor",
        "missing",
    )
    assert set(licence["needs"]) == {"financing_guarantee", "insurance"}
    assert caps[halfway.pk][0] == 2
    assert caps[halfway.pk][1][0]["kind"] == "checklist" and caps[halfway.pk][1][0]["blocking"]
    assert caps[complete.pk] == (4, [])
    assert caps[untouched.pk][0] == 0 and caps[untouched.pk][1][0]["blocking"][0]["reason"] == "missing"


@pytest.mark.django_db
def test_the_loader_reads_a_fixed_number_of_queries(loaded, django_assert_num_queries):
    bank = BankFactory()
    initiatives = [
        InitiativeFactory(bank=bank, pillar_id=p) for p in ("scenario", "data_sharing", "smart_banking") * 4
    ]
    for initiative in initiatives:
        InitiativePartnerFactory(initiative=initiative, services=["credit_data"])
    # 7, plus 2 for the joint-lending limits (the initiatives' partners, their banks' months: no exposure here)
    with django_assert_num_queries(9):
        one = compliance_caps([initiatives[0].pk], as_of=DAY)
    assert one[initiatives[0].pk][1][0]["kind"] == "licence"
    with django_assert_num_queries(9):
        result = compliance_caps([*(i.pk for i in initiatives), 10**9], as_of=DAY)
    assert set(result) == {i.pk for i in initiatives}
    assert compliance_caps([], as_of=DAY) == {}
