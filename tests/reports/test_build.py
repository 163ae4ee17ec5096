"""The payload's figures for the fixture portfolio (tests/reports/conftest.py), each worked out by hand."""

import datetime

import pytest

from scoring import formulas
from scoring.reports.build import report_payload_build
from scoring.reports.services import report_generate
from tests.reports.conftest import set_score

pytestmark = pytest.mark.django_db

WEEK = datetime.date(2024, 11, 11)  # a Monday
WEEK_END = datetime.date(2024, 11, 17)


def _build(bank):
    return report_payload_build(kind="weekly_portfolio", bank=bank, period_start=WEEK, period_end=WEEK_END)


def test_meta_and_counts_by_pillar_and_status(portfolio):
    banks, _users, _i = portfolio
    p = _build(banks["A"])
    assert p["schema_version"] == 1
    assert p["scope"] == {
        "bank_id": banks["A"].pk,
        "all_banks": False,
        "code": "bank-a",
        "name_zh_hans": "甲银行",
        "name_en": "Bank A",
    }
    assert p["period"] == {"start": "2024-11-11", "end": "2024-11-17"}
    rows = {r["pillar"]: r["counts"] for r in p["pillar_status"]["rows"]}
    # scenario: a1 a2 live, a5 pilot, a8 idea, a10 retired; data_sharing: a3 live, a6 pilot;
    # smart_banking: a4 live, a7 proposed, a9 pilot. Bank B's b1 is not counted.
    assert rows["scenario"] == {"idea": 1, "proposed": 0, "pilot": 1, "live": 2, "suspended": 0, "retired": 1}
    assert rows["data_sharing"] == {
        "idea": 0,
        "proposed": 0,
        "pilot": 1,
        "live": 1,
        "suspended": 0,
        "retired": 0,
    }
    assert rows["smart_banking"] == {
        "idea": 0,
        "proposed": 1,
        "pilot": 1,
        "live": 1,
        "suspended": 0,
        "retired": 0,
    }
    assert p["pillar_status"]["total"] == 10
    assert p["pillar_status"]["totals"]["live"] == 4


def test_score_distribution_and_tiers(portfolio):
    banks, _users, _i = portfolio
    s = _build(banks["A"])["scores"]
    # Portfolio = a1..a9 (a10 retired). Scored: all but a7 → 8.
    assert (s["initiatives"], s["scored"], s["unscored"]) == (9, 8, 1)
    # (82 + 64.5 + 30 + 55 + 47.2 + 12 + 71 + 100) / 8 = 461.7 / 8 = 57.7125 → 57.7
    assert s["mean_total"] == 57.7
    assert s["tiers"] == {"A": 2, "B": 2, "C": 2, "D": 2}
    assert s["gate_failed"] == 2 and s["provisional"] == 1
    # 12 → 10–20, 30 → 30–40, 47.2 → 40–50, 55 → 50–60, 64.5 → 60–70, 71 → 70–80, 82 → 80–90, 100 → 90–100
    assert [b["count"] for b in s["histogram"]] == [0, 1, 0, 1, 1, 1, 1, 1, 1, 1]
    assert s["histogram"][-1] == {"from": 90, "to": 100, "count": 1}


def test_top_and_bottom_five(portfolio):
    banks, _users, _i = portfolio
    ranking = _build(banks["A"])["ranking"]
    assert [(r["code"], r["total"]) for r in ranking["top"]] == [
        ("a9", 100.0),
        ("a1", 82.0),
        ("a8", 71.0),
        ("a2", 64.5),
        ("a4", 55.0),
    ]
    assert [(r["code"], r["total"]) for r in ranking["bottom"]] == [
        ("a6", 12.0),
        ("a3", 30.0),
        ("a5", 47.2),
        ("a4", 55.0),
        ("a2", 64.5),
    ]
    assert ranking["bottom"][2]["provisional"] is True


def test_failed_gates_with_reasons(portfolio):
    banks, _users, _i = portfolio
    failed = _build(banks["A"])["failed_gates"]
    assert failed["count"] == 2
    assert [(g["key"], g["count"]) for g in failed["by_gate"]] == [
        ("compliance_readiness", 1),
        ("data_protection", 1),
    ]
    a6, a3 = failed["items"]  # lowest total first
    assert a6["code"] == "a6" and a3["code"] == "a3"
    assert a6["gates"] == [
        {
            "key": "compliance_readiness",
            "name_zh_hans": "合规就绪",
            "name_en": "Compliance readiness",
            "rating": None,
            "threshold": 2.0,
            "reason": "unrated",
        }
    ]
    assert a3["gates"][0]["name_en"] == "Personal-information protection"
    assert (a3["gates"][0]["rating"], a3["gates"][0]["threshold"], a3["gates"][0]["reason"]) == (
        2.0,
        3.0,
        "below threshold",
    )


def test_stale_scores(portfolio, settings):
    """Staleness by re-assessment due dates (docs/lifecycle.md), most overdue first, checked against dates computed
    here from the assessments, the current tiers and the contract register."""
    from dateutil.relativedelta import relativedelta
    from django.utils import timezone

    from partnerships.models import PartnershipContract
    from tests.lifecycle.helpers import approve_on

    banks, _users, i = portfolio
    today = timezone.localdate()
    # a1 (A) approved a month ago, not critical: due in 23 months; a2 (B) approved 25 months ago: overdue;
    # a4 (C) approved 11 months and 20 days ago, not critical: due within 30 days; a5 (C) approved a year ago with
    # no contract (critical, 6 months): overdue. The others were never approved: due since they were recorded.
    approve_on(i["a1"], today - relativedelta(months=1))
    approve_on(i["a2"], today - relativedelta(months=25))
    approve_on(i["a4"], today - relativedelta(months=11, days=20))
    approve_on(i["a5"], today - relativedelta(months=12))
    for code in ("a1", "a2", "a4"):
        PartnershipContract.objects.create(initiative=i[code], critical_function="no")
    stale = _build(banks["A"])["stale"]
    assert stale["days"] == 30
    # a7 never scored; a8 under retired version 0 of the scenario rubric; a10 is retired, so not chased.
    assert stale["by_reason"] == {
        "never_scored": 1,
        "outdated_rubric": 1,
        "reassessment_overdue": 2,
        "reassessment_due": 4,
    }
    by_code = {x["code"]: x for x in stale["items"]}
    assert set(by_code) == {"a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"}
    assert (by_code["a2"]["reason"], by_code["a5"]["reason"]) == (
        "reassessment_overdue",
        "reassessment_overdue",
    )
    assert by_code["a7"]["reason"] == "never_scored" and by_code["a8"]["reason"] == "outdated_rubric"
    assert by_code["a8"]["rubric_version"] == "scenario-default v0"
    expected_dates = {
        "a2": today - relativedelta(months=25) + relativedelta(months=24),
        "a4": today - relativedelta(months=11, days=20) + relativedelta(months=12),
        "a5": today - relativedelta(months=12) + relativedelta(months=6),
        **{code: timezone.localdate(i[code].created_at) for code in ("a3", "a6", "a7", "a8", "a9")},
    }
    assert {c: x["next_reassessment_on"] for c, x in by_code.items()} == {
        c: d.isoformat() for c, d in expected_dates.items()
    }
    assert by_code["a2"]["days_overdue"] == (today - expected_dates["a2"]).days > 0
    # most overdue first
    dates = [x["next_reassessment_on"] for x in stale["items"]]
    assert dates == sorted(dates) and stale["items"][0]["code"] == "a5"  # six months overdue

    settings.SCORECARD_REPORT_STALE_DAYS = 5  # a4 (due in 10 days) is then not due yet
    assert _build(banks["A"])["stale"]["by_reason"]["reassessment_due"] == 3


def test_open_monitoring_events_and_overdue_remediations(portfolio):
    """The monitoring section against the same figures read here by the ORM."""
    from django.db.models import Q
    from django.utils import timezone

    from partnerships.models import MonitoringEvent

    banks, users, i = portfolio
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    owner = users[("A", "analyst")]
    rows = [
        (i["a1"], "data_breach", "critical", "open", today - 5 * day, owner),
        (i["a2"], "complaint", "low", "remediating", today + 3 * day, None),
        (i["a3"], "regulatory_finding", "high", "open", None, owner),
        (i["a4"], "incident", "medium", "closed", today - 9 * day, None),
        (i["b1"], "incident", "high", "open", today - 9 * day, None),  # bank B
    ]
    for initiative, kind, severity, status, due, who in rows:
        MonitoringEvent.objects.create(
            initiative=initiative,
            kind=kind,
            severity=severity,
            status=status,
            closed_on=today if status == "closed" else None,
            occurred_on=today - 20 * day,
            remediation_due_on=due,
            remediation_owner=who,
            description=f"{kind} 描述",
        )
    section = _build(banks["A"])["monitoring"]
    open_a = MonitoringEvent.objects.filter(initiative__bank=banks["A"]).exclude(status="closed")
    assert section["open_count"] == open_a.count() == 3
    assert section["overdue_remediations"] == open_a.filter(Q(remediation_due_on__lt=today)).count() == 1
    assert section["by_severity"] == {
        s: open_a.filter(severity=s).count() for s in ("critical", "high", "medium", "low")
    }
    assert [(e["code"], e["severity"], e["remediation_overdue"]) for e in section["items"]] == [
        ("a1", "critical", True),
        ("a3", "high", False),
        ("a2", "low", False),
    ]
    assert section["items"][0]["remediation_owner"] == owner.username
    everyone = report_payload_build(
        kind="weekly_portfolio", bank=None, period_start=WEEK, period_end=WEEK_END
    )
    assert (
        everyone["monitoring"]["open_count"] == MonitoringEvent.objects.exclude(status="closed").count() == 4
    )


def test_scenario_and_pillar_coverage(portfolio):
    banks, _users, _i = portfolio
    coverage = _build(banks["A"])["coverage"]
    live = {t["key"]: t["live"] for t in coverage["scenario_types"]}
    # Live in A: a1 (ecommerce, payment), a2 (payment), a3 (data_sharing_platform), a4 (omni_channel).
    # a10's ecommerce is retired, b1's credit_reporting is bank B's.
    assert {k: n for k, n in live.items() if n} == {
        "ecommerce": 1,
        "payment": 2,
        "data_sharing_platform": 1,
        "omni_channel_integration": 1,
    }
    assert len(coverage["scenario_types"]) == 22
    assert len(coverage["gaps"]) == 22 - 4
    assert "credit_reporting" in coverage["gaps"] and "p2p" in coverage["gaps"]
    assert coverage["pillars"] == [
        {"pillar": "scenario", "live_initiatives": 2, "scenario_types": 14, "covered": 2},
        {"pillar": "data_sharing", "live_initiatives": 1, "scenario_types": 4, "covered": 1},
        {"pillar": "smart_banking", "live_initiatives": 1, "scenario_types": 4, "covered": 1},
    ]
    assert coverage["pillar_gaps"] == []

    # Bank B has only a live scenario initiative: the other two pillars are gaps.
    assert _build(banks["B"])["coverage"]["pillar_gaps"] == ["data_sharing", "smart_banking"]


def test_kpi_attainment_matches_the_scoring_formula(portfolio):
    banks, _users, _i = portfolio
    kpis = _build(banks["A"])["kpis"]
    by_name = {k["name"]: k for k in kpis["items"]}
    assert "旧指标" not in by_name  # the retired initiative's KPI
    # (150 − 100) / (200 − 100) = 0.5; (380 − 320) / (200 − 320) = −0.5 → 0; (12 − 0) / (10 − 0) = 1.2 → 1.
    assert by_name["线上获客数"]["latest"] == 150.0 and by_name["线上获客数"]["attainment"] == 0.5
    assert by_name["获客成本"]["attainment"] == 0.0
    assert by_name["支付笔数(万)"]["attainment"] == 1.0
    assert by_name["共享客户数"]["attainment"] is None and by_name["渠道满意度"]["attainment"] is None
    same = formulas.kpi_attainment(
        [
            formulas.KpiFigures(name="g", baseline=100, target=200, latest=150),
            formulas.KpiFigures(name="c", baseline=320, target=200, latest=380),
            formulas.KpiFigures(name="b", baseline=0, target=10, latest=12),
        ]
    )
    assert [row["attainment"] for row in same.data["kpis"]] == [0.5, 0.0, 1.0]
    # Mean per pillar over the KPIs that count: scenario (0.5 + 0 + 1) / 3 = 0.5.
    assert kpis["by_pillar"] == [
        {"pillar": "scenario", "kpis": 3, "counted": 3, "mean_attainment": 0.5},
        {"pillar": "data_sharing", "kpis": 1, "counted": 0, "mean_attainment": None},
        {"pillar": "smart_banking", "kpis": 1, "counted": 0, "mean_attainment": None},
    ]


def test_partner_concentration(portfolio):
    banks, _users, _i = portfolio
    c = _build(banks["A"])["concentration"]
    # Participations in A's live initiatives (a1–a4): tencent 4, alibaba 2 (a1, a2), jd 1 (a3), baidu 1 (a4)
    # = 8. Shares 50 %, 25 %, 12.5 %, 12.5 %. a5/a6 (pilot), a10 (retired) and b1 (bank B) do not count.
    # HHI = 50² + 25² + 12.5² + 12.5² = 2500 + 625 + 156.25 + 156.25 = 3437.5 > 2500 → flagged.
    assert c["participations"] == 8
    assert [(p["key"], p["participations"], p["share"]) for p in c["partners"]] == [
        ("tencent", 4, 50.0),
        ("alibaba", 2, 25.0),
        ("baidu", 1, 12.5),
        ("jd", 1, 12.5),
    ]
    assert c["hhi"] == 3437.5
    assert c["flagged"] is True and c["level"] == "high" and c["threshold"] == 2500
    assert c["leaders"] == ["tencent"]  # the largest partners holding at least half: Tencent alone holds 50 %
    assert c["top3_share"] == 87.5


def test_unconcentrated_portfolio_is_not_flagged(portfolio, partners):
    banks, _users, i = portfolio
    # Bank B: jd alone in b1 → 100 % → HHI 10,000; add three more partners to b1 → 4 × 25 % → HHI 2,500,
    # which is not *above* 2,500.
    c = _build(banks["B"])["concentration"]
    assert (c["hhi"], c["flagged"], c["leaders"]) == (10000.0, True, ["jd"])
    from tests.factories import InitiativePartnerFactory

    for key in ("tencent", "alibaba", "baidu"):
        InitiativePartnerFactory(initiative=i["b1"], partner=partners[key], role="technology")
    c = _build(banks["B"])["concentration"]
    assert (c["hhi"], c["flagged"], c["level"], c["leaders"]) == (2500.0, False, "moderate", [])


def test_all_banks_scope_counts_every_bank(portfolio):
    _banks, _users, _i = portfolio
    p = report_payload_build(kind="weekly_portfolio", bank=None, period_start=WEEK, period_end=WEEK_END)
    assert p["scope"] == {"bank_id": None, "all_banks": True}
    assert p["scores"]["initiatives"] == 10 and p["scores"]["scored"] == 9  # a1..a9 + b1
    assert p["concentration"]["participations"] == 9  # + jd in b1
    assert {r["code"]: r["bank"] for r in p["ranking"]["bottom"]}["b1"] == "bank-b"


def test_movers_since_the_previous_report(portfolio):
    banks, _users, i = portfolio
    first = report_generate(bank_id=banks["A"].pk, period_start=datetime.date(2024, 11, 6), deliver=False)
    assert first.payload["movers"]["previous_report"] is None
    assert first.payload["totals"][str(i["a2"].pk)] == 64.5 and str(i["a7"].pk) not in first.payload["totals"]

    set_score(i["a2"], 70.0, "B")  # +5.5
    set_score(
        i["a3"], 20.0, "D", failed_gates=[{"key": "data_protection", "rating": 1.0, "threshold": 3.0}]
    )  # −10
    set_score(i["a7"], 50.0, "C")  # newly scored: not a mover
    second = report_generate(bank_id=banks["A"].pk, period_start=datetime.date(2024, 11, 14), deliver=False)

    movers = second.payload["movers"]
    assert movers["previous_report"] == {
        "id": first.pk,
        "period_start": "2024-11-04",
        "period_end": "2024-11-10",
    }
    assert (movers["compared"], movers["new"]) == (8, 1)
    assert [(m["code"], m["previous"], m["current"], m["delta"]) for m in movers["items"]] == [
        ("a3", 30.0, 20.0, -10.0),
        ("a2", 64.5, 70.0, 5.5),
    ]
