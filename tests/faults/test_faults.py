"""Faults against real processes: a worker killed mid-way through a bulk re-score, database connections cut
while a worker scores, and beat restarted around a scheduled report. Nothing is lost, nothing is done twice."""

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from partnerships.models import Initiative
from scoring.choices import JobStatus
from scoring.models import CurrentScore, Report, Score, ScoreJob
from scoring.services.jobs import score_job_create
from scoring.services.rubrics import rubrics_load
from tests.factories import BankFactory
from tests.processes import CeleryProcess, service_env, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _settle_rubrics():
    for job in rubrics_load().jobs:
        if job is not None:
            _wait_job(job, 60)


def _wait_job(job: ScoreJob, timeout: float) -> ScoreJob:
    def done():
        job.refresh_from_db()
        return job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    wait_for(done, timeout, interval=0.2, message=f"job {job.pk} to finish")
    return job


def _portfolio(n: int):
    bank = BankFactory()
    Initiative.objects.bulk_create(
        Initiative(
            bank=bank,
            code=f"f-{i}",
            title=f"故障 {i}",
            pillar_id=("scenario", "data_sharing", "smart_banking")[i % 3],
        )
        for i in range(n)
    )
    return bank, list(Initiative.objects.filter(bank=bank).values_list("id", flat=True))


def test_worker_killed_during_bulk_rescore_then_every_initiative_scored_once(taxonomy, workers):
    settler = workers()  # settle the rubrics with a healthy worker first, then stop it
    _settle_rubrics()
    settler.stop()
    bank, ids = _portfolio(600)
    slow = workers(SCORING_FAULT_DELAY="1.5")
    with transaction.atomic():
        job = score_job_create(bank_id=bank.pk, initiative_ids=ids)
    wait_for(
        lambda: job.chunks.filter(status=JobStatus.SUCCEEDED).exists() or job.chunks.count() > 1,
        60,
        message="the bulk job to be under way",
    )
    time.sleep(0.5)
    slow.kill()
    done_before = job.chunks.filter(status=JobStatus.SUCCEEDED).count()
    assert done_before < job.chunks.count()  # killed mid-way

    workers()
    job = _wait_job(job, 120)
    assert job.status == JobStatus.SUCCEEDED and job.done == 600 and job.failed == 0
    per_initiative = Score.objects.filter(initiative__bank=bank).values("initiative").annotate(n=Count("id"))
    assert len(per_initiative) == 600 and {row["n"] for row in per_initiative} == {1}
    assert CurrentScore.objects.filter(initiative__bank=bank).count() == 600


def test_database_connections_cut_while_scoring_then_tasks_retry_and_finish(taxonomy, workers, tmp_path):
    settler = workers()
    _settle_rubrics()
    settler.stop()
    bank, ids = _portfolio(30)
    env_url = service_env("")["DATABASE_URL"]
    workers(SCORING_FAULT_DELAY="2", DATABASE_URL=f"{env_url}?application_name=fault_worker")
    with transaction.atomic():
        job = score_job_create(bank_id=bank.pk, initiative_ids=ids)
    wait_for(lambda: job.chunks.exists(), 30, message="the chunk to start")

    # What a PostgreSQL restart does to a worker: every one of its connections is dropped mid-transaction.
    with connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'fault_worker'"
            )
            time.sleep(0.7)
    job = _wait_job(job, 90)
    assert job.status == JobStatus.SUCCEEDED and job.done == 30
    log = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("worker-*.log"))
    assert "retry" in log.lower()  # the cut connection failed the task, which was retried
    assert Score.objects.filter(initiative__bank=bank).count() == 30


def _local_cluster() -> tuple[str, str] | None:
    """(version, name) of the PostgreSQL cluster this machine runs (Debian's pg_ctlcluster), or None."""
    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        return None
    for version in sorted(Path("/etc/postgresql").iterdir()):
        if (version / "main").is_dir():
            return version.name, "main"
    return None


def test_postgresql_restarted_while_a_worker_scores_then_tasks_retry_and_finish(taxonomy, workers, tmp_path):
    """The real thing: the PostgreSQL server is restarted (pg_ctlcluster) in the middle of a scoring job."""
    cluster = _local_cluster()
    if cluster is None:
        pytest.skip("needs the local PostgreSQL cluster and Debian's pg_ctlcluster (as on CI machines)")
    settler = workers()
    _settle_rubrics()
    settler.stop()
    bank, ids = _portfolio(90)
    workers(SCORING_FAULT_DELAY="1.5")
    with transaction.atomic():
        job = score_job_create(bank_id=bank.pk, initiative_ids=ids)
    wait_for(lambda: job.chunks.exists(), 30, message="the chunk to start")
    time.sleep(0.5)

    connection.close()  # this test's own connection goes down with the server; Django opens a new one after
    restart = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "restart"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert restart.returncode == 0, restart.stderr
    wait_for(
        lambda: subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0,
        60,
        message="PostgreSQL to accept connections again",
    )

    job = _wait_job(job, 180)
    assert job.status == JobStatus.SUCCEEDED and job.done == 90 and job.failed == 0
    per_initiative = Score.objects.filter(initiative__bank=bank).values("initiative").annotate(n=Count("id"))
    assert len(per_initiative) == 90 and {row["n"] for row in per_initiative} == {1}
    log = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("worker-*.log"))
    assert "retry" in log.lower()  # the restart failed the running task, which was retried


def test_beat_restarted_generates_one_report_per_period(taxonomy, workers, private_broker, tmp_path):
    workers()
    _settle_rubrics()
    bank, _ids = _portfolio(3)
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="fault test: report every second",
        task="scoring.generate_report",
        interval=every_second,
        kwargs=json.dumps({"bank_id": bank.pk}),
    )
    env = service_env(private_broker.url)
    for attempt in range(2):  # start beat, let it fire several times, stop it; then again
        beat = CeleryProcess(
            "beat",
            env,
            tmp_path / f"beat-{attempt}.log",
            "--max-interval",
            "1",
            "-s",
            str(tmp_path / "beat-schedule"),
        ).start()
        try:
            wait_for(
                lambda: Report.objects.filter(bank=bank, status="ready").exists(), 60, message="a report"
            )
            time.sleep(3)
        finally:
            beat.stop()
    reports = Report.objects.filter(bank=bank)
    assert reports.count() == 1  # the same period, however often beat fired and restarted
    assert reports.get().status == "ready"


def test_redis_down_while_the_api_takes_score_requests(taxonomy, workers, private_broker):
    """Each request gets a clear answer (202 with a queued job); every accepted job completes once Redis is back."""
    import datetime

    from django.utils import timezone
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from scoring.services.jobs import score_jobs_sweep
    from tests.factories import MembershipFactory, UserFactory

    settler = workers()
    _settle_rubrics()
    bank, ids = _portfolio(5)
    analyst = UserFactory()
    MembershipFactory(user=analyst, bank=bank, role="analyst")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=analyst).key}")

    private_broker.stop()
    answers = []
    for initiative_id in ids:
        started = time.monotonic()
        response = client.post(f"/api/v1/initiatives/{initiative_id}/score/", format="json")
        answers.append((response.status_code, time.monotonic() - started, response.json()))
    assert all(status == 202 for status, _t, _b in answers), answers
    assert max(t for _s, t, _b in answers) < 10  # no request hangs on the dead broker
    jobs = [ScoreJob.objects.get(pk=body["id"]) for _s, _t, body in answers]
    assert {job.status for job in jobs} == {JobStatus.QUEUED} and all(job.enqueued_at is None for job in jobs)
    assert not Score.objects.filter(initiative__bank=bank).exists()  # nothing half-written

    private_broker.start()
    settler.stop()
    workers()  # a worker that connects to the restarted broker
    wait_for(
        lambda: score_jobs_sweep(now=timezone.now() + datetime.timedelta(minutes=1)) >= len(jobs),
        30,
        interval=1,
        message="the sweeper to re-enqueue the accepted jobs",
    )
    for job in jobs:
        assert _wait_job(job, 60).status == JobStatus.SUCCEEDED
    assert Score.objects.filter(initiative__bank=bank).count() == len(ids)
