"""/metrics: refused without the bearer token, and its figures exact — a score job done by a real worker is counted
(its status, its duration, the worker's task outcome), the queue's length is the broker's, a report's generation
time is recorded."""

from __future__ import annotations

import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from partnerships.models import Membership
from scoring.choices import JobStatus
from scoring.models import ScoreJob
from scoring.tasks import ping_task
from tests.factories import BankFactory, UserFactory
from tests.processes import wait_for
from tests.scoring.conftest import make_rated_initiative

pytestmark = [pytest.mark.services]

TOKEN = "metrics-token-for-tests-0123456789abcdef"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape by (name, sorted labels)."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", f"Token {TOKEN}", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x"],
)
def test_metrics_refuse_a_request_without_the_token(client, token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"scorecard_" not in response.content and b"django_http" not in response.content


def test_metrics_answer_nobody_when_no_token_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    for header in ({}, {"HTTP_AUTHORIZATION": "Bearer "}, {"HTTP_AUTHORIZATION": "Bearer anything"}):
        response = client.get("/metrics", **header)
        assert response.status_code == 403 and b"METRICS_TOKEN" in response.content


def test_a_staff_session_is_not_enough(client, token, two_banks):
    _banks, users = two_banks
    manager = users[("A", "manager")]
    manager.is_superuser = True
    manager.save()
    client.force_login(manager)
    assert client.get("/metrics").status_code == 401


def test_queued_jobs_and_the_queue_length_are_read_at_the_scrape(client, token, shared_redis, rubrics):
    before = scrape(client)
    initiative = make_rated_initiative()
    # A job left queued, and a message waiting on the private broker with no worker to take it.
    ScoreJob.objects.create(bank=initiative.bank, initiative_ids=[initiative.pk], total=1)
    ping_task.apply_async()
    after = scrape(client)
    assert value(after, "scorecard_score_jobs", status="queued") == (
        value(before, "scorecard_score_jobs", status="queued") + 1
    )
    assert value(after, "scorecard_score_job_oldest_unfinished_seconds", status="queued") > 0
    assert value(after, "scorecard_celery_queue_length", queue="celery") == (
        value(before, "scorecard_celery_queue_length", queue="celery") + 1
    )
    assert value(after, "scorecard_metrics_source_up", source="queue") == 1


def test_report_generation_time_is_recorded(client, token, two_banks):
    from scoring.reports.services import report_generate

    before = scrape(client)
    report_generate(bank_id=two_banks[0]["A"].pk, period_start=datetime.date(2024, 11, 13), deliver=False)
    after = scrape(client)
    name = "scorecard_report_generation_seconds"
    assert value(after, f"{name}_count", kind="weekly_portfolio") == (
        value(before, f"{name}_count", kind="weekly_portfolio") + 1
    )
    assert value(after, f"{name}_sum", kind="weekly_portfolio") > value(
        before, f"{name}_sum", kind="weekly_portfolio"
    )
    assert value(after, f"{name}_bucket", kind="weekly_portfolio", le="+Inf") == value(
        after, f"{name}_count", kind="weekly_portfolio"
    )


@pytest.mark.slow
def test_a_score_job_done_by_a_real_worker_is_counted(client, token, shared_redis, workers, taxonomy):
    from scoring.services.rubrics import rubrics_load

    workers()
    for job in rubrics_load(versions={1}).jobs:  # publishing re-scores; let those jobs end first
        if job is not None:
            wait_for(lambda j=job: ScoreJob.objects.get(pk=j.pk).finished_at, 60, message="publish jobs")
    initiative = make_rated_initiative(bank=BankFactory(code="metrics-bank"))
    analyst = UserFactory(username="metrics_analyst")
    Membership.objects.create(user=analyst, bank=initiative.bank, role="analyst")
    before = scrape(client)

    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(analyst)
    response = api.post(f"/api/v1/initiatives/{initiative.pk}/score/", {}, format="json")
    assert response.status_code == 202, response.content
    job = ScoreJob.objects.get(pk=response.json()["id"])
    wait_for(
        lambda: ScoreJob.objects.filter(pk=job.pk, status=JobStatus.SUCCEEDED).exists(), 60, message="the job"
    )

    task = {"task": "scoring.score_job_run", "state": "succeeded"}
    after = wait_for(
        lambda: (
            (s := scrape(client))
            and value(s, "scorecard_celery_tasks_total", **task)
            > value(before, "scorecard_celery_tasks_total", **task)
            and s
        ),
        10,
        message="the worker's count of scoring.score_job_run in the shared cache",
    )
    assert value(after, "scorecard_celery_tasks_total", **task) == (
        value(before, "scorecard_celery_tasks_total", **task) + 1
    )
    assert value(after, "scorecard_score_jobs", status="succeeded") == (
        value(before, "scorecard_score_jobs", status="succeeded") + 1
    )
    duration = "scorecard_score_job_duration_seconds"
    assert value(after, f"{duration}_count", status="succeeded") == (
        value(before, f"{duration}_count", status="succeeded") + 1
    )
    job.refresh_from_db()
    took = (job.finished_at - job.created_at).total_seconds()
    assert value(after, f"{duration}_sum", status="succeeded") == pytest.approx(
        value(before, f"{duration}_sum", status="succeeded") + took, abs=0.01
    )
    assert value(
        after, "scorecard_celery_tasks_total", task="scoring.score_job_run", state="failed"
    ) == value(before, "scorecard_celery_tasks_total", task="scoring.score_job_run", state="failed")
