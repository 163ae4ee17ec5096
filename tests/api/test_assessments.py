"""Assessments over the API: drafts, ratings through the service, submit, four-eyes approval, tenancy of writes."""

from __future__ import annotations

import pytest

from scoring.choices import AssessmentStatus, JobStatus
from scoring.models import Assessment, Rating, ScoreJob
from tests.api.conftest import API, published_version
from tests.factories import InitiativeFactory, MembershipFactory

pytestmark = pytest.mark.django_db

URL = f"{API}assessments/"


def test_analyst_starts_a_draft_with_first_ratings_as_a_mapping(world, client_as):
    response = client_as(world.user("analyst")).post(
        URL,
        {
            "initiative": world.initiatives["A"].pk,
            "note": "首轮评估 🚀",
            "ratings": {"acquisition_cost": 3, "compliance_readiness": 2.5, "exit_readiness": None},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"].endswith(f"{URL}{body['id']}/")
    assert body["status"] == "draft" and body["author"] == "analyst_a" and body["note"] == "首轮评估 🚀"
    assert body["rubric_version"] == published_version("scenario").pk
    ratings = {r["criterion"]: r["value"] for r in body["ratings"]}
    assert ratings == {"acquisition_cost": 3.0, "compliance_readiness": 2.5, "exit_readiness": None}


def test_ratings_are_upserted_as_a_list_and_read_back(draft, world, client_as):
    client = client_as(world.user("analyst"))
    url = f"{URL}{draft.pk}/ratings/"
    response = client.patch(
        url,
        {"ratings": [{"criterion": "acquisition_cost", "value": 1, "rationale": "试点前估算"}]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    rows = {r["criterion"]: r for r in response.json()}
    assert rows["acquisition_cost"]["value"] == 1.0 and rows["acquisition_cost"]["rationale"] == "试点前估算"
    assert rows["exit_readiness"]["value"] == 3.0  # not sent: unchanged
    assert client.get(url).json() == response.json()
    put = client.put(url, {"ratings": {"exit_readiness": None}}, format="json")
    assert put.status_code == 200
    assert {r["criterion"]: r["value"] for r in put.json()}["exit_readiness"] is None


@pytest.mark.parametrize(
    "ratings",
    [
        [{"criterion": "no_such_criterion", "value": 2}],
        [{"criterion": "acquisition_cost", "value": 9}],
        [{"criterion": "acquisition_cost", "value": -1}],
        [{"criterion": "partner_strength", "value": 2}],  # computed from data, cannot be rated
    ],
)
def test_bad_ratings_are_refused_naming_the_item(draft, world, client_as, ratings):
    response = client_as(world.user("analyst")).put(
        f"{URL}{draft.pk}/ratings/", {"ratings": ratings}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["ratings[0]"]


@pytest.mark.parametrize(
    "ratings",
    [
        [{"criterion": "acquisition_cost", "value": "three"}],
        [{"criterion": "acquisition_cost", "value": True}],
        [{"value": 2}],
        ["acquisition_cost"],
        "acquisition_cost=3",
    ],
)
def test_malformed_ratings_are_a_400(draft, world, client_as, ratings):
    response = client_as(world.user("analyst")).put(
        f"{URL}{draft.pk}/ratings/", {"ratings": ratings}, format="json"
    )
    assert response.status_code == 400
    assert all(key.startswith("ratings") for key in response.json()["error"]["fields"])


def test_submit_then_no_more_changes(draft, world, client_as):
    client = client_as(world.user("analyst"))
    submitted = client.post(f"{URL}{draft.pk}/submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    again = client.post(f"{URL}{draft.pk}/submit/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    rate = client.put(f"{URL}{draft.pk}/ratings/", {"ratings": {"acquisition_cost": 1}}, format="json")
    assert rate.status_code == 409


def test_a_manager_approves_and_the_initiative_is_rescored(submitted, world, client_as):
    response = client_as(world.user("manager")).post(f"{URL}{submitted.pk}/approve/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["assessment"]["status"] == "approved" and body["assessment"]["approved_by"] == "manager_a"
    job = ScoreJob.objects.get(pk=body["score_job"]["id"])
    assert job.status == JobStatus.QUEUED and job.initiative_ids == [world.initiatives["A"].pk]
    assert response["Location"].endswith(f"/api/v1/score-jobs/{job.pk}/")


def test_the_author_cannot_approve_their_own_assessment(world, client_as):
    manager = world.user("manager")
    client = client_as(manager)
    created = client.post(
        URL,
        {
            "initiative": world.initiatives["A"].pk,
            "ratings": {"acquisition_cost": 2, "compliance_readiness": 2},
        },
        format="json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert client.post(f"{URL}{pk}/submit/").status_code == 200
    response = client.post(f"{URL}{pk}/approve/")
    assert response.status_code == 403
    assert "four eyes" in response.json()["error"]["message"]
    assert Assessment.objects.get(pk=pk).status == AssessmentStatus.SUBMITTED


def test_an_analyst_cannot_approve(submitted, world, client_as):
    response = client_as(world.user("analyst")).post(f"{URL}{submitted.pk}/approve/")
    assert response.status_code == 403
    assert "manager" in response.json()["error"]["message"]


def test_only_a_submitted_assessment_is_approved(draft, world, client_as):
    assert client_as(world.user("manager")).post(f"{URL}{draft.pk}/approve/").status_code == 409


def test_an_assessment_of_another_bank_cannot_be_reached_or_rated(draft, world, client_as):
    client = client_as(world.user("other"))
    before = list(Rating.objects.filter(assessment=draft).values_list("id", "value"))
    assert client.get(f"{URL}{draft.pk}/").status_code == 404
    assert (
        client.put(
            f"{URL}{draft.pk}/ratings/", {"ratings": {"acquisition_cost": 0}}, format="json"
        ).status_code
        == 404
    )
    assert client.post(f"{URL}{draft.pk}/submit/").status_code == 404
    assert list(Rating.objects.filter(assessment=draft).values_list("id", "value")) == before
    assert client.get(URL).json()["count"] == 0


def test_a_draft_cannot_point_at_another_banks_initiative(world, client_as):
    client = client_as(world.user("other"))  # manager of bank B
    foreign = client.post(URL, {"initiative": world.initiatives["A"].pk}, format="json")
    missing = client.post(URL, {"initiative": 10**9}, format="json")
    assert foreign.status_code == missing.status_code == 400
    assert list(foreign.json()["error"]["fields"]) == ["initiative"]
    assert foreign.json()["error"]["fields"]["initiative"][0].replace(
        str(world.initiatives["A"].pk), "X"
    ) == (missing.json()["error"]["fields"]["initiative"][0].replace(str(10**9), "X"))


def test_a_viewer_of_the_bank_is_told_the_role_is_missing(world, client_as):
    viewer = world.user("viewer")
    MembershipFactory(user=viewer, bank=world.banks["B"], role="analyst")
    response = client_as(viewer).post(URL, {"initiative": world.initiatives["A"].pk}, format="json")
    assert response.status_code == 400
    assert "analyst" in response.json()["error"]["fields"]["initiative"][0]


def test_rubric_version_must_fit_the_initiatives_pillar(world, client_as):
    response = client_as(world.user("analyst")).post(
        URL,
        {"initiative": world.initiatives["A"].pk, "rubric_version": published_version("smart_banking").pk},
        format="json",
    )
    assert response.status_code == 400 and "rubric_version" in response.json()["error"]["fields"]


def test_list_filters(draft, submitted, world, client_as):
    other = InitiativeFactory(bank=world.banks["A"], code="a9", pillar_id="scenario")
    client = client_as(world.user("viewer"))
    assert client.get(f"{URL}?initiative={other.pk}").json()["count"] == 0
    assert client.get(f"{URL}?status=submitted").json()["count"] == 1
    assert client.get(f"{URL}?status=approved").json()["count"] == 0
    assert client.get(f"{URL}?initiative=abc").status_code == 400
