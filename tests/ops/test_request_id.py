"""The request id: on every response, kept when sane, carried into the task a request causes, stored on the
ScoreJob, and on the worker's log lines — so a failed score is followed from the API call to the worker's log."""

from __future__ import annotations

import json
import re

import pytest
from rest_framework.test import APIClient

from config.ops.request_id import current_request_id
from partnerships.models import Initiative, Membership
from scoring.choices import JobStatus
from scoring.models import ScoreJob
from scoring.services.rubrics import rubrics_load
from tests.factories import BankFactory, InitiativeFactory, UserFactory
from tests.processes import wait_for

HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/admin/login/",  # a page
        "/api/v1/initiatives/",  # the API, refused (401)
        "/no-such-page/",  # a 404
        "/healthz",  # an ops endpoint, answered before the rest of the middleware
        "/static/admin/css/base.css",  # a static file, served by WhiteNoise
    ],
)
def test_every_response_carries_a_new_request_id(client, path):
    first, second = client.get(path), client.get(path)
    for response in (first, second):
        if response.streaming:  # read it, as a server does: its end is the end of the request
            b"".join(response.streaming_content)
    assert HEX32.fullmatch(first["X-Request-ID"]), (path, first.status_code)
    assert HEX32.fullmatch(second["X-Request-ID"]) and second["X-Request-ID"] != first["X-Request-ID"]
    assert "X-Request-ID" in first["Access-Control-Expose-Headers"]


@pytest.mark.parametrize(
    "incoming",
    ["3f2c8a1e-5b7d-4c9a-8e1f-2a3b4c5d6e7f", "0af7651916cd43dd8448eb211c80319c", "req-7f3a.lb:2", "x" * 64],
)
def test_a_sane_incoming_request_id_is_kept(client, incoming):
    assert client.get("/healthz", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"] == incoming


@pytest.mark.parametrize(
    "incoming",
    ["", "has space", "x" * 65, "semi;colon", "new\tline", "引号", "a/b", "<script>"],
)
def test_an_insane_incoming_request_id_is_replaced(client, incoming):
    answered = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"]
    assert answered != incoming and HEX32.fullmatch(answered)


def test_no_request_id_is_left_behind_after_the_response(client):
    client.get("/healthz", HTTP_X_REQUEST_ID="left-behind")
    assert current_request_id() == ""


@pytest.mark.django_db
def test_a_job_created_outside_any_request_has_no_request_id(taxonomy):
    from django.db import transaction

    from config.ops.request_id import forget_request_id
    from scoring.services.jobs import score_job_create

    # As a command, the shell or beat start: no request id set (a test client's unread streaming response, in an
    # earlier test, can leave its id in this thread; a server always reads and closes the response).
    forget_request_id()
    initiative = InitiativeFactory()
    with transaction.atomic():
        job = score_job_create(bank_id=initiative.bank_id, initiative_ids=[initiative.pk])
    assert job.request_id == ""


@pytest.mark.services
@pytest.mark.slow
def test_a_failed_score_is_followed_from_the_api_call_to_the_workers_log(taxonomy, private_broker, workers):
    """An analyst asks for a score with X-Request-ID; the initiative is gone before a worker takes the job, which
    fails. The same id is on the response, on the job (API and row), and on the worker's JSON log lines of the
    task — the worker started later, from the header the task carried."""
    rubrics_load(versions={1})
    bank = BankFactory(code="trace-bank")
    initiative = InitiativeFactory(bank=bank, pillar_id="scenario")
    analyst = UserFactory(username="trace_analyst")
    Membership.objects.create(user=analyst, bank=bank, role="analyst")
    api = APIClient()
    api.force_authenticate(analyst)
    sent = "trace-7f3a9c2e1b"

    response = api.post(
        f"/api/v1/initiatives/{initiative.pk}/score/", {}, format="json", HTTP_X_REQUEST_ID=sent
    )
    assert response.status_code == 202, response.content
    assert response["X-Request-ID"] == sent
    assert response.json()["request_id"] == sent
    job = ScoreJob.objects.get(pk=response.json()["id"])
    assert job.request_id == sent and job.status == JobStatus.QUEUED

    Initiative.objects.filter(pk=initiative.pk).delete()  # gone before any worker runs the job
    worker = workers(LOG_FORMAT="json")
    wait_for(
        lambda: ScoreJob.objects.filter(pk=job.pk, status=JobStatus.FAILED).exists(),
        60,
        message="the job fails",
    )
    job.refresh_from_db()
    assert job.request_id == sent and "not found" in job.error
    assert api.get(f"/api/v1/score-jobs/{job.pk}/").json()["request_id"] == sent

    def task_lines():
        records = []
        for line in worker.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("request_id") == sent:
                    records.append(record)
        succeeded = any(
            "scoring.score_job_run" in r["message"] and "succeeded" in r["message"] for r in records
        )
        return records if succeeded else None

    records = wait_for(task_lines, 10, message=f"the worker's log lines with request_id {sent}")
    messages = [r["message"] for r in records]
    assert f"score job {job.pk}: 0 chunk(s) to score" in messages, messages
    assert all({"time", "level", "logger", "request_id", "message"} <= set(r) for r in records)
    # Lines of other tasks (the publishing re-scores, asked for outside any request) carry other ids.
    other = [
        json.loads(line)
        for line in worker.log.read_text(errors="replace").splitlines()
        if line.startswith("{") and "succeeded in" in line
    ]
    assert any(r["request_id"] not in (sent, None) for r in other)


def worker_records(worker, request_id: str) -> list[dict]:
    records = []
    for line in worker.log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("request_id") == request_id:
                records.append(record)
    return records


@pytest.mark.services
@pytest.mark.slow
def test_a_job_sent_again_by_the_sweeper_still_logs_under_its_requests_id(taxonomy, private_broker, workers):
    """The broker was down when the request came (the job stayed queued, never sent); the sweeper sends it later,
    from a task or command with an id of its own — the worker's lines still carry the id of the request."""
    import datetime

    from django.utils import timezone

    from config.ops.request_id import forget_request_id
    from scoring.services.jobs import score_jobs_sweep

    rubrics_load(versions={1})
    initiative = InitiativeFactory(bank=BankFactory(code="swept-bank"), pillar_id="scenario")
    sent = "swept-0c9e41"
    job = ScoreJob.objects.create(
        bank=initiative.bank, initiative_ids=[initiative.pk], total=1, pillar="", request_id=sent
    )
    ScoreJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=1))
    worker = workers(LOG_FORMAT="json")

    forget_request_id()
    assert score_jobs_sweep() >= 1
    wait_for(
        lambda: ScoreJob.objects.filter(pk=job.pk, status=JobStatus.SUCCEEDED).exists(),
        60,
        message="the swept job succeeds",
    )
    messages = wait_for(
        lambda: [r["message"] for r in worker_records(worker, sent)] or None, 10, message="its lines"
    )
    assert f"score job {job.pk}: 1 chunk(s) to score" in messages, messages
    assert current_request_id() == ""  # the sweeper's caller is left as it was
