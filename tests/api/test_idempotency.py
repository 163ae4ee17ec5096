"""Idempotency-Key on POST initiatives/, POST initiatives/{id}/score/ and POST score-jobs/ (issue 16).

A retry with the same key and body replays the first answer and writes nothing more; another body is 422; another
user's key is independent; a malformed key is 400; an expired record frees the key; a request racing one with the
same key is 409 (a second database connection holds the key's lock) — and with real concurrent requests against
gunicorn exactly one of two writes. No header: nothing changes.
"""

from __future__ import annotations

import datetime
import threading

import psycopg
import pytest
import requests
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from partnerships.models import IdempotencyRecord, Initiative
from partnerships.services.idempotency import _lock_id, idempotency_records_purge
from partnerships.tasks import purge_idempotency_records_task
from scoring.models import ScoreJob
from tests.api.conftest import API
from tests.api.test_initiatives import payload
from tests.factories import InitiativeFactory, MembershipFactory, UserFactory
from tests.processes import GunicornProcess, service_env

pytestmark = pytest.mark.django_db

KEY = "6f1c2e0a-3b1d-4c4e-9a57-2f0d8e5b7c11"


def _score(client, initiative, key: str | None = KEY, body: dict | None = None):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(f"{API}initiatives/{initiative.pk}/score/", body or {}, format="json", **headers)


def _score_jobs(client, ids: list[int], key: str | None = KEY):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(f"{API}score-jobs/", {"initiatives": ids}, format="json", **headers)


def _create(client, data: dict, key: str | None = KEY):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(f"{API}initiatives/", data, format="json", **headers)


def _assert_replay(first, second):
    assert second.status_code == first.status_code
    assert second.content == first.content  # the same bytes, not only the same meaning
    assert second.get("Location") == first.get("Location")
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")


# --- Replays ---------------------------------------------------------------------------------------------
def test_a_retried_score_request_replays_the_job_and_queues_no_second_one(world, client_as):
    client, a1 = client_as(world.user("analyst")), world.initiatives["A"]
    jobs = ScoreJob.objects.count()
    first = _score(client, a1)
    assert first.status_code == 202, first.json()
    second = _score(client, a1)
    _assert_replay(first, second)
    assert ScoreJob.objects.count() == jobs + 1
    assert IdempotencyRecord.objects.filter(user=world.user("analyst"), key=KEY).count() == 1


def test_a_retried_score_jobs_request_replays_and_writes_nothing_more(world, client_as):
    client, a1 = client_as(world.user("analyst")), world.initiatives["A"]
    jobs = ScoreJob.objects.count()
    first = _score_jobs(client, [a1.pk])
    assert first.status_code == 202, first.json()
    second = _score_jobs(client, [a1.pk])
    _assert_replay(first, second)
    assert ScoreJob.objects.count() == jobs + 1


def test_a_retried_create_returns_the_same_initiative_and_creates_no_second(world, client_as):
    client = client_as(world.user("analyst"))
    first = _create(client, payload(world))
    assert first.status_code == 201, first.json()
    second = _create(client, payload(world))
    _assert_replay(first, second)
    assert Initiative.objects.filter(bank=world.banks["A"], code="pay-2024-01").count() == 1
    # Without the key the same body is a second request, which the code's uniqueness refuses.
    assert _create(client, payload(world), key=None).status_code == 400


def test_the_same_data_in_another_key_order_is_the_same_request(world, client_as):
    client = client_as(world.user("analyst"))
    data = payload(world)
    assert _create(client, data).status_code == 201
    again = _create(client, dict(reversed(list(data.items()))))
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"


def test_a_refusal_is_stored_and_replayed_too(world, client_as):
    client = client_as(world.user("analyst"))
    bad = payload(world, title="")
    first = _create(client, bad)
    assert first.status_code == 400 and "title" in first.json()["error"]["fields"]
    # The refusal rolled the operation back, but its record stays.
    assert IdempotencyRecord.objects.get(key=KEY).status_code == 400
    _assert_replay(first, _create(client, bad))
    # A corrected body is a new request: it needs a new key.
    assert _create(client, payload(world)).status_code == 422
    assert _create(client, payload(world), key="corrected").status_code == 201


def test_a_server_error_is_not_stored_and_a_retry_runs_again(world, client_as, monkeypatch):
    import scoring.api.views

    client, a1 = client_as(world.user("analyst")), world.initiatives["A"]

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patch:
        patch.setattr(scoring.api.views, "score_job_request", broken)
        assert _score(client, a1).status_code == 500
    assert not IdempotencyRecord.objects.exists()
    retry = _score(client, a1)
    assert retry.status_code == 202 and not retry.has_header("Idempotent-Replayed")


# --- Refusals --------------------------------------------------------------------------------------------
def test_the_same_key_with_another_body_is_422_and_writes_nothing(world, client_as):
    client, a1 = client_as(world.user("analyst")), world.initiatives["A"]
    a2 = InitiativeFactory(bank=world.banks["A"], pillar_id="scenario")
    assert _score_jobs(client, [a1.pk]).status_code == 202
    jobs = ScoreJob.objects.count()
    response = _score_jobs(client, [a1.pk, a2.pk])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["status"] == 422 and error["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in error["message"]
    assert error["extra"] == {"method": "POST", "path": "/api/v1/score-jobs/"}
    assert ScoreJob.objects.count() == jobs


def test_the_same_key_on_another_path_is_422(world, client_as):
    client, a1 = client_as(world.user("analyst")), world.initiatives["A"]
    a2 = InitiativeFactory(bank=world.banks["A"], pillar_id="scenario")
    assert _score(client, a1).status_code == 202
    jobs = ScoreJob.objects.count()
    assert _score(client, a2).status_code == 422
    assert _score_jobs(client, [a1.pk]).status_code == 422
    assert ScoreJob.objects.count() == jobs


@pytest.mark.parametrize("key", ["", "x" * 256, "clé", "tab\there", "with space", "line\x7f"])
def test_a_malformed_key_is_400_naming_the_header(world, client_as, key):
    client, a1 = client_as(world.user("analyst")), world.initiatives["A"]
    jobs = ScoreJob.objects.count()
    response = _score(client, a1, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert ScoreJob.objects.count() == jobs and not IdempotencyRecord.objects.exists()


def test_the_longest_and_oddest_visible_keys_are_accepted(world, client_as):
    client, a1 = client_as(world.user("analyst")), world.initiatives["A"]
    for key in ("k" * 255, "~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"):
        assert _score(client, a1, key=key).status_code == 202
        assert _score(client, a1, key=key)["Idempotent-Replayed"] == "true"


# --- Scope, expiry, no header ----------------------------------------------------------------------------
def test_another_users_same_key_is_independent(world, client_as):
    a1, b1 = world.initiatives["A"], world.initiatives["B"]
    mine = _score(client_as(world.user("analyst")), a1)
    theirs = _score(client_as(world.user("other_analyst")), b1)
    assert mine.status_code == theirs.status_code == 202
    assert not theirs.has_header("Idempotent-Replayed")
    assert mine.json()["id"] != theirs.json()["id"]
    # Another analyst of the same bank, same key, path and body: still independent of the first user's.
    colleague = UserFactory()
    MembershipFactory(user=colleague, bank=world.banks["A"], role="analyst")
    again = _score(client_as(colleague), a1)
    assert again.status_code == 202 and not again.has_header("Idempotent-Replayed")
    assert IdempotencyRecord.objects.filter(key=KEY).count() == 3


def test_an_expired_key_runs_the_request_again(world, client_as, settings):
    client, a1 = client_as(world.user("analyst")), world.initiatives["A"]
    first = _score(client, a1)
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=23, minutes=59))
    assert _score(client, a1)["Idempotent-Replayed"] == "true"
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=24, seconds=1))
    later = _score(client, a1)
    assert later.status_code == 202 and not later.has_header("Idempotent-Replayed")
    assert later.json()["id"] != first.json()["id"]
    assert IdempotencyRecord.objects.get().created_at > timezone.now() - datetime.timedelta(minutes=1)
    # The TTL is a setting.
    settings.IDEMPOTENCY_TTL_HOURS = 1
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=2))
    assert not _score(client, a1).has_header("Idempotent-Replayed")


def test_the_purge_deletes_only_expired_records(world, client_as):
    client, a1 = client_as(world.user("analyst")), world.initiatives["A"]
    _score(client, a1, key="old")
    _score(client, a1, key="new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - datetime.timedelta(hours=25)
    )
    assert purge_idempotency_records_task() == 1  # the beat task's body, run here
    assert idempotency_records_purge() == 0
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_the_purge_is_scheduled_daily_by_beat():
    # Run the migration's function again (idempotent): a transactional test earlier in the session flushes the
    # rows the migrations wrote.
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    migration = importlib.import_module("partnerships.migrations.0009_idempotency_records")
    migration.create_schedule(apps, None)
    migration.create_schedule(apps, None)
    task = PeriodicTask.objects.get(task="partnerships.purge_idempotency_records")
    assert task.enabled
    assert (task.crontab.hour, task.crontab.minute, str(task.crontab.timezone)) == (
        "3",
        "30",
        "Asia/Shanghai",
    )
    assert purge_idempotency_records_task.name == task.task


def test_without_the_header_nothing_changes(world, client_as):
    client, a1 = client_as(world.user("analyst")), world.initiatives["A"]
    jobs = ScoreJob.objects.count()
    first, second = _score(client, a1, key=None), _score(client, a1, key=None)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] != second.json()["id"]
    assert not second.has_header("Idempotent-Replayed")
    assert ScoreJob.objects.count() == jobs + 2
    assert not IdempotencyRecord.objects.exists()


def test_the_schema_documents_the_header_and_its_answers(client):
    paths = client.get(f"{API}schema/?format=json", HTTP_ACCEPT_LANGUAGE="en").json()["paths"]
    for path in ("/api/v1/initiatives/", "/api/v1/initiatives/{id}/score/", "/api/v1/score-jobs/"):
        operation = paths[path]["post"]
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [(p["name"], p.get("required", False)) for p in headers] == [("Idempotency-Key", False)], path
        assert {"409", "422"} <= set(operation["responses"]), path
        assert "idempotency_key_reused" in operation["responses"]["422"]["description"]
        key_schema = headers[0]["schema"]
        assert (key_schema["minLength"], key_schema["maxLength"], key_schema["pattern"]) == (
            1,
            255,
            "^[!-~]+$",
        )
    assert not any(
        p["in"] == "header" for p in paths["/api/v1/initiatives/{id}/"]["put"].get("parameters", [])
    )


# --- Concurrency -----------------------------------------------------------------------------------------
def test_a_request_while_another_with_the_key_runs_is_409(world, client_as):
    """A second database connection holds the key's lock, as a first request still running would."""
    user, a1 = world.user("analyst"), world.initiatives["A"]
    settings_dict = connection.settings_dict
    other = psycopg.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        dbname=settings_dict["NAME"],
    )
    jobs = ScoreJob.objects.count()
    try:
        with other.transaction():
            other.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(user.pk, KEY)])
            busy = _score(client_as(user), a1)
        assert busy.status_code == 409
        assert busy.json()["error"]["code"] == "idempotency_key_in_progress"
        assert ScoreJob.objects.count() == jobs and not IdempotencyRecord.objects.exists()
        # The first request has ended (its lock is gone): the retry runs.
        assert _score(client_as(user), a1).status_code == 202
    finally:
        other.close()


def test_a_record_that_cannot_be_stored_takes_the_operations_writes_with_it(transactional_db, taxonomy):
    """Another connection stores a record for the key first (committing while the request runs): the request's
    own record fails on the unique constraint, and its job rolls back with it — never writes without a record."""
    from rest_framework.test import APIClient

    from scoring.services.rubrics import rubrics_load

    rubrics_load(versions={1})
    analyst = UserFactory()
    initiative = InitiativeFactory(pillar_id="scenario")
    MembershipFactory(user=analyst, bank=initiative.bank, role="analyst")
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=analyst)[0].key}")
    settings_dict = connection.settings_dict
    other = psycopg.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        dbname=settings_dict["NAME"],
    )
    other.execute(
        "INSERT INTO partnerships_idempotencyrecord (user_id, key, method, path, body_sha256, status_code, "
        "response_body, response_headers, created_at, completed_at) "
        "VALUES (%s, %s, 'POST', '/elsewhere/', '', 202, '{}', '{}', now(), now())",
        [analyst.pk, KEY],
    )  # uncommitted: the request does not see it, and its own insert waits for it
    committer = threading.Timer(1.0, other.commit)
    committer.start()
    jobs = ScoreJob.objects.count()
    try:
        response = _score(client, initiative)
    finally:
        committer.join()
        other.close()
    assert response.status_code == 409, response.json()
    assert response.json()["error"]["code"] == "idempotency_key_in_progress"
    assert ScoreJob.objects.count() == jobs
    assert IdempotencyRecord.objects.get().path == "/elsewhere/"


@pytest.fixture
def server(transactional_db, tmp_path):
    import os

    env = service_env(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    gunicorn = GunicornProcess(env, tmp_path / "gunicorn.log").start()
    try:
        yield gunicorn
    finally:
        gunicorn.stop()


def _together(*calls):
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.services
@pytest.mark.slow
def test_two_concurrent_requests_with_one_key_write_once(server, taxonomy):
    from scoring.services.rubrics import rubrics_load

    rubrics_load(versions={1})
    analyst = UserFactory()
    initiative = InitiativeFactory(pillar_id="scenario")
    MembershipFactory(user=analyst, bank=initiative.bank, role="analyst")
    token = Token.objects.get_or_create(user=analyst)[0].key
    sessions = [requests.Session() for _i in range(2)]
    for session in sessions:
        session.headers.update({"Authorization": f"Token {token}", "Accept-Language": "en"})
    url = f"{server.url}/api/v1/score-jobs/"
    for round_number in range(10):
        key = f"race-{round_number}"
        before = ScoreJob.objects.count()
        a, b = _together(
            *(
                lambda s=s, key=key: s.post(
                    url, json={"initiatives": [initiative.pk]}, headers={"Idempotency-Key": key}, timeout=30
                )
                for s in sessions
            )
        )
        assert ScoreJob.objects.count() == before + 1, (a.text, b.text)
        codes = sorted([a.status_code, b.status_code])
        assert codes in ([202, 202], [202, 409]), (codes, a.text, b.text)
        if codes == [202, 202]:
            assert a.json() == b.json()
            replayed = {a.headers.get("Idempotent-Replayed"), b.headers.get("Idempotent-Replayed")}
            assert replayed == {None, "true"}  # one ran; the other came after it had ended
        else:
            refused = a if a.status_code == 409 else b
            assert refused.json()["error"]["code"] == "idempotency_key_in_progress"
        # Once the first has ended, a retry replays the one job.
        retry = sessions[0].post(
            url, json={"initiatives": [initiative.pk]}, headers={"Idempotency-Key": key}, timeout=30
        )
        assert retry.status_code == 202 and retry.headers["Idempotent-Replayed"] == "true"
        assert ScoreJob.objects.count() == before + 1
