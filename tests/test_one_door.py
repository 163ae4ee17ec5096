"""One door for every rule: each rule, tried through every door that can express it, is refused the same way.

The doors are the admin's real add and change pages (posted with the Django test client), the REST API (a token
client, JSON or a multipart upload), a CSV import through the admin, and the ``score`` management command. For each rule the test asserts
that every door refuses, that each refusal carries the service's own message (in English here), and that nothing
was written. The rules: a rubric version of another pillar (assessing and scoring), the owner's membership,
scenario types of another pillar, status transitions, four eyes (author and rater), frozen ratings, ids of
another bank or of nothing, a KPI's unique name, one observation a date, and evidence file types.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partnerships.models import KPI, Evidence, Initiative, InitiativePartner, ScenarioType
from scoring.choices import AssessmentStatus, VersionStatus
from scoring.models import Assessment, Rating, RubricVersion, ScoreJob
from scoring.services.assessments import assessment_create, assessment_set_ratings, assessment_submit
from scoring.services.rubrics import rubrics_load
from tests.factories import (
    InitiativeFactory,
    KPIFactory,
    KPIObservationFactory,
    MembershipFactory,
    TechPartnerFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@dataclass
class Attempt:
    door: str
    refused: bool
    text: str  # every message the door showed, joined


# --- the doors -----------------------------------------------------------------------------------------------
def admin_client(user) -> Client:
    client = Client(**EN)
    client.force_login(user)
    return client


def api_client(user) -> APIClient:
    client = APIClient(**EN)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def api_attempt(response) -> Attempt:
    body = response.json() if response.get("Content-Type", "").startswith("application/json") else {}
    error = body.get("error", {})
    fields = error.get("fields") or {}
    text = " ".join([error.get("message", ""), *(m for ms in fields.values() for m in ms)])
    return Attempt("api", 400 <= response.status_code < 500, text)


def admin_form_attempt(response) -> Attempt:
    """A refused admin form re-renders (200) with its errors; a refused button redirects with an error message."""
    texts = []
    context = response.context or {}
    if "adminform" in context:
        form = context["adminform"].form
        texts += [str(m) for ms in form.errors.values() for m in ms]
        for formset in context.get("inline_admin_formsets", []):
            texts += [str(e) for e in formset.formset.non_form_errors()]
            texts += [str(m) for f in formset.formset.forms for ms in f.errors.values() for m in ms]
    texts += [str(m) for m in context.get("messages", []) if "error" in m.tags]
    refused = response.status_code == 200 and bool(texts)
    return Attempt("admin", refused, " ".join(texts))


def admin_message_attempt(client, response) -> Attempt:
    """An admin button or action: it redirects; the refusal is an error message on the next page."""
    page = client.get(response["Location"]) if response.status_code == 302 else response
    texts = [str(m) for m in page.context["messages"] if "error" in m.tags] if page.context else []
    return Attempt("admin", bool(texts), " ".join(texts))


def import_attempt(client, csv_text: str) -> Attempt:
    upload = SimpleUploadedFile("initiatives.csv", csv_text.encode("utf-8"), "text/csv")
    response = client.post(
        reverse("admin:partnerships_initiative_import"),
        {"resource": "0", "format": "0", "import_file": upload},
    )
    result = response.context["result"]
    texts = [m for row in result.invalid_rows for ms in row.error.message_dict.values() for m in ms]
    return Attempt(
        "import", result.has_validation_errors() and "confirm_form" not in response.context, " ".join(texts)
    )


def command_attempt(*args: str) -> Attempt:
    with translation.override("en"):
        try:
            call_command(*args, stdout=io.StringIO())
        except CommandError as exc:
            return Attempt("command", True, str(exc))
    return Attempt("command", False, "")


def refused_alike(attempts: list[Attempt], message: str, unchanged: Callable[[], bool]) -> None:
    for attempt in attempts:
        assert attempt.refused, f"{attempt.door} did not refuse"
        assert message in attempt.text, f"{attempt.door} said {attempt.text!r}, not {message!r}"
    assert unchanged(), "something was written"


# --- the world -----------------------------------------------------------------------------------------------
@pytest.fixture
def world(two_banks):
    rubrics_load(versions={1})
    banks, users = two_banks
    TechPartnerFactory(key="tencent")
    initiative = InitiativeFactory(
        bank=banks["A"], pillar_id="scenario", status="idea", owner=users[("A", "analyst")]
    )
    return banks, users, initiative


def version_of(pillar: str) -> RubricVersion:
    return RubricVersion.objects.get(rubric__pillar_id=pillar, status=VersionStatus.PUBLISHED)


def initiative_form(initiative: Initiative, **overrides) -> dict:
    data = {
        "bank": initiative.bank_id,
        "code": initiative.code,
        "title": initiative.title,
        "description": "",
        "status": initiative.status,
        "owner": initiative.owner_id or "",
        "pillar": initiative.pillar_id,
        "scenario_types": [str(pk) for pk in initiative.scenario_types.values_list("pk", flat=True)]
        if initiative.pk
        else [],
        "start_date": "",
        "end_date": "",
        "lawful_basis": "",
        "transfer_mechanism": "",
    }
    for prefix in ("partner_links", "data_categories", "kpis", "evidence"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def snapshot(initiative: Initiative) -> tuple:
    initiative = Initiative.objects.get(pk=initiative.pk)
    return (
        initiative.status,
        initiative.owner_id,
        initiative.pillar_id,
        sorted(initiative.scenario_types.values_list("key", flat=True)),
        initiative.updated_at,
    )


CSV_HEADER = "bank,code,title,pillar,scenario_types,partners,status\n"


# --- the rules -----------------------------------------------------------------------------------------------
def test_rule_assessment_rubric_of_another_pillar(world):
    _banks, users, initiative = world
    analyst = users[("A", "analyst")]
    other = version_of("data_sharing")
    message = "This rubric version is for another pillar than the initiative's."
    attempts = [
        api_attempt(
            api_client(analyst).post(
                "/api/v1/assessments/",
                {"initiative": initiative.pk, "rubric_version": other.pk},
                format="json",
            )
        ),
        admin_form_attempt(
            admin_client(analyst).post(
                reverse("admin:scoring_assessment_add"),
                {"initiative": initiative.pk, "rubric_version": other.pk, "note": ""},
            )
        ),
    ]
    refused_alike(attempts, message, lambda: not Assessment.objects.exists())


def test_rule_scoring_with_a_rubric_of_another_pillar(world):
    _banks, users, initiative = world
    analyst = users[("A", "analyst")]
    other = version_of("data_sharing")
    message = "not of this rubric version's pillar"
    client = api_client(analyst)
    attempts = [
        api_attempt(
            client.post(
                f"/api/v1/initiatives/{initiative.pk}/score/", {"rubric_version": other.pk}, format="json"
            )
        ),
        api_attempt(
            client.post(
                "/api/v1/score-jobs/",
                {"initiatives": [initiative.pk], "rubric_version": other.pk},
                format="json",
            )
        ),
        command_attempt("score", "--initiative", str(initiative.pk), "--rubric-version", str(other.pk)),
    ]
    before = set(ScoreJob.objects.values_list("pk", flat=True))
    refused_alike(attempts, message, lambda: set(ScoreJob.objects.values_list("pk", flat=True)) == before)


def test_rule_the_owner_is_a_member_of_the_bank(world):
    _banks, users, initiative = world
    analyst = users[("A", "analyst")]
    outsider = users[("B", "analyst")]
    before = snapshot(initiative)
    message = "The owner must be a member of the initiative's bank."
    attempts = [
        api_attempt(
            api_client(analyst).patch(
                f"/api/v1/initiatives/{initiative.pk}/", {"owner": outsider.username}, format="json"
            )
        ),
        admin_form_attempt(
            admin_client(analyst).post(
                reverse("admin:partnerships_initiative_change", args=[initiative.pk]),
                initiative_form(initiative, owner=outsider.pk),
            )
        ),
    ]
    refused_alike(attempts, message, lambda: snapshot(initiative) == before)


def test_rule_scenario_types_belong_to_the_pillar(world):
    banks, users, _initiative = world
    analyst = users[("A", "analyst")]
    foreign = ScenarioType.objects.filter(pillar_id="smart_banking").first()
    message = "do not belong to the pillar “scenario”"
    count = Initiative.objects.count()
    attempts = [
        api_attempt(
            api_client(analyst).post(
                "/api/v1/initiatives/",
                {
                    "bank": banks["A"].pk,
                    "title": "新项目",
                    "pillar": "scenario",
                    "scenario_types": [foreign.key],
                },
                format="json",
            )
        ),
        admin_form_attempt(
            admin_client(analyst).post(
                reverse("admin:partnerships_initiative_add"),
                initiative_form(
                    InitiativeFactory.build(bank=banks["A"], code="new-1", status="idea"),
                    owner="",
                    scenario_types=[str(foreign.pk)],
                ),
            )
        ),
        import_attempt(
            admin_client(analyst), CSV_HEADER + f"bank-a,new-2,新项目,scenario,{foreign.key},,idea\n"
        ),
    ]
    refused_alike(attempts, message, lambda: Initiative.objects.count() == count)


def test_rule_status_follows_its_transitions(world):
    _banks, users, initiative = world  # status idea: live is not a next step
    analyst = users[("A", "analyst")]
    before = snapshot(initiative)
    message = "An initiative cannot go from “Idea” to “Live”."
    attempts = [
        api_attempt(
            api_client(analyst).patch(
                f"/api/v1/initiatives/{initiative.pk}/", {"status": "live"}, format="json"
            )
        ),
        admin_form_attempt(
            admin_client(analyst).post(
                reverse("admin:partnerships_initiative_change", args=[initiative.pk]),
                initiative_form(initiative, status="live"),
            )
        ),
        import_attempt(
            admin_client(analyst),
            CSV_HEADER + f"bank-a,{initiative.code},{initiative.title},scenario,,,live\n",
        ),
    ]
    refused_alike(attempts, message, lambda: snapshot(initiative) == before)


def _rated(initiative, author, *, by=None) -> Assessment:
    assessment = assessment_create(user=author, initiative=initiative)
    criteria = assessment.rubric_version.criteria.filter(source="rated")
    assessment_set_ratings(
        user=by or author, assessment=assessment, ratings=[{"criterion": c.key, "value": 3} for c in criteria]
    )
    return assessment


def test_rule_four_eyes_the_author_does_not_approve(world):
    _banks, users, initiative = world
    manager = users[("A", "manager")]
    assessment = _rated(initiative, manager)
    assessment_submit(user=manager, assessment=assessment)
    message = "approved by someone other than its author"
    client = admin_client(manager)
    attempts = [
        api_attempt(api_client(manager).post(f"/api/v1/assessments/{assessment.pk}/approve/")),
        admin_message_attempt(
            client, client.post(reverse("admin:scoring_assessment_approve", args=[assessment.pk]))
        ),
        admin_message_attempt(
            client,
            client.post(
                reverse("admin:scoring_assessment_changelist"),
                {"action": "approve", "_selected_action": [assessment.pk]},
            ),
        ),
    ]
    refused_alike(
        attempts,
        message,
        lambda: Assessment.objects.get(pk=assessment.pk).status == AssessmentStatus.SUBMITTED,
    )


def test_rule_four_eyes_a_rater_does_not_approve(world):
    banks, users, initiative = world
    analyst, manager = users[("A", "analyst")], users[("A", "manager")]
    assessment = _rated(initiative, analyst)
    # The manager changes one of the analyst's draft ratings, then tries to approve what they rated.
    assessment_set_ratings(
        user=manager, assessment=assessment, ratings=[{"criterion": "acquisition_cost", "value": 4}]
    )
    assessment_submit(user=analyst, assessment=assessment)
    message = "You rated this assessment, so someone else approves it"
    client = admin_client(manager)
    attempts = [
        api_attempt(api_client(manager).post(f"/api/v1/assessments/{assessment.pk}/approve/")),
        admin_message_attempt(
            client, client.post(reverse("admin:scoring_assessment_approve", args=[assessment.pk]))
        ),
    ]
    refused_alike(
        attempts,
        message,
        lambda: Assessment.objects.get(pk=assessment.pk).status == AssessmentStatus.SUBMITTED,
    )
    other_manager = UserFactory(username="manager_a2")
    MembershipFactory(user=other_manager, bank=banks["A"], role="manager")
    assert api_client(other_manager).post(f"/api/v1/assessments/{assessment.pk}/approve/").status_code == 200


def test_rule_ratings_are_frozen_after_submit(world):
    _banks, users, initiative = world
    analyst = users[("A", "analyst")]
    assessment = _rated(initiative, analyst)
    assessment_submit(user=analyst, assessment=assessment)
    before = list(
        Rating.objects.filter(assessment=assessment).values_list("criterion__key", "value", "rationale")
    )
    message = "its ratings are frozen"
    attempts = [
        api_attempt(
            api_client(analyst).patch(
                f"/api/v1/assessments/{assessment.pk}/ratings/",
                {"ratings": [{"criterion": "acquisition_cost", "value": 1}]},
                format="json",
            )
        ),
        api_attempt(
            api_client(analyst).put(
                f"/api/v1/assessments/{assessment.pk}/ratings/",
                {"ratings": {"acquisition_cost": 0}},
                format="json",
            )
        ),
    ]
    # The admin shows a submitted assessment's ratings disabled: a posted value is ignored, never written.
    admin_client(analyst).post(
        reverse("admin:scoring_assessment_change", args=[assessment.pk]),
        {"note": "", "rating__acquisition_cost": "1", "rationale__acquisition_cost": "改"},
    )
    refused_alike(
        attempts,
        message,
        lambda: (
            list(
                Rating.objects.filter(assessment=assessment).values_list(
                    "criterion__key", "value", "rationale"
                )
            )
            == before
        ),
    )


def test_rule_ids_of_another_bank_or_of_nothing(world):
    banks, users, _initiative = world
    analyst_a = users[("A", "analyst")]
    foreign_initiative = InitiativeFactory(bank=banks["B"], pillar_id="scenario")
    count, assessments = Initiative.objects.count(), Assessment.objects.count()
    message = "Choose one of your banks."
    for bank_id in (banks["B"].pk, 10**9):
        attempts = [
            api_attempt(
                api_client(analyst_a).post(
                    "/api/v1/initiatives/",
                    {"bank": bank_id, "title": "别行", "pillar": "scenario"},
                    format="json",
                )
            ),
            admin_form_attempt(
                admin_client(analyst_a).post(
                    reverse("admin:partnerships_initiative_add"),
                    initiative_form(
                        InitiativeFactory.build(bank=banks["A"], code="foreign-1", status="idea"),
                        bank=bank_id,
                        owner="",
                    ),
                )
            ),
        ]
        refused_alike(attempts, message, lambda: Initiative.objects.count() == count)
    refused_alike(
        [import_attempt(admin_client(analyst_a), CSV_HEADER + "bank-b,foreign-2,别行,scenario,,,idea\n")],
        message,
        lambda: Initiative.objects.count() == count,
    )
    # An initiative of another bank, or none, for an assessment: the same words for both.
    message = "Choose an initiative of one of your banks."
    for initiative_id in (foreign_initiative.pk, 10**9):
        attempts = [
            api_attempt(
                api_client(analyst_a).post(
                    "/api/v1/assessments/", {"initiative": initiative_id}, format="json"
                )
            ),
            admin_form_attempt(
                admin_client(analyst_a).post(
                    reverse("admin:scoring_assessment_add"),
                    {"initiative": initiative_id, "rubric_version": "", "note": ""},
                )
            ),
        ]
        refused_alike(attempts, message, lambda: Assessment.objects.count() == assessments)
    # A superuser may write in every bank, but not in one that does not exist (no 500 from the reload).
    admin = UserFactory(username="root", is_superuser=True)
    attempt = api_attempt(
        api_client(admin).post(
            "/api/v1/initiatives/", {"bank": 10**9, "title": "无", "pillar": "scenario"}, format="json"
        )
    )
    refused_alike(
        [attempt], message="Choose one of your banks.", unchanged=lambda: Initiative.objects.count() == count
    )
    assert not InitiativePartner.objects.exists()


# --- KPIs and evidence: the admin and the API (issue 16) -----------------------------------------------------
def kpi_form(initiative, **overrides) -> dict:
    data = {
        "initiative": initiative.pk,
        "name": "获客成本",
        "cost_driver": "growth",
        "unit": "",
        "baseline": "100",
        "target": "80",
        "target_date": "",
        "baseline_date": "",
        "weight": "1",
    }
    data.update(overrides)
    return data


def test_rule_a_kpi_name_is_unique_within_its_initiative(world):
    _banks, users, initiative = world
    analyst = users[("A", "analyst")]
    KPIFactory(initiative=initiative, name="获客成本")
    message = "This initiative already has a KPI with this name."
    attempts = [
        api_attempt(
            api_client(analyst).post(
                "/api/v1/kpis/",
                {"initiative": initiative.pk, "name": "获客成本", "baseline": "100", "target": "80"},
                format="json",
            )
        ),
        admin_form_attempt(
            admin_client(analyst).post(reverse("admin:partnerships_kpi_add"), kpi_form(initiative))
        ),
    ]
    refused_alike(attempts, message, lambda: KPI.objects.count() == 1)


def test_rule_one_observation_a_date(world):
    _banks, users, initiative = world
    analyst = users[("A", "analyst")]
    kpi = KPIFactory(initiative=initiative, name="月活", baseline=100, target=200)
    KPIObservationFactory(kpi=kpi, observed_on="2025-01-31", value=120)
    message = "This KPI already has an observation on this date."
    inline = {
        "observations-TOTAL_FORMS": "1",
        "observations-INITIAL_FORMS": "0",
        "observations-MIN_NUM_FORMS": "0",
        "observations-MAX_NUM_FORMS": "1000",
        "observations-0-observed_on": "2025-01-31",
        "observations-0-value": "130",
        "observations-0-note": "",
    }
    attempts = [
        api_attempt(
            api_client(analyst).post(
                "/api/v1/kpi-observations/",
                {"kpi": kpi.pk, "observed_on": "2025-01-31", "value": "130"},
                format="json",
            )
        ),
        admin_form_attempt(
            admin_client(analyst).post(
                reverse("admin:partnerships_kpi_change", args=[kpi.pk]),
                {**kpi_form(initiative, name="月活", baseline="100", target="200"), **inline},
            )
        ),
    ]
    refused_alike(attempts, message, lambda: list(kpi.observations.values_list("value", flat=True)) == [120])


def test_rule_evidence_files_of_an_allowed_type_only(world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    _banks, users, initiative = world
    analyst = users[("A", "analyst")]
    message = "File extension “exe” is not allowed."
    attempts = [
        api_attempt(
            api_client(analyst).post(
                "/api/v1/evidence/upload/",
                {"initiative": initiative.pk, "file": SimpleUploadedFile("tool.exe", b"MZ\x90\x00")},
                format="multipart",
            )
        ),
        admin_form_attempt(
            admin_client(analyst).post(
                reverse("admin:partnerships_evidence_add"),
                {
                    "initiative": initiative.pk,
                    "kind": "file",
                    "url": "",
                    "note": "",
                    "file": SimpleUploadedFile("tool.exe", b"MZ\x90\x00"),
                },
            )
        ),
    ]
    refused_alike(
        attempts,
        message,
        lambda: not Evidence.objects.exists() and not [p for p in tmp_path.rglob("*") if p.is_file()],
    )


def test_rule_a_monitoring_event_cannot_be_in_the_future(world):
    """The lifecycle (docs/lifecycle.md): the API and the admin's add page refuse alike, writing nothing."""
    from partnerships.models import MonitoringEvent

    _banks, users, initiative = world
    analyst = users[("A", "analyst")]
    event = {
        "initiative": initiative.pk,
        "kind": "incident",
        "occurred_on": "2999-01-01",
        "severity": "high",
        "description": "系统中断",
    }
    form = {**event, "remediation_owner": "", "remediation_due_on": "", "status": "open", "closed_on": ""}
    message = "An event cannot have occurred in the future."
    attempts = [
        api_attempt(api_client(analyst).post("/api/v1/monitoring-events/", event, format="json")),
        admin_form_attempt(
            admin_client(analyst).post(reverse("admin:partnerships_monitoringevent_add"), form)
        ),
    ]
    refused_alike(attempts, message, lambda: not MonitoringEvent.objects.exists())


def test_rule_a_tested_exit_plan_is_recorded(world):
    from partnerships.models import PartnershipContract

    _banks, users, initiative = world
    analyst = users[("A", "analyst")]
    contract = {"initiative": initiative.pk, "exit_plan": "", "exit_plan_last_tested_on": "2025-01-01"}
    form = {
        **contract,
        "reference": "",
        "critical_function": "unknown",
        "auto_renews": "unknown",
        "audit_rights": "unknown",
        "data_return_and_destruction": "unknown",
        "sla_summary": "",
        "alternative_provider": "",
    }
    message = "Record the exit plan that was tested."
    attempts = [
        api_attempt(api_client(analyst).post("/api/v1/contracts/", contract, format="json")),
        admin_form_attempt(
            admin_client(analyst).post(reverse("admin:partnerships_partnershipcontract_add"), form)
        ),
    ]
    refused_alike(attempts, message, lambda: not PartnershipContract.objects.exists())
