"""Faults against real processes: a worker killed mid-way through a bulk re-score, database connections cut
while a worker scores, and beat restarted around a scheduled report. Nothing is lost, nothing is done twice."""

import json
import time

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
from tests.processes import CeleryProcess, PrivatePostgres, manage, service_env, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _settle_rubrics():
    for job in rubrics_load(versions={1}).jobs:
        if job is not None:
            _wait_job(job, 60)


def _wait_job(job: ScoreJob, timeout: float) -> ScoreJob:
    def done():
        job.refresh_from_db()
        return job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    wait_for(done, timeout, interval=0.2, message=f"job {job.pk} to finish")
    return job


def _taken(job: ScoreJob) -> bool:
    """A worker holds the job's row lock: it has taken the job and is inside its transaction.

    A job of one chunk is planned, scored and finished in one transaction under that lock
    (scoring.services.jobs.score_job_run_single), so nothing it writes — its chunk row included — shows before its
    commit; the lock is what shows it started."""
    from django.db import OperationalError

    try:
        with transaction.atomic():
            list(ScoreJob.objects.select_for_update(nowait=True).filter(pk=job.pk).values_list("pk"))
    except OperationalError:  # LockNotAvailable
        return True
    return False


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
    wait_for(lambda: _taken(job), 30, message="a worker to take the one-chunk job")

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


_FAULT_SETUP = """
from django.core.management import call_command
from partnerships.models import Bank, Initiative
from scoring.services.rubrics import rubrics_load
call_command("loaddata", "taxonomy", verbosity=0)
rubrics_load(versions={1})
bank = Bank.objects.create(code="fault", name_zh_hans="故障银行", name_en="Fault bank")
Initiative.objects.bulk_create(
    Initiative(bank=bank, code=f"f-{i}", title=f"故障 {i}", pillar_id=("scenario", "data_sharing", "smart_banking")[i % 3])
    for i in range(90)
)
"""

_FAULT_JOB = """
from django.db import transaction
from partnerships.models import Initiative
from scoring.services.jobs import score_job_create
ids = list(Initiative.objects.filter(bank__code="fault").values_list("id", flat=True))
with transaction.atomic():
    job = score_job_create(bank_id=ids and Initiative.objects.get(pk=ids[0]).bank_id, initiative_ids=ids)
print(job.pk)
"""


def _query(url: str, sql: str, *params):
    import psycopg

    with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def _locked(url: str, job_id: str) -> bool:
    """``_taken`` on a database of its own: the job's row is locked by a worker."""
    import psycopg

    with psycopg.connect(url, connect_timeout=3) as conn:
        try:
            conn.execute("SELECT 1 FROM scoring_scorejob WHERE id = %s FOR UPDATE NOWAIT", [job_id])
        except psycopg.errors.LockNotAvailable:
            return True
    return False


def test_postgresql_restarted_while_a_worker_scores_then_tasks_retry_and_finish(
    taxonomy, workers, private_broker, tmp_path
):
    """The real thing: a PostgreSQL server is restarted in the middle of a scoring job — a throwaway server this
    test starts on its own port and data folder, never the machine's cluster that other tests and people use."""
    server = PrivatePostgres().start()
    try:
        url = server.create_database("scorecard_fault")
        env = service_env(private_broker.url, DATABASE_URL=url)
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "shell", "-c", _FAULT_SETUP)
        first = workers(
            DATABASE_URL=url
        )  # scores the rubrics' publish jobs (no initiatives yet: nothing to do)

        def published():
            rows = _query(
                url, "SELECT count(*) FROM scoring_scorejob WHERE status NOT IN ('succeeded', 'failed')"
            )
            return rows[0][0] == 0

        wait_for(published, 60, message="the rubrics' publish jobs to finish")
        first.stop()  # only the slow worker may take the job's chunk, so the restart lands inside it
        workers(DATABASE_URL=url, SCORING_FAULT_DELAY="1.5")
        job_id = manage(env, "shell", "-c", _FAULT_JOB).strip().splitlines()[-1]
        wait_for(lambda: _locked(url, job_id), 30, message="a worker to take the one-chunk job")
        # Taken, not finished: the restart lands inside the job's transaction (see _taken).
        assert _query(url, "SELECT status FROM scoring_scorejob WHERE id = %s", job_id)[0][0] == "queued"
        time.sleep(0.5)
        server.restart()

        def finished():
            try:
                rows = _query(url, "SELECT status, done, failed FROM scoring_scorejob WHERE id = %s", job_id)
            except Exception:  # the server is still coming back
                return None
            return rows[0] if rows and rows[0][0] in ("succeeded", "failed") else None

        status, done, failed = wait_for(finished, 180, interval=0.5, message=f"job {job_id} to finish")
        assert (status, done, failed) == ("succeeded", 90, 0)
        per_initiative = _query(
            url,
            "SELECT s.initiative_id, count(*) FROM scoring_score s JOIN partnerships_initiative i "
            "ON i.id = s.initiative_id JOIN partnerships_bank b ON b.id = i.bank_id "
            "WHERE b.code = 'fault' GROUP BY s.initiative_id",
        )
        assert len(per_initiative) == 90 and {n for _iid, n in per_initiative} == {1}
        log = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("worker-*.log"))
        assert "retry" in log.lower()  # the restart failed the running task, which was retried
    finally:
        server.stop()


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
