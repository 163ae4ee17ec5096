"""Scoring through real Celery workers, real Redis and real PostgreSQL — including the faults.

Each test runs its own Redis server (so it can stop it) and worker subprocesses on the test database.
"""

import datetime

import pytest
from django.db import OperationalError, transaction
from django.utils import timezone

from partnerships.models import Initiative
from scoring.choices import JobStatus
from scoring.models import CurrentScore, Score, ScoreJob, ScoreJobChunk
from scoring.selectors import score_breakdown
from scoring.services.jobs import score_job_create, score_jobs_sweep
from scoring.services.rubrics import rubrics_load
from tests.factories import BankFactory
from tests.processes import wait_for
from tests.scoring.conftest import make_rated_initiative

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _request(initiative) -> ScoreJob:
    with transaction.atomic():
        return score_job_create(bank_id=initiative.bank_id, initiative_ids=[initiative.pk])


def _rubrics_published_and_settled() -> None:
    """Publish the default rubrics and wait for their (empty) re-score jobs, so they don't race the test."""
    for job in rubrics_load(versions={1}).jobs:
        if job is not None:
            _finished(job)


def _finished(job: ScoreJob, timeout: float = 60) -> ScoreJob:
    def done():
        job.refresh_from_db()
        return job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    wait_for(done, timeout, message=f"job {job.pk} to finish (status {job.status})")
    return job


def test_request_becomes_a_score_with_the_expected_breakdown(taxonomy, workers):
    workers()
    _rubrics_published_and_settled()
    initiative = make_rated_initiative(rating=3, compliance=3)

    job = _finished(_request(initiative))

    assert job.status == JobStatus.SUCCEEDED and job.done == 1 and job.failed == 0
    score = Score.objects.filter(initiative=initiative).get()
    # scenario rubric: Σw = 102; every criterion at 3/4 except kpi_attainment (w 6) at 2/4:
    # 100 × (0.75 × 96 + 0.5 × 6) / 102 = 73.529… → 73.5, tier B; compliance 3 ≥ gate 2.
    assert float(score.total) == 73.5 and score.tier == "B" and score.gate_passed
    assert float(score.confidence) == 1.0 and not score.provisional
    rows = {row["key"]: row for row in score_breakdown(score)["rows"]}
    assert len(rows) == 15
    assert rows["partner_strength"]["rating"] == 3.0 and rows["partner_strength"]["source"] == "computed"
    assert "腾讯" in rows["partner_strength"]["rationale"]
    assert rows["kpi_attainment"]["rating"] == 2.0
    assert rows["compliance_readiness"]["gate_passed"] is True
    assert rows["acquisition_cost"]["contribution"] == pytest.approx(100 * 10 * 0.75 / 102, abs=0.005)
    current = CurrentScore.objects.get(initiative=initiative)
    assert current.score_id == score.pk and current.tier == "B"

    # The same request again writes no second Score (same inputs, same hash).
    again = _finished(_request(initiative))
    assert again.status == JobStatus.SUCCEEDED and again.scores_created == 0
    assert Score.objects.filter(initiative=initiative).count() == 1


def test_worker_killed_mid_task_redelivers_and_scores_exactly_once(taxonomy, workers):
    slow = workers(SCORING_FAULT_DELAY="4")
    _rubrics_published_and_settled()
    initiative = make_rated_initiative()
    job = _request(initiative)

    def taken():
        # A one-chunk job is planned, scored and finished in one transaction under the job's row lock
        # (score_job_run_single): nothing it writes shows before the commit, the lock shows it started.
        try:
            with transaction.atomic():
                list(ScoreJob.objects.select_for_update(nowait=True).filter(pk=job.pk).values_list("pk"))
        except OperationalError:  # LockNotAvailable
            return True
        return False

    wait_for(taken, 30, message="a worker to take the job")
    slow.kill()  # SIGKILL while the chunk sleeps inside its transaction
    assert Score.objects.filter(initiative=initiative).count() == 0
    assert not ScoreJobChunk.objects.filter(job=job).exists()  # rolled back whole
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED

    workers()  # a fresh worker: Redis redelivers the unacknowledged task after the visibility timeout
    job = _finished(job, timeout=90)
    assert job.status == JobStatus.SUCCEEDED
    assert Score.objects.filter(initiative=initiative).count() == 1
    assert ScoreJobChunk.objects.get(job=job).status == JobStatus.SUCCEEDED


def test_broker_down_at_request_then_job_completes_when_it_is_back(taxonomy, workers, private_broker):
    workers()
    _rubrics_published_and_settled()
    initiative = make_rated_initiative()
    private_broker.stop()

    started = timezone.now()
    job = _request(initiative)  # accepted: the row is written, the enqueue after commit fails quietly
    assert (timezone.now() - started).total_seconds() < 10
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.enqueued_at is None

    private_broker.start()
    # The periodic sweeper (beat runs it every minute) finds the accepted job and enqueues it again.
    wait_for(
        lambda: score_jobs_sweep(now=timezone.now() + datetime.timedelta(minutes=1)) >= 1,
        30,
        interval=1,
        message="the sweeper to reach the broker",
    )
    job = _finished(job, timeout=90)
    assert job.status == JobStatus.SUCCEEDED
    assert Score.objects.filter(initiative=initiative).count() == 1


def test_publishing_rescores_every_initiative_in_chunks(taxonomy, workers):
    bank = BankFactory()
    Initiative.objects.bulk_create(
        Initiative(bank=bank, code=f"bulk-{i}", title=f"批量 {i}", pillar_id="scenario") for i in range(1200)
    )
    workers()
    report = rubrics_load(versions={1})  # publishes v1 of each pillar's rubric → one re-score job each
    jobs = [job for job in report.jobs if job is not None]
    for job in jobs:
        _finished(job, timeout=120)
    scenario_job = next(job for job in jobs if job.pillar == "scenario")
    scenario_job.refresh_from_db()
    assert scenario_job.status == JobStatus.SUCCEEDED and scenario_job.done == 1200
    assert list(scenario_job.chunks.order_by("index").values_list("scored", flat=True)) == [500, 500, 200]
    assert Score.objects.filter(initiative__bank=bank).count() == 1200
    assert CurrentScore.objects.filter(initiative__bank=bank).count() == 1200


def test_score_command_waits_for_the_worker(taxonomy, workers):
    from io import StringIO

    from django.core.management import call_command

    workers()
    _rubrics_published_and_settled()
    initiative = make_rated_initiative()
    out = StringIO()
    call_command("score", "--initiative", str(initiative.pk), "--wait", "--timeout", "60", stdout=out)
    assert "succeeded: 1/1 scored" in out.getvalue()
    listing = StringIO()
    call_command("score", "--jobs", stdout=listing)
    assert "succeeded" in listing.getvalue()
    assert Score.objects.filter(initiative=initiative).count() == 1
