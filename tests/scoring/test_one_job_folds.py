"""Issue 17: two more reads of the one-initiative score job folded into its locked read (scoring.services.jobs) —
each initiative's KPIs with its scope (scoring.sources.KPIS_FOLDED) and the bank's row the joint-lending limits read
(partnerships.services.limits.bank_limits_annotations). Each is held equal to the read it replaces, which the
chunk path and other databases keep, and a job scored with them stores what the chunk path stores."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partnerships.models import PartnerExposure
from partnerships.services.limits import bank_limits_row, joint_lending_breaches, limit_utilisation
from scoring import sources
from scoring.models import Score, ScoreJob
from scoring.services import jobs
from scoring.services.compute import score_initiatives
from scoring.services.jobs import score_job_create, score_job_run
from scoring.sources import InitiativeFacts
from tests.factories import (
    BankFactory,
    InitiativeFactory,
    InitiativePartnerFactory,
    KPIFactory,
    KPIObservationFactory,
)
from tests.partnerships.limit_data import bank_figures, expose, lending_bank, load_regulatory_limits
from tests.partnerships.limit_data import partner as limit_partner
from tests.scoring.conftest import make_rated_initiative

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the scope (with its KPIs) is folded on PostgreSQL only"
)


def _locked(job) -> ScoreJob:
    with transaction.atomic():
        return jobs._locked_job(job.pk, folded=True)


def _requested_on(job, day: datetime.date) -> ScoreJob:
    """The job as if requested at noon on ``day`` (local time): its scoring date."""
    at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
    ScoreJob.objects.filter(pk=job.pk).update(created_at=at)
    return job


@postgres_only
def test_the_kpis_read_with_the_scope_are_the_sources_reads(rubrics):
    bank = BankFactory()
    day = datetime.date(2025, 6, 30)
    several, bare, unobserved = (InitiativeFactory(bank=bank, pillar_id="scenario") for _ in range(3))
    path = KPIFactory(
        initiative=several,
        baseline=Decimal("300.1234"),
        target=Decimal("200"),
        baseline_date=datetime.date(2025, 1, 1),
        target_date=datetime.date(2025, 12, 31),
        weight=Decimal("2.5"),
    )
    open_ended = KPIFactory(initiative=several, baseline=10, target=None)
    KPIFactory(initiative=unobserved, baseline=5, target=50)
    KPIObservationFactory(kpi=path, observed_on=datetime.date(2025, 3, 1), value=Decimal("260.5"))
    KPIObservationFactory(kpi=path, observed_on=day, value=250)  # on the scoring date: known that day
    # Not yet known on the scoring date (version 2 takes the one before; version 1 the latest).
    KPIObservationFactory(kpi=path, observed_on=day + datetime.timedelta(days=1), value=210)
    KPIObservationFactory(kpi=open_ended, observed_on=datetime.date(2024, 1, 1), value=12)
    ids = [several.pk, bare.pk, unobserved.pk]
    job = _requested_on(score_job_create(bank_id=bank.pk, initiative_ids=ids), day)

    scope, kpis = jobs._single_scope(_locked(job))
    assert [row[1] for row in scope] == ids
    assert set(kpis) == set(ids) and kpis[bare.pk] == [] and len(kpis[several.pk]) == 2
    first = kpis[several.pk][0]
    assert first[:6] == (path.name, Decimal("300.1234"), Decimal("200"), Decimal("210"), Decimal("250"), day)
    assert first[6:] == (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31), Decimal("2.5"))

    facts = [InitiativeFacts(i, as_of=day) for i in ids]
    with CaptureQueriesContext(connection) as ctx:
        v1 = sources.kpi_attainment(facts, kpis_read=kpis)
        v2 = sources.kpi_attainment_v2(facts, kpis_read=kpis, kpis_read_as_of=day)
    assert len(ctx) == 0
    assert v1 == sources.kpi_attainment(facts)
    assert v2 == sources.kpi_attainment_v2(facts)
    assert v1[several.pk].value != v1[bare.pk].value  # the KPIs count: not two empty results
    # Read for another scoring date, the rows are not taken: the source reads its own.
    other = [InitiativeFacts(i, as_of=day + datetime.timedelta(days=1)) for i in ids]
    assert sources.kpi_attainment_v2(other, kpis_read=kpis, kpis_read_as_of=day) == sources.kpi_attainment_v2(
        other
    )
    assert sources.kpi_attainment_v2(other) != v2


def test_the_bank_row_read_with_the_job_is_the_row_the_limits_read(rubrics):
    load_regulatory_limits()
    bank = lending_bank("fold-bank", bank_type="city_commercial", home_region="33", warning=75)
    bank_figures(bank)
    ant = limit_partner("ant", group="蚂蚁集团")
    day = datetime.date(2025, 7, 15)
    initiative = InitiativeFactory(bank=bank)
    InitiativePartnerFactory(initiative=initiative, partner=ant, role="lead")
    job = _requested_on(score_job_create(bank_id=bank.pk, initiative_ids=[initiative.pk]), day)

    # No exposure yet: the bank's row with no month.
    row = bank_limits_row(_locked(job))
    assert row == {
        "pk": bank.pk,
        "bank_type": "city_commercial",
        "home_region": "33",
        "limit_warning_percent": Decimal("75"),
        "month": None,
    }
    assert limit_utilisation([bank.pk], as_of=day, banks_read={bank.pk: row}) == limit_utilisation(
        [bank.pk], as_of=day
    )

    # A month before the scoring date and one after it: the month on or before it is the one read.
    expose(bank, ant, month=datetime.date(2025, 6, 30), balance="400", funded="100")  # a breach
    expose(bank, ant, month=datetime.date(2025, 7, 31), balance="100", funded="90")
    row = bank_limits_row(_locked(job))
    assert row["month"] == datetime.date(2025, 6, 30)
    banks_read = {bank.pk: row}
    with CaptureQueriesContext(connection) as given:
        folded = joint_lending_breaches([initiative.pk], as_of=day, banks_read=banks_read)
    with CaptureQueriesContext(connection) as own:
        apart = joint_lending_breaches([initiative.pk], as_of=day)
    assert folded == apart and folded[initiative.pk][0]["status"] == "breach"
    assert len(given) == len(own) - 1
    assert limit_utilisation([bank.pk], as_of=day, banks_read=banks_read) == limit_utilisation(
        [bank.pk], as_of=day
    )
    # Another bank than the one read, or a given period: read as before.
    other = lending_bank("fold-other")
    assert limit_utilisation([bank.pk, other.pk], as_of=day, banks_read=banks_read) == limit_utilisation(
        [bank.pk, other.pk], as_of=day
    )
    period = datetime.date(2025, 7, 1)
    assert limit_utilisation([bank.pk], as_of=day, period=period, banks_read=banks_read) == limit_utilisation(
        [bank.pk], as_of=day, period=period
    )
    assert PartnerExposure.objects.count() == 2

    # A job without a bank reads none.
    assert (
        bank_limits_row(_locked(_requested_on(score_job_create(bank_id=None, initiative_ids=[1]), day)))
        is None
    )


def test_a_job_scored_with_the_folded_reads_stores_what_the_chunk_path_stores(rubrics):
    """KPIs with an observation after the scoring date and a breached limit: the one-chunk job (folded reads)
    and score_initiatives (its own reads) store the same breakdown and inputs hash."""
    load_regulatory_limits()
    bank = lending_bank("same-bank")
    bank_figures(bank)
    a = make_rated_initiative(bank=bank)
    b = make_rated_initiative(bank=bank)
    ant = limit_partner("ant", group="蚂蚁集团")
    InitiativePartnerFactory(initiative=a, partner=ant, role="technology")
    today = timezone.localdate()
    expose(bank, ant, month=today.replace(day=1) - datetime.timedelta(days=1), balance="400", funded="100")
    kpi = KPIFactory(initiative=b, baseline=100, target=300, weight=3)
    KPIObservationFactory(kpi=kpi, observed_on=today - datetime.timedelta(days=3), value=180)
    KPIObservationFactory(kpi=kpi, observed_on=today + datetime.timedelta(days=3), value=290)

    job = score_job_create(bank_id=bank.pk, initiative_ids=[a.pk, b.pk])
    score_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.scores_created == 2
    stored = {s.initiative_id: (s.inputs_hash, s.breakdown, s.tier) for s in Score.objects.all()}
    Score.objects.all().delete()
    outcome = score_initiatives(bank_id=bank.pk, initiative_ids=[a.pk, b.pk], as_of=today)
    assert outcome.created == 2
    again = {s.initiative_id: (s.inputs_hash, s.breakdown, s.tier) for s in Score.objects.all()}
    assert again == stored
    compliance = stored[a.pk][1]["inputs"]["data"].get("compliance_readiness") or {}
    assert compliance, stored[a.pk][1]["inputs"]["data"].keys()
