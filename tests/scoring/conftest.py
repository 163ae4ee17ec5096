"""Fixtures for scoring: published default rubrics, a scored-ready initiative, a private broker and workers."""

import datetime

import pytest
from django.utils import timezone

from config.celery_app import app as celery_app
from partnerships.models import PartnerLicence, PartnerMetric, PartnershipContract
from scoring.choices import AssessmentStatus
from scoring.models import Assessment, Criterion, Rating
from scoring.services.rubrics import rubrics_load
from tests.factories import (
    BankFactory,
    InitiativeFactory,
    InitiativePartnerFactory,
    KPIFactory,
    KPIObservationFactory,
    TechPartnerFactory,
    UserFactory,
)
from tests.processes import CeleryProcess, PrivateRedis, service_env


@pytest.fixture
def rubrics(db, taxonomy):
    rubrics_load(versions={1})


def make_rated_initiative(*, rating: int = 3, compliance: int = 3, bank=None, contract: bool = True):
    """A scenario initiative: Tencent (+43 % market cap → 3) as lead, one KPI half-way (→ 2), every rated
    criterion rated ``rating`` except compliance_readiness (``compliance``), in an approved assessment.

    ``contract``: a complete contract and exit register entry (an exit plan tested 30 days ago, data return and
    destruction terms, an alternative provider), so the register caps nothing and the scores below are those of
    the ratings alone; ``contract=False`` leaves the register empty (exit readiness capped at 0, docs/lifecycle.md).
    """
    bank = bank or BankFactory()
    initiative = InitiativeFactory(bank=bank, pillar_id="scenario", status="pilot")
    if contract:
        complete_contract(initiative)
    tencent = TechPartnerFactory(key="tencent", name_zh_hans="腾讯", name_en="Tencent")
    PartnerMetric.objects.get_or_create(
        partner=tencent,
        metric="market_cap_change_pct",
        segment="",
        period="2024",
        defaults={
            "period_end": datetime.date(2024, 12, 31),
            "value": 43,
            "unit": "%",
            "source": "seed 第一节",
        },
    )
    InitiativePartnerFactory(initiative=initiative, partner=tencent, role="lead")
    kpi = KPIFactory(initiative=initiative, baseline=100, target=200)
    KPIObservationFactory(kpi=kpi, value=150)
    version = (
        Criterion.objects.filter(version__rubric__pillar_id="scenario", version__status="published")
        .first()
        .version
    )
    author, approver = UserFactory(), UserFactory()
    assessment = Assessment.objects.create(
        initiative=initiative,
        rubric_version=version,
        author=author,
        status=AssessmentStatus.APPROVED,
        approved_by=approver,
        approved_at=datetime.datetime(2024, 10, 1, tzinfo=datetime.UTC),
    )
    Rating.objects.bulk_create(
        Rating(
            assessment=assessment,
            criterion=c,
            value=compliance if c.key == "compliance_readiness" else rating,
            rationale=f"{c.name_zh_hans}: 试点实测",
        )
        for c in version.criteria.filter(source="rated")
    )
    return initiative


def complete_contract(initiative, **fields):
    """A contract register entry that caps exit readiness at nothing (scoring.lifecycle), ``fields`` overriding."""
    values = {
        "exit_plan": "切换至备选服务商，数据返还后销毁",
        "exit_plan_last_tested_on": timezone.localdate() - datetime.timedelta(days=30),
        "data_return_and_destruction": "yes",
        "alternative_provider": "备选服务商",
        "critical_function": "no",
        **fields,
    }
    return PartnershipContract.objects.create(initiative=initiative, **values)


def switch_broker(url: str) -> None:
    """Point this process's Celery app at another broker (drops pooled connections)."""
    celery_app.conf.broker_url = url
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def private_broker(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    previous = celery_app.conf.broker_url
    switch_broker(redis.url)
    try:
        yield redis
    finally:
        switch_broker(previous)
        redis.stop()


@pytest.fixture
def workers(transactional_db, private_broker, tmp_path):
    """Start real worker subprocesses on the test database and the private broker; all stopped at the end."""
    started: list[CeleryProcess] = []

    def start(**env_extra) -> CeleryProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        proc = CeleryProcess("worker", service_env(private_broker.url, **env_extra), log).start()
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.stop()


@pytest.fixture
def agency(db):
    """A credit-reporting agency (演示) whose licence runs to 2026-06-30: the 断直连 route of the version 2 tests."""
    agency = TechPartnerFactory(
        key="demo_credit",
        name_zh_hans="演示征信",
        name_en="Demo Credit (illustrative)",
        kind="credit_reporting",
    )
    PartnerLicence.objects.create(
        partner=agency,
        licence_type="credit_reporting",
        issuer="中国人民银行（演示）",
        valid_until=datetime.date(2026, 6, 30),
        source="illustrative",
    )
    return agency


JOB_FIELDS = ("status", "total", "done", "failed", "scores_created", "error", "attempts")
CHUNK_FIELDS = ("index", "bank_id", "initiative_ids", "status", "scored", "failed", "scores_created", "error")


def job_and_chunks(job) -> tuple[dict, list[dict]]:
    """A score job's counts and status (``JOB_FIELDS``) and its chunks' (``CHUNK_FIELDS``), read again."""
    job.refresh_from_db()
    return {f: getattr(job, f) for f in JOB_FIELDS}, list(job.chunks.order_by("index").values(*CHUNK_FIELDS))
