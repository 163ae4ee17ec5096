"""Issue 17: a one-initiative score job in fewer statements (scoring.services.jobs.score_job_run_single and the
reads and writes of scoring.services.compute it folds together). Each folded statement is held equal to the reads
or writes it replaces — the path other databases keep — so what is stored and decided does not change."""

import datetime
import types

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partnerships.models import MonitoringEvent, PartnershipContract, WebhookDelivery, WebhookEndpoint
from scoring.choices import AssessmentStatus, JobStatus
from scoring.models import Assessment, CurrentScore, RubricVersion, Score, ScoreJob
from scoring.services import compute, jobs
from scoring.services.compute import (
    lifecycle_caps,
    published_version_ids_by_pillar,
    published_versions_expression,
    published_versions_from,
    score_initiatives,
)
from scoring.services.jobs import score_job_create, score_job_run, score_job_run_single
from scoring.services.lifecycle import exit_readiness_caps, tier_caps
from tests.factories import BankFactory, InitiativeFactory, UserFactory
from tests.scoring.conftest import complete_contract, job_and_chunks, make_rated_initiative

pytestmark = pytest.mark.django_db


def _statements(job_id) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        score_job_run(job_id)
    return [q["sql"] for q in ctx.captured_queries]


def test_a_one_initiative_job_takes_eight_statements(rubrics):
    # In this test's transaction: SAVEPOINT, the job locked (with whether its bank has an endpoint, the
    # published versions, the bank's row the joint-lending limits read, and its scope with the initiatives' facts
    # and KPIs), the assessment and ratings, the partners and their figures (with their links the joint-lending
    # limits take too), the contract with the severe events, the Scores with CurrentScore, the chunk with the job,
    # RELEASE. (The job's creation adds its INSERT and the
    # enqueued_at UPDATE; bench.bulk.one_job_queries counts both, and the transaction around the creation.)
    warm = make_rated_initiative()
    score_job_run(score_job_create(bank_id=warm.bank_id, initiative_ids=[warm.pk]).pk)  # per-process caches
    a = make_rated_initiative()
    job = score_job_create(bank_id=a.bank_id, initiative_ids=[a.pk])
    statements = _statements(job.pk)
    assert len(statements) == 8, [s[:80] for s in statements]
    joined = "\n".join(statements)
    assert "synchronous_commit" not in joined
    assert not any(s.startswith('SELECT "partnerships_webhookendpoint"') for s in statements)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.scores_created == 1 and job.done == 1


def _rows(job):
    fields, chunks = job_and_chunks(job)
    return fields, chunks, job.started_at == job.finished_at is not None


def test_the_chunk_and_the_job_in_one_statement_write_what_create_and_save_write(rubrics, monkeypatch):
    # jobs._single_write: PostgreSQL's INSERT-in-a-CTE-of-the-UPDATE against the ORM path other databases take.
    a = make_rated_initiative()
    b = make_rated_initiative(bank=a.bank, compliance=1)
    stranger = make_rated_initiative(bank=BankFactory())  # not in the job's bank: an error on the job
    ids = [a.pk, b.pk, stranger.pk]

    one = score_job_create(bank_id=a.bank_id, initiative_ids=ids)
    assert score_job_run_single(one.pk) is True
    Score.objects.filter(job_id=one.pk).update(job=None)
    CurrentScore.objects.all().delete()
    Score.objects.all().delete()
    monkeypatch.setattr(jobs, "connection", types.SimpleNamespace(vendor="sqlite"))
    other = score_job_create(bank_id=a.bank_id, initiative_ids=ids)
    assert score_job_run_single(other.pk) is True

    got, want = _rows(one), _rows(other)
    assert got == want
    assert got[0]["status"] == JobStatus.SUCCEEDED and (got[0]["done"], got[0]["failed"]) == (2, 1)
    assert got[1][0]["initiative_ids"] == sorted([a.pk, b.pk]) and got[1][0]["scores_created"] == 2
    one.refresh_from_db()
    assert one.updated_at >= one.finished_at  # auto_now's value, as save() gives


def test_the_scope_read_with_the_job_is_the_scope_read_apart(rubrics, monkeypatch):
    # jobs._SCOPE_FOLDED (a subquery of the job's locked read) against jobs._scope, for each kind of job: ids of
    # one bank (one not in it), ids without a bank, a bank without ids, neither, a pillar, a rubric version's
    # pillar — and the limit (CHUNK_SIZE + 1 rows), made small here.
    from django.db import transaction

    from partnerships.models import Initiative
    from scoring.services.compute import INITIATIVE_COLUMNS

    bank, other = BankFactory(), BankFactory()
    a = InitiativeFactory(bank=bank, pillar_id="scenario")
    b = InitiativeFactory(bank=bank, pillar_id="data_sharing")
    Initiative.objects.filter(pk=b.pk).update(
        personal_data_categories=["identity", "financial"],
        lawful_basis="contract",
        security_assessment_done=True,
        cross_border_transfer=True,
        transfer_mechanism="standard_contract",
    )
    c = InitiativeFactory(bank=other, pillar_id="scenario")
    version = RubricVersion.objects.select_related("rubric").get(
        rubric__pillar_id="data_sharing", status="published"
    )

    def both(**fields):
        job = ScoreJob.objects.create(**fields)
        with transaction.atomic():
            folded = jobs._single_scope(jobs._locked_job(job.pk, folded=True))[0]
        with transaction.atomic():
            plain = jobs._locked_job(job.pk)
            assert not hasattr(plain, "scope_rows")
            apart = list(
                jobs._scope(plain).values_list("bank_id", *INITIATIVE_COLUMNS)[: jobs.CHUNK_SIZE + 1]
            )
        return folded, apart

    cases = [
        dict(bank_id=bank.pk, initiative_ids=[a.pk, b.pk, c.pk]),
        dict(bank_id=None, initiative_ids=[c.pk, a.pk]),
        dict(bank_id=bank.pk, initiative_ids=None),
        dict(bank_id=None, initiative_ids=None),
        dict(bank_id=bank.pk, initiative_ids=[a.pk, b.pk], pillar="data_sharing"),
        dict(bank_id=None, initiative_ids=None, rubric_version=version),
        dict(bank_id=bank.pk, initiative_ids=[]),
    ]
    for fields in cases:
        folded, apart = both(**fields)
        assert folded == apart, fields
    assert both(**cases[0])[0] == [
        (bank.pk, a.pk, "scenario", [], "", False, None, ""),  # cross_border_transfer unknown
        (
            bank.pk,
            b.pk,
            "data_sharing",
            ["identity", "financial"],
            "contract",
            True,
            True,
            "standard_contract",
        ),
    ]
    assert [row[1] for row in both(**cases[5])[0]] == [b.pk]
    monkeypatch.setattr(jobs, "CHUNK_SIZE", 1)
    for fields in cases:
        folded, apart = both(**fields)
        assert folded == apart and len(folded) <= 2, fields


def test_the_contract_and_events_read_as_one_match_the_loaders(rubrics):
    # compute.lifecycle_caps (PostgreSQL: one statement) against scoring.services.lifecycle's loaders.
    bank = BankFactory()
    author = UserFactory()
    none = InitiativeFactory(bank=bank, pillar_id="scenario")
    untested = InitiativeFactory(bank=bank, pillar_id="scenario")
    complete_contract(untested, exit_plan_last_tested_on=None)
    old = InitiativeFactory(bank=bank, pillar_id="scenario")
    complete_contract(old, exit_plan_last_tested_on=datetime.date(2020, 1, 1))
    partial = InitiativeFactory(bank=bank, pillar_id="scenario")
    complete_contract(partial, exit_plan_last_tested_on=datetime.date(2026, 1, 1), alternative_provider="")
    full = InitiativeFactory(bank=bank, pillar_id="scenario")
    complete_contract(full)
    no_plan = InitiativeFactory(bank=bank, pillar_id="scenario")
    complete_contract(no_plan, exit_plan=" ", data_return_and_destruction="unknown")

    def event(initiative, severity, day):
        return MonitoringEvent.objects.create(
            initiative=initiative, kind="incident", occurred_on=day, severity=severity, description="x"
        )

    version = RubricVersion.objects.filter(status="published").first()

    def approved(initiative, at):
        Assessment.objects.create(
            initiative=initiative,
            rubric_version=version,
            author=author,
            status=AssessmentStatus.APPROVED,
            approved_by=UserFactory(),
            approved_at=at,
        )

    # Events on several initiatives: before and after the last approval, several at once, a medium one.
    event(none, "critical", datetime.date(2026, 5, 3))
    event(none, "high", datetime.date(2026, 5, 1))
    event(none, "medium", datetime.date(2026, 5, 2))
    event(full, "high", datetime.date(2026, 4, 1))
    approved(full, timezone.now() + datetime.timedelta(days=1))  # approved after the event: no cap
    approved(full, timezone.now() - datetime.timedelta(days=400))
    event(old, "critical", datetime.date(2026, 3, 1))
    approved(old, timezone.now() - datetime.timedelta(days=1))  # the event recorded since: capped
    event(untested, "medium", datetime.date(2026, 3, 1))  # not severe: no cap

    ids = [none.pk, untested.pk, old.pk, full.pk, no_plan.pk, partial.pk, none.pk]
    as_of = datetime.date(2026, 6, 1)
    want = (exit_readiness_caps(ids, as_of=as_of), tier_caps(ids))
    assert lifecycle_caps(ids, as_of=as_of) == want
    assert set(want[1]) == {none.pk, old.pk} and len(want[1][none.pk][1]) == 2
    assert {cap for cap, _r in want[0].values()} == {0, 1, 2, 3, 4}
    assert lifecycle_caps(ids, as_of=as_of, exit_readiness=False) == ({}, want[1])
    with CaptureQueriesContext(connection) as ctx:
        lifecycle_caps(ids, as_of=as_of)
    assert len(ctx) == 1
    assert lifecycle_caps([], as_of=as_of) == ({}, {})
    assert PartnershipContract.objects.count() == 5


def test_the_published_versions_read_with_the_job_are_those_read_apart(rubrics):
    expression = published_versions_expression()
    text = RubricVersion.objects.annotate(p=expression).values_list("p", flat=True).first()
    assert published_versions_from(text) == published_version_ids_by_pillar() != {}
    RubricVersion.objects.update(status="retired")
    text = RubricVersion.objects.annotate(p=expression).values_list("p", flat=True).first()
    assert published_versions_from(text) == published_version_ids_by_pillar() == {}


def test_score_created_is_still_sent_when_the_bank_listens(rubrics):
    a = make_rated_initiative()
    quiet = make_rated_initiative()
    WebhookEndpoint.objects.create(bank=a.bank, url="https://hooks.example.com/a", events=["score.created"])
    WebhookEndpoint.objects.create(
        bank=quiet.bank, url="https://hooks.example.com/q", events=["score.created"], active=False
    )
    job = score_job_create(bank_id=a.bank_id, initiative_ids=[a.pk])
    score_job_run(job.pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "score.created" and delivery.payload["data"]["job"] == str(job.pk)
    assert [s["initiative"] for s in delivery.payload["data"]["scores"]] == [a.pk]

    # An inactive endpoint only: nothing sent, and the endpoints are not read apart.
    job = score_job_create(bank_id=quiet.bank_id, initiative_ids=[quiet.pk])
    statements = _statements(job.pk)
    assert WebhookDelivery.objects.count() == 1
    assert not any(s.startswith('SELECT "partnerships_webhookendpoint"') for s in statements)
    assert ScoreJob.objects.get(pk=job.pk).scores_created == 1


def test_a_job_without_a_bank_still_asks_the_endpoints(rubrics):
    # A job recorded without a bank (a superuser's, across banks) whose scope is one bank's: the EXISTS read with
    # the job knows no bank, so the endpoints are asked as before.
    a = make_rated_initiative()
    WebhookEndpoint.objects.create(bank=a.bank, url="https://hooks.example.com/a", events=["score.created"])
    job = score_job_create(bank_id=None, initiative_ids=[a.pk])
    score_job_run(job.pk)
    assert WebhookDelivery.objects.filter(event_type="score.created").count() == 1


def test_the_one_statement_store_falls_back_when_a_conflicting_score_is_not_in_its_snapshot(
    rubrics, monkeypatch
):
    # compute._store_values: a Score committed by another transaction after the statement's snapshot conflicts
    # with the INSERT yet is in neither of its CTEs. Simulated by hiding the earlier Scores from the statement:
    # CurrentScore is still upserted (by the fallback) and no Score is counted as created.
    a = make_rated_initiative()
    first = score_initiatives(bank_id=a.bank_id, initiative_ids=[a.pk])
    assert (first.scored, first.created) == (1, 1)
    CurrentScore.objects.all().delete()
    hidden = compute._STORE_VALUES.replace("AND s.inputs_hash = st.inputs_hash", "AND false")
    assert hidden != compute._STORE_VALUES
    monkeypatch.setattr(compute, "_STORE_VALUES", hidden)
    again = score_initiatives(bank_id=a.bank_id, initiative_ids=[a.pk])
    assert (again.scored, again.created) == (1, 0)
    score = Score.objects.get(initiative=a)
    assert again.score_ids == [score.pk]
    assert CurrentScore.objects.get(initiative=a).score_id == score.pk


def test_the_one_statement_store_counts_what_it_wrote(rubrics):
    a = make_rated_initiative()
    first = score_initiatives(bank_id=a.bank_id, initiative_ids=[a.pk])
    again = score_initiatives(bank_id=a.bank_id, initiative_ids=[a.pk])
    score = Score.objects.get(initiative=a)
    assert (first.created, again.created) == (1, 0)
    assert first.score_ids == again.score_ids == [score.pk]
    current = CurrentScore.objects.get(initiative=a)
    assert (current.score_id, current.total, current.tier, current.computed_at) == (
        score.pk,
        score.total,
        score.tier,
        score.computed_at,
    )
