"""Races through real concurrent HTTP requests against gunicorn (four worker processes) on the test database.

- Two managers approve the same submitted assessment at the same instant: exactly one gets 200 and one score
  job; the other gets 409.
- A ratings PATCH and a submit of the same draft at the same instant: either the PATCH lands before the submit
  (both 200) or it is refused (409) — a submitted assessment's ratings never change afterwards.

Each race runs many rounds, the two requests released together by a barrier; before the assessment's row lock
they failed in most rounds (both approvals passed; a late rating changed the submitted assessment).
"""

from __future__ import annotations

import threading

import pytest
import requests
from rest_framework.authtoken.models import Token

from scoring.choices import AssessmentStatus, JobKind
from scoring.models import Assessment, Rating, ScoreJob
from scoring.services.assessments import assessment_create, assessment_set_ratings, assessment_submit
from scoring.services.rubrics import rubrics_load
from tests.factories import InitiativeFactory, MembershipFactory, UserFactory
from tests.processes import GunicornProcess, service_env

pytestmark = [pytest.mark.services, pytest.mark.slow]

ROUNDS = 12


@pytest.fixture
def server(transactional_db, tmp_path):
    import os

    env = service_env(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    gunicorn = GunicornProcess(env, tmp_path / "gunicorn.log").start()
    try:
        yield gunicorn
    finally:
        gunicorn.stop()


def _session(user) -> requests.Session:
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}", "Accept-Language": "en"}
    )
    return session


def _together(*calls):
    """Run the calls in threads released at one instant; their responses in order."""
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


@pytest.fixture
def bank_people(taxonomy):
    rubrics_load(versions={1})
    analyst, manager_1, manager_2 = UserFactory(), UserFactory(), UserFactory()
    initiative = InitiativeFactory(pillar_id="scenario")
    MembershipFactory(user=analyst, bank=initiative.bank, role="analyst")
    MembershipFactory(user=manager_1, bank=initiative.bank, role="manager")
    MembershipFactory(user=manager_2, bank=initiative.bank, role="manager")
    return initiative, analyst, manager_1, manager_2


def _rated_draft(initiative, analyst, value: int = 2) -> Assessment:
    assessment = assessment_create(user=analyst, initiative=initiative)
    criteria = assessment.rubric_version.criteria.filter(source="rated")
    assessment_set_ratings(
        user=analyst, assessment=assessment, ratings=[{"criterion": c.key, "value": value} for c in criteria]
    )
    return assessment


def test_two_concurrent_approvals_one_succeeds_the_other_gets_409(server, bank_people):
    initiative, analyst, manager_1, manager_2 = bank_people
    first, second = _session(manager_1), _session(manager_2)
    outcomes = []
    for _round in range(ROUNDS):
        assessment = _rated_draft(initiative, analyst)
        assessment_submit(user=analyst, assessment=assessment)
        url = f"{server.url}/api/v1/assessments/{assessment.pk}/approve/"
        a, b = _together(
            lambda url=url: first.post(url, timeout=30), lambda url=url: second.post(url, timeout=30)
        )
        codes = sorted([a.status_code, b.status_code])
        refused = a if a.status_code == 409 else b
        jobs = ScoreJob.objects.filter(kind=JobKind.APPROVAL, initiative_ids=[initiative.pk]).count()
        outcomes.append((codes, jobs))
        assert codes == [200, 409], (codes, a.text, b.text)
        assert refused.json()["error"]["code"] == "conflict"
        assert "Only a submitted assessment can be approved" in refused.json()["error"]["message"]
        assert Assessment.objects.get(pk=assessment.pk).status == AssessmentStatus.APPROVED
    # One approval job per round: never two for the same assessment.
    assert [jobs for _codes, jobs in outcomes] == list(range(1, ROUNDS + 1))


def test_a_ratings_patch_racing_a_submit_never_changes_the_submitted_assessment(server, bank_people):
    initiative, analyst, _m1, _m2 = bank_people
    patcher, submitter = _session(analyst), _session(analyst)
    landed_before = refused = 0
    for round_number in range(ROUNDS):
        assessment = _rated_draft(initiative, analyst, value=2)
        base = f"{server.url}/api/v1/assessments/{assessment.pk}/"
        late = {
            "ratings": [{"criterion": "acquisition_cost", "value": 4, "rationale": f"late {round_number}"}]
        }
        patch, submit = _together(
            lambda base=base, late=late: patcher.patch(base + "ratings/", json=late, timeout=30),
            lambda base=base: submitter.post(base + "submit/", timeout=30),
        )
        assert submit.status_code == 200, submit.text
        assert patch.status_code in (200, 409), patch.text
        rating = Rating.objects.get(assessment=assessment, criterion__key="acquisition_cost")
        submitted_at = Assessment.objects.get(pk=assessment.pk).submitted_at
        changed_after = rating.history.filter(history_date__gt=submitted_at).exists()
        assert not changed_after, f"round {round_number}: a rating changed after the submit"
        if patch.status_code == 200:
            landed_before += 1
            assert rating.value == 4  # it landed, before the submit
        else:
            refused += 1
            assert rating.value == 2 and "frozen" in patch.json()["error"]["message"]
    assert landed_before + refused == ROUNDS
