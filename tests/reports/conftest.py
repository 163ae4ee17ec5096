"""A fixture portfolio with hand-computable figures, and helpers to give initiatives exact current scores.

Scores are written directly (a Score plus its CurrentScore row) with chosen totals, so every figure in the
report can be worked out by hand; one test elsewhere scores through the real engine.

Bank A (code bank-a), partners tencent / alibaba / jd / baidu:

| code | pillar        | status   | total | tier | gate                           | scenario types    | partners              |
|------|---------------|----------|-------|------|--------------------------------|-------------------|-----------------------|
| a1   | scenario      | live     | 82.0  | A    | passed                         | ecommerce,payment | tencent*, alibaba     |
| a2   | scenario      | live     | 64.5  | B    | passed                         | payment           | tencent*, alibaba     |
| a3   | data_sharing  | live     | 30.0  | D    | data_protection 2 < 3          | data_sharing_plat | tencent*, jd          |
| a4   | smart_banking | live     | 55.0  | C    | passed                         | omni_channel      | tencent*, baidu       |
| a5   | scenario      | pilot    | 47.2  | C    | passed                         |                   | alibaba*              |
| a6   | data_sharing  | pilot    | 12.0  | D    | compliance_readiness unrated   |                   | alibaba*              |
| a7   | smart_banking | proposed | —     |      | never scored                   |                   |                       |
| a8   | scenario      | idea     | 71.0  | B    | passed, under an older version |                   |                       |
| a9   | smart_banking | pilot    | 100.0 | A    | passed, scored 40 days ago     |                   |                       |
| a10  | scenario      | retired  | 99.0  | A    | (retired: outside the portfolio)| ecommerce        | baidu*                |

Bank B has one live scenario initiative (b1, 40.0, C, credit_reporting, jd*) that A's report must not see.
"""

import datetime
import itertools

import pytest
from django.utils import timezone

from partnerships.models import ScenarioType
from scoring.choices import VersionStatus
from scoring.models import CurrentScore, Rubric, RubricVersion, Score
from scoring.services.rubrics import rubrics_load
from tests.factories import (
    InitiativeFactory,
    InitiativePartnerFactory,
    KPIFactory,
    KPIObservationFactory,
    TechPartnerFactory,
)

_hash = itertools.count(1)

COMPLIANCE_UNRATED = {
    "key": "compliance_readiness",
    "name": "合规就绪",
    "rating": None,
    "threshold": 2.0,
    "reason": "unrated",
}
DATA_PROTECTION_LOW = {
    "key": "data_protection",
    "name": "个人信息保护",
    "rating": 2.0,
    "threshold": 3.0,
    "reason": "below threshold",
}


def published_version(pillar: str) -> RubricVersion:
    return RubricVersion.objects.get(rubric__pillar_id=pillar, rubric__is_default=True, status="published")


def older_version(pillar: str) -> RubricVersion:
    """A retired version 0 of the pillar's default rubric: scores under it are outdated."""
    rubric = Rubric.objects.get(pillar_id=pillar, is_default=True)
    version, _created = RubricVersion.objects.get_or_create(
        rubric=rubric,
        number=0,
        defaults={
            "status": VersionStatus.RETIRED,
            "published_at": timezone.now() - datetime.timedelta(days=400),
        },
    )
    return version


def set_score(
    initiative,
    total: float,
    tier: str,
    *,
    version: RubricVersion | None = None,
    failed_gates=(),
    computed_at: datetime.datetime | None = None,
    provisional: bool = False,
) -> Score:
    """Give the initiative a new Score with exactly this total and make it the current one."""
    version = version or published_version(initiative.pillar_id)
    when = computed_at or timezone.now()
    score = Score.objects.create(
        initiative=initiative,
        rubric_version=version,
        total=total,
        tier=tier,
        gate_passed=not failed_gates,
        failed_gates=list(failed_gates),
        confidence=1,
        provisional=provisional,
        breakdown={"rows": []},
        inputs_hash=f"test-{next(_hash):08d}",
    )
    Score.objects.filter(pk=score.pk).update(computed_at=when)  # computed_at is auto_now_add
    CurrentScore.objects.update_or_create(
        initiative=initiative,
        defaults={
            "score": score,
            "rubric_version": version,
            "total": total,
            "tier": tier,
            "gate_passed": not failed_gates,
            "provisional": provisional,
            "confidence": 1,
            "computed_at": when,
        },
    )
    return score


def _initiative(bank, code, pillar, status, scenario_keys=(), partners=()):
    initiative = InitiativeFactory(
        bank=bank, code=code, title=f"项目 {code}", pillar_id=pillar, status=status
    )
    if scenario_keys:
        initiative.scenario_types.set(ScenarioType.objects.filter(key__in=scenario_keys))
    for i, partner in enumerate(partners):
        InitiativePartnerFactory(
            initiative=initiative, partner=partner, role="lead" if i == 0 else "technology"
        )
    return initiative


@pytest.fixture
def rubrics(db, taxonomy):
    rubrics_load(versions={1})


@pytest.fixture
def partners(db):
    return {
        key: TechPartnerFactory(key=key, name_zh_hans=zh, name_en=en)
        for key, zh, en in [
            ("tencent", "腾讯", "Tencent"),
            ("alibaba", "阿里巴巴", "Alibaba"),
            ("jd", "京东", "JD.com"),
            ("baidu", "百度", "Baidu"),
        ]
    }


@pytest.fixture
def portfolio(two_banks, rubrics, partners):
    """Bank A's and bank B's initiatives and scores as in the module docstring; returns (banks, users, by code)."""
    banks, users = two_banks
    a, b = banks["A"], banks["B"]
    p = partners
    now = timezone.now()
    i = {}
    i["a1"] = _initiative(a, "a1", "scenario", "live", ["ecommerce", "payment"], [p["tencent"], p["alibaba"]])
    i["a2"] = _initiative(a, "a2", "scenario", "live", ["payment"], [p["tencent"], p["alibaba"]])
    i["a3"] = _initiative(a, "a3", "data_sharing", "live", ["data_sharing_platform"], [p["tencent"], p["jd"]])
    i["a4"] = _initiative(
        a, "a4", "smart_banking", "live", ["omni_channel_integration"], [p["tencent"], p["baidu"]]
    )
    i["a5"] = _initiative(a, "a5", "scenario", "pilot", [], [p["alibaba"]])
    i["a6"] = _initiative(a, "a6", "data_sharing", "pilot", [], [p["alibaba"]])
    i["a7"] = _initiative(a, "a7", "smart_banking", "proposed")
    i["a8"] = _initiative(a, "a8", "scenario", "idea")
    i["a9"] = _initiative(a, "a9", "smart_banking", "pilot")
    i["a10"] = _initiative(a, "a10", "scenario", "retired", ["ecommerce"], [p["baidu"]])
    i["b1"] = _initiative(b, "b1", "scenario", "live", ["credit_reporting"], [p["jd"]])

    set_score(i["a1"], 82.0, "A")
    set_score(i["a2"], 64.5, "B")
    set_score(i["a3"], 30.0, "D", failed_gates=[DATA_PROTECTION_LOW])
    set_score(i["a4"], 55.0, "C")
    set_score(i["a5"], 47.2, "C", provisional=True)
    set_score(i["a6"], 12.0, "D", failed_gates=[COMPLIANCE_UNRATED])
    set_score(i["a8"], 71.0, "B", version=older_version("scenario"))
    set_score(i["a9"], 100.0, "A", computed_at=now - datetime.timedelta(days=40))
    set_score(i["a10"], 99.0, "A", computed_at=now - datetime.timedelta(days=400))
    set_score(i["b1"], 40.0, "C")

    # KPIs: a1 growth 100→200 latest 150 (0.5); a1 cost 320→200 latest 380 (wrong way: 0); a2 0→10 latest 12
    # (beaten: 1); a3 no observation and a4 no target (not counted); a10 is retired (left out).
    growth = KPIFactory(initiative=i["a1"], name="线上获客数", baseline=100, target=200)
    KPIObservationFactory(kpi=growth, observed_on=datetime.date(2024, 1, 31), value=120)
    KPIObservationFactory(kpi=growth, observed_on=datetime.date(2024, 2, 29), value=150)
    cost = KPIFactory(
        initiative=i["a1"], name="获客成本", cost_driver="acquisition", baseline=320, target=200
    )
    KPIObservationFactory(kpi=cost, observed_on=datetime.date(2024, 2, 29), value=380)
    beaten = KPIFactory(initiative=i["a2"], name="支付笔数(万)", baseline=0, target=10)
    KPIObservationFactory(kpi=beaten, observed_on=datetime.date(2024, 3, 31), value=12)
    KPIFactory(initiative=i["a3"], name="共享客户数", baseline=0, target=5)
    KPIFactory(initiative=i["a4"], name="渠道满意度", baseline=80, target=None)
    retired_kpi = KPIFactory(initiative=i["a10"], name="旧指标", baseline=0, target=10)
    KPIObservationFactory(kpi=retired_kpi, observed_on=datetime.date(2024, 3, 31), value=0)
    return banks, users, i
