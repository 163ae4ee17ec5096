"""An integrator's client, written from the API contract (BRIEF §5) alone, against a live server and a real worker.

Plain ``requests`` over HTTP to ``live_server`` — no Django test client — with a Celery worker subprocess on the
test database and a private Redis. The client signs in for a token, records a data-sharing initiative with
Tencent as lead partner, asks for a score (202 + Location, polled until it succeeds), then has an assessment
rated, submitted and approved by a manager (four eyes), which re-scores it; it reads the score history with its
breakdown and the initiative's current score.
"""

from __future__ import annotations

import time

import pytest
import requests
from django_otp.plugins.otp_totp.models import TOTPDevice

from partnerships.services.seed import seed_reference_data
from partnerships.signon.services.second_factor import totp_code_for
from scoring.choices import JobStatus
from scoring.services.rubrics import rubrics_load
from tests.factories import BankFactory, MembershipFactory, UserFactory
from tests.processes import wait_for
from tests.scoring.conftest import private_broker, workers  # noqa: F401  (fixtures for this module)

pytestmark = [pytest.mark.services, pytest.mark.slow]

PASSWORD = "pw-for-tests-only"  # tests.factories.UserFactory's
TITLE = "腾讯联合数据共享消费金融平台"
POLL_TIMEOUT = 60.0
CURRENT_SCORE_KEYS = {
    "total",
    "tier",
    "gate_passed",
    "provisional",
    "confidence",
    "rubric_version",
    "computed_at",
}
ROW_KEYS = {"key", "name", "weight", "rating", "normalised", "contribution", "source", "rationale", "data"}


class Client:
    """What an integrator would write: a base URL, a token header, JSON in and out."""

    def __init__(self, base_url: str, language: str = "en"):
        self.base = f"{base_url}/api/v1/"
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "Accept-Language": language})

    def sign_in(self, username: str, password: str, otp_token: str | None = None) -> str:
        body = {"username": username, "password": password, **({"otp_token": otp_token} if otp_token else {})}
        response = self.session.post(self.base + "auth/token/", json=body, timeout=10)
        assert response.status_code == 200, response.text
        token = response.json()["token"]
        self.session.headers["Authorization"] = f"Token {token}"
        return token

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.url(path), timeout=10, **kwargs)

    def post(self, path: str, body: dict | None = None) -> requests.Response:
        return self.session.post(self.url(path), json=body if body is not None else {}, timeout=10)

    def wait_for_job(self, location: str, timeout: float = POLL_TIMEOUT) -> dict:
        """Poll a score job's Location until it has finished; its last state."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(location)
            assert response.status_code == 200, response.text
            job = response.json()
            assert job["status"] in ("queued", "running", "succeeded", "failed"), job
            if job["status"] in ("succeeded", "failed"):
                return job
            assert time.monotonic() < deadline, f"job still {job['status']} after {timeout} s: {job}"
            time.sleep(0.25)


def _rubrics_published_and_settled() -> None:
    """Publish the default rubrics and wait for their (empty) re-score jobs, so they don't race the test."""
    for job in rubrics_load(versions={1}).jobs:
        if job is None:
            continue

        def finished(job=job):
            job.refresh_from_db()
            return job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

        wait_for(finished, 60, message=f"rubric publish job {job.pk}")


def _check_breakdown(score: dict, criteria: dict[str, dict]) -> dict[str, dict]:
    """Check a score against the contract's method (BRIEF §4) from its own rows; the rows by key."""
    rows = {row["key"]: row for row in score["breakdown"]}
    assert set(rows) == set(criteria), "one row per criterion of the version"
    for row in score["breakdown"]:
        assert ROW_KEYS <= set(row), row
        assert row["source"] in ("rated", "computed")
        assert row["weight"] == pytest.approx(float(criteria[row["key"]]["weight"]))
    weights = sum(row["weight"] for row in rows.values())
    for row in rows.values():
        if row["rating"] is None:
            assert row["contribution"] == 0, "an unrated criterion contributes 0"
        else:
            assert row["contribution"] == pytest.approx(
                100 * row["weight"] * row["normalised"] / weights, abs=0.01
            )
    assert score["total"] == pytest.approx(sum(r["contribution"] for r in rows.values()), abs=0.06)
    rated = sum(row["weight"] for row in rows.values() if row["rating"] is not None)
    assert score["confidence"] == pytest.approx(rated / weights, abs=0.001)
    assert score["provisional"] is (score["confidence"] < 0.7)
    failed = [row["key"] for row in rows.values() if row.get("is_gate") and not row.get("gate_passed")]
    assert sorted(g["key"] for g in score["failed_gates"]) == sorted(failed)
    assert score["gate_passed"] is (not failed)
    expected_tier = "D"
    if not failed:
        expected_tier = next(
            (tier for tier, floor in (("A", 75), ("B", 60), ("C", 45)) if score["total"] >= floor), "D"
        )
    assert score["tier"] == expected_tier, score
    return rows


def test_an_integrator_records_scores_and_reads_an_initiative(live_server, workers):  # noqa: F811
    workers()
    seed_reference_data()
    _rubrics_published_and_settled()
    bank = BankFactory(code="flow-bank", name_zh_hans="流程银行", name_en="Flow Bank")
    analyst = UserFactory(username="flow_analyst")
    manager = UserFactory(username="flow_manager")
    MembershipFactory(user=analyst, bank=bank, role="analyst")
    MembershipFactory(user=manager, bank=bank, role="manager")

    api = Client(live_server.url)
    api.sign_in("flow_analyst", PASSWORD)

    # --- Record a data-sharing initiative, Tencent as lead partner ---------------------------------------
    created = api.post(
        "initiatives/",
        {
            "bank": bank.pk,
            # Not in BRIEF §5 (nor §3), but the API requires it (400 "code: This field is required."):
            # the bank's own reference for the initiative, unique within the bank.
            "code": "DS-TX-01",
            "title": TITLE,
            "description": "与腾讯共建客户数据共享平台,智能匹配消费金融需求。",
            "pillar": "data_sharing",
            "partners": [{"partner": "tencent", "role": "lead"}],
            "personal_data_categories": ["identity", "transaction"],
            "lawful_basis": "separate_consent",
            "security_assessment_done": True,
            "cross_border_transfer": False,
        },
    )
    assert created.status_code == 201, created.text
    initiative = created.json()
    assert created.headers["Location"].endswith(f"/api/v1/initiatives/{initiative['id']}/")
    assert initiative["title"] == TITLE and initiative["pillar"] == "data_sharing"
    assert initiative["status"] == "idea" and initiative["bank"] == bank.pk
    assert [(p["partner"], p["role"]) for p in initiative["partners"]] == [("tencent", "lead")]
    assert initiative["partners"][0]["partner_name"]
    assert initiative["current_score"] is None
    iid = initiative["id"]

    listed = api.get(
        "initiatives/", params={"pillar": "data_sharing", "partner": "tencent", "search": "腾讯联合"}
    )
    assert listed.status_code == 200 and [row["id"] for row in listed.json()["results"]] == [iid]

    # The published rubric version of the pillar, with its criteria.
    versions = api.get("rubric-versions/", params={"pillar": "data_sharing", "status": "published"}).json()
    assert versions["count"] == 1
    version = versions["results"][0]
    criteria = {c["key"]: c for c in version["criteria"]}
    assert criteria["data_protection"]["is_gate"] and criteria["data_protection"]["source"] == "computed"

    # --- Ask for a score at once: 202 + Location, polled until it succeeds ---------------------------------
    asked = api.post(f"initiatives/{iid}/score/")
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] in ("queued", "running", "succeeded")
    job = api.wait_for_job(asked.headers["Location"])
    assert job["status"] == "succeeded", job
    assert job["done"] == 1 and job["failed"] == 0 and job["scores_created"] == 1
    assert [s["initiative"] for s in job["scores"]] == [iid]

    history = api.get(f"initiatives/{iid}/scores/")
    assert history.status_code == 200, history.text
    first = history.json()["results"]
    assert len(first) == 1
    unrated = first[0]
    rows = _check_breakdown(unrated, criteria)
    # Nothing rated yet: only the computed criteria count, so the rated gate (if any) fails as "unrated".
    assert unrated["assessment"] is None and unrated["rubric_version"] == version["id"]
    assert all(row["rating"] is None for row in rows.values() if row["source"] == "rated")
    rated_gates = sorted(k for k, c in criteria.items() if c["is_gate"] and c["source"] == "rated")
    assert rated_gates, "the default rubric has a rated gate (compliance readiness)"
    assert sorted(g["key"] for g in unrated["failed_gates"]) == rated_gates
    assert {g["reason"] for g in unrated["failed_gates"]} == {"unrated"}
    assert unrated["gate_passed"] is False and unrated["tier"] == "D"
    assert unrated["provisional"] is True
    gate = rows["data_protection"]
    assert gate["source"] == "computed" and gate["is_gate"] is True
    assert gate["rating"] == 4.0 and gate["gate_passed"] is True
    assert gate["gate_threshold"] == pytest.approx(float(criteria["data_protection"]["gate_threshold"]))
    assert gate["data"]["lawful_basis"] == "separate_consent"
    assert gate["data"]["personal_data_categories"] == ["identity", "transaction"]
    assert gate["data"]["security_assessment_done"] is True
    assert gate["rationale"]
    assert (
        "腾讯" in rows["partner_strength"]["rationale"] or "Tencent" in rows["partner_strength"]["rationale"]
    )

    # --- An assessment rated by the analyst, approved by the manager (four eyes), re-scores it -------------
    rated = {key: min(3, c["scale_max"]) for key, c in criteria.items() if c["source"] == "rated"}
    assessment = api.post("assessments/", {"initiative": iid, "ratings": rated, "note": "试点评估"})
    assert assessment.status_code == 201, assessment.text
    aid = assessment.json()["id"]
    assert assessment.json()["status"] == "draft"
    assert {r["criterion"]: r["value"] for r in assessment.json()["ratings"]} == pytest.approx(rated)
    submitted = api.post(f"assessments/{aid}/submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted", submitted.text
    refused = api.post(f"assessments/{aid}/approve/")
    assert refused.status_code == 403, refused.text  # the analyst is no manager, and is the author

    boss = Client(live_server.url)
    # A manager with a local password gives the code of the authenticator they set up (partnerships.signon).
    device = TOTPDevice.objects.create(user=manager, name="authenticator", confirmed=True)
    boss.sign_in("flow_manager", PASSWORD, otp_token=totp_code_for(device))
    approved = boss.post(f"assessments/{aid}/approve/")
    assert approved.status_code == 200, approved.text
    assert approved.json()["assessment"]["status"] == "approved"
    assert approved.json()["assessment"]["approved_by"] == "flow_manager"
    job = boss.wait_for_job(approved.headers["Location"])
    assert job["status"] == "succeeded" and job["scores_created"] == 1, job

    # --- Score history, newest first, with the breakdown ----------------------------------------------------
    history = api.get(f"initiatives/{iid}/scores/").json()
    assert history["count"] == 2
    latest, earlier = history["results"]
    assert earlier["id"] == unrated["id"] and latest["computed_at"] >= earlier["computed_at"]
    rows = _check_breakdown(latest, criteria)
    assert latest["assessment"] == aid and latest["assessment_status"] == "approved"
    assert latest["gate_passed"] is True and latest["failed_gates"] == []
    # Exit readiness is capped by the contract register (docs/lifecycle.md): no contract recorded → at most 0,
    # whatever the rater said; the rater's own rating and the reason stay in the row's data.
    exit_row = rows.pop("exit_readiness")
    assert exit_row["rating"] == 0.0 and exit_row["data"]["cap"] == 0, exit_row
    assert exit_row["data"]["rated"] == rated["exit_readiness"] and exit_row["data"]["cap_reasons"]
    assert all(rows[key]["rating"] == value for key, value in rated.items() if key != "exit_readiness")
    assert rows["data_protection"]["gate_passed"] is True
    assert latest["total"] > unrated["total"] and latest["confidence"] > unrated["confidence"]

    # The same history in Chinese: the criterion names follow the request's language.
    chinese = Client(live_server.url, language="zh-hans")
    chinese.session.headers["Authorization"] = api.session.headers["Authorization"]
    names = {
        r["key"]: r["name"]
        for r in chinese.get(f"initiatives/{iid}/scores/").json()["results"][0]["breakdown"]
    }
    assert (
        names["data_protection"]
        == rows["data_protection"]["name_zh_hans"]
        != rows["data_protection"]["name_en"]
    )

    # --- The initiative carries its current score ------------------------------------------------------------
    detail = api.get(f"initiatives/{iid}/")
    assert detail.status_code == 200
    current = detail.json()["current_score"]
    assert CURRENT_SCORE_KEYS <= set(current)
    assert current["total"] == latest["total"] and current["tier"] == latest["tier"]
    assert current["gate_passed"] is True and current["provisional"] is latest["provisional"]
    assert current["confidence"] == pytest.approx(latest["confidence"])
    assert current["rubric_version"] == version["id"] and current["computed_at"] == latest["computed_at"]

    # The list filters by the current score too.
    tiers = api.get("initiatives/", params={"tier": current["tier"], "min_score": current["total"]}).json()
    assert iid in [row["id"] for row in tiers["results"]]
