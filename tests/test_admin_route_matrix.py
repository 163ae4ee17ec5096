"""Every admin route, for every kind of visitor, against bank A's objects — checked against one table.

The table says what each visitor gets on each route of each registered ModelAdmin (changelist, add, change,
delete, history and simple-history's version page, each by GET and, where it writes, by POST with an empty
body) and on the custom views (initiative import / export, the report downloads, print, generate and
rebuild, the user password page, the admin and app indexes). The visitors:

* anonymous — sent to the login page;
* bank A's viewer, analyst and manager — viewers read, analysts and managers also edit the initiative side
  (initiatives, KPIs, evidence, assessments) and their bank's due diligence on partners; nobody but a superuser
  edits banks, memberships, partners (with their licences and figures), the taxonomy or rubrics, and scores,
  score jobs and reports are read-only;
* bank B's manager — bank A's objects do not exist for them: absent from lists, "doesn't exist" (redirect to
  the admin index) on change / delete pages, 404 on history and the custom views;
* a superuser — every page, except adding or deleting rubrics and rubric versions (they arrive as files or
  clones, and a published version is locked) and deleting assessments (history: a wrong draft is returned).

Nobody deletes an assessment in the admin.

POSTs carry an empty body, so an allowed one re-renders its form (or asks for confirmation) and writes nothing;
the test checks at the end that every object is still there. A 500 anywhere is a failure.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_celery_results.models import GroupResult, TaskResult
from rest_framework.authtoken.models import Token, TokenProxy

from partnerships.models import (
    LimitBreach,
    Membership,
    PartnerMetric,
    Pillar,
    ReassessmentReminder,
    ScenarioType,
)
from partnerships.services.evidence import evidence_create
from partnerships.services.exposure import bank_figures_create, exposure_create
from partnerships.services.lifecycle import contract_create, monitoring_event_create, reassessment_policy_set
from partnerships.services.limit_register import limit_rule_create
from partnerships.services.partners import due_diligence_create
from partnerships.services.webhooks import webhook_endpoint_create, webhook_event_emit
from scoring.models import Rubric, RubricVersion, Score
from scoring.reports.services import report_generate
from scoring.services.assessments import assessment_create
from scoring.services.compute import score_initiatives
from scoring.services.jobs import score_job_create
from scoring.services.rubrics import rubrics_load
from tests.factories import (
    InitiativeFactory,
    InitiativePartnerFactory,
    KPIFactory,
    KPIObservationFactory,
    TechPartnerFactory,
    UserFactory,
)
from tests.signon.rows import signon_rows

pytestmark = pytest.mark.django_db

MARKER = "MatrixA-甲行矩阵"  # in bank A's initiative title, so in every page that shows it or its children
WEEK = datetime.date(2024, 11, 11)

# --- the table --------------------------------------------------------------------------------------------
#
# Outcomes:  ok      200 (a POST may also redirect onward after doing its job)
#            denied  403
#            login   302 to the admin login
#            gone    302 to the admin index with "… doesn't exist" (Django's answer for an object not found)
#            404     404
#            refused a POST sent back to the page it came from with an error message (the service said no)
#            hidden  changelist 200 without bank A's object (for "ok", the object is listed)

ROUTES = (
    "changelist",
    "add",
    "add_post",
    "change",
    "change_post",
    "delete",
    "delete_post",
    "history",
    "history_version",  # simple-history's page of one recorded version (only SimpleHistoryAdmin has it)
)

PROFILES = {
    #                changelist add       add_post  change  change_post delete    delete_post history history_version
    "login": ("login", "login", "login", "login", "login", "login", "login", "login", "login"),
    "none": ("denied", "denied", "denied", "denied", "denied", "denied", "denied", "denied", "denied"),
    "view": ("ok", "denied", "denied", "ok", "denied", "denied", "denied", "ok", "ok"),
    "edit": ("ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    # assessments: history, so never deleted (a wrong draft is returned or left)
    "edit, no delete": ("ok", "ok", "ok", "ok", "ok", "denied", "denied", "ok", "ok"),
    # a bank's managers on their bank: its lending profile only; banks are added and deleted by superusers
    "change": ("ok", "denied", "denied", "ok", "ok", "denied", "denied", "ok", "ok"),
    # superuser on rubrics and rubric versions: they arrive as files or clones, and are never deleted here
    "edit, no add or delete": ("ok", "denied", "denied", "ok", "ok", "denied", "denied", "ok", "ok"),
    # superuser on django-axes' logs: they are written by axes, never added by hand
    "edit, no add": ("ok", "denied", "denied", "ok", "ok", "ok", "ok", "ok", "ok"),
    # superuser on reports: read-only, but an obsolete report may be deleted
    "view, delete": ("ok", "denied", "denied", "ok", "denied", "ok", "ok", "ok", "ok"),
    # bank B's manager on bank A's objects ------------------------------------------------------------------
    # initiative side: B may add in its own bank; A's object is not found by any route
    "B: edit": ("hidden", "ok", "ok", "gone", "gone", "gone", "gone", "404", "404"),
    # assessments: as above, but deleting is refused before the object is looked up
    "B: edit, no delete": ("hidden", "ok", "ok", "gone", "gone", "denied", "denied", "404", "404"),
    # banks and memberships (view-only for members): GET is not found, writing is refused first
    "B: view": ("hidden", "denied", "denied", "gone", "denied", "denied", "denied", "404", "404"),
    # banks for another bank's manager, who may change their own bank's profile: not found, adding refused
    "B: change": ("hidden", "denied", "denied", "gone", "gone", "denied", "denied", "404", "404"),
    # scores and score jobs (read-only admins without simple-history: Django's history page says "gone")
    "B: read-only": ("hidden", "denied", "denied", "gone", "denied", "denied", "denied", "gone", "gone"),
    # reports: the custom change view answers 404 for GET and POST
    "B: report": ("hidden", "denied", "denied", "404", "404", "denied", "denied", "gone", "gone"),
    # webhook endpoints (no simple-history: it would copy the secrets): B adds its own, A's is not found
    "B: edit, plain history": ("hidden", "ok", "ok", "gone", "gone", "gone", "gone", "gone", "gone"),
}

ACTORS = ("anonymous", "viewer", "analyst", "manager", "bank B", "superuser")

MODELS = {
    # model                          viewer   analyst  manager  bank B          superuser
    "partnerships.bank": ("view", "view", "change", "B: change", "edit"),
    "partnerships.membership": ("view", "view", "view", "B: view", "edit"),
    "partnerships.initiative": ("view", "edit", "edit", "B: edit", "edit"),
    "partnerships.kpi": ("view", "edit", "edit", "B: edit", "edit"),
    "partnerships.evidence": ("view", "edit", "edit", "B: edit", "edit"),
    # the exposure register: a bank's own figures, recorded by its analysts and managers
    "partnerships.partnerexposure": ("view", "edit", "edit", "B: edit", "edit"),
    "partnerships.bankperiodfigures": ("view", "edit", "edit", "B: edit", "edit"),
    # a bank's due diligence on a partner: history, so never deleted (the next review is a new record)
    "partnerships.partnerduediligence": (
        "view",
        "edit, no delete",
        "edit, no delete",
        "B: edit, no delete",
        "edit, no delete",
    ),
    "scoring.assessment": (
        "view",
        "edit, no delete",
        "edit, no delete",
        "B: edit, no delete",
        "edit, no delete",
    ),
    "scoring.score": ("view", "view", "view", "B: read-only", "view"),
    "scoring.scorejob": ("view", "view", "view", "B: read-only", "view"),
    "scoring.report": ("view", "view", "view", "B: report", "view, delete"),
    # reference data, shared by every bank: read by members, edited by superusers
    "partnerships.techpartner": ("view", "view", "view", "view", "edit"),
    "partnerships.partnermetric": ("view", "view", "view", "view", "edit"),
    # exposure limits: regulatory ones (files) edited by superusers, a bank's own by its managers; versioned, so never
    # deleted (one stops at its "valid until"); bank B's manager finds none of bank A's and adds its own
    "partnerships.limitrule": ("view", "view", "edit, no delete", "B: edit, no delete", "edit, no delete"),
    # breaches found by the daily check: read by members, written by the check only
    "partnerships.limitbreach": ("view", "view", "view", "B: read-only", "view"),
    # webhooks: the bank's managers only, reads included; the delivery log is read-only (a "redeliver" action)
    "partnerships.webhookendpoint": ("none", "none", "edit", "B: edit, plain history", "edit"),
    "partnerships.webhookdelivery": ("none", "none", "view", "B: read-only", "view"),
    # the partnership lifecycle (docs/lifecycle.md): events and contracts by analysts, the re-assessment policy by
    # managers (kept, never deleted), the weekly reminders' log written by the task only
    "partnerships.monitoringevent": ("view", "edit", "edit", "B: edit", "edit"),
    "partnerships.partnershipcontract": ("view", "edit", "edit", "B: edit", "edit"),
    "partnerships.reassessmentpolicy": (
        "view",
        "view",
        "edit, no delete",
        "B: edit, no delete",
        "edit, no delete",
    ),
    "partnerships.reassessmentreminder": ("view", "view", "view", "B: read-only", "view"),
    "partnerships.pillar": ("view", "view", "view", "view", "edit"),
    "partnerships.scenariotype": ("view", "view", "view", "view", "edit"),
    "scoring.rubric": ("view", "view", "view", "view", "edit, no add or delete"),
    "scoring.rubricversion": ("view", "view", "view", "view", "edit, no add or delete"),
    # other apps' admins: superusers only
    "auth.group": ("none", "none", "none", "none", "edit"),
    "auth.user": ("none", "none", "none", "none", "edit"),
    "authtoken.tokenproxy": ("none", "none", "none", "none", "edit"),
    "django_celery_beat.periodictask": ("none", "none", "none", "none", "edit"),
    "django_celery_beat.clockedschedule": ("none", "none", "none", "none", "edit"),
    "django_celery_beat.crontabschedule": ("none", "none", "none", "none", "edit"),
    "django_celery_beat.solarschedule": ("none", "none", "none", "none", "edit"),
    "django_celery_beat.intervalschedule": ("none", "none", "none", "none", "edit"),
    "django_celery_results.taskresult": ("none", "none", "none", "none", "edit"),
    "django_celery_results.groupresult": ("none", "none", "none", "none", "edit"),
    "axes.accessattempt": ("none", "none", "none", "none", "edit, no add"),
    "axes.accesslog": ("none", "none", "none", "none", "edit, no add"),
    "axes.accessfailurelog": ("none", "none", "none", "none", "edit, no add"),
    # sign-on (partnerships.signon): superusers only; the audit and directory accounts are read-only, a second
    # factor is reset by deleting it
    "partnerships.groupmapping": ("none", "none", "none", "none", "edit"),
    "partnerships.directoryaccount": ("none", "none", "none", "none", "view"),
    "partnerships.secondfactor": ("none", "none", "none", "none", "view, delete"),
    "partnerships.signonevent": ("none", "none", "none", "none", "view"),
}


def expected_profile(model: str, actor: str) -> tuple[str, ...]:
    if actor == "anonymous":
        return PROFILES["login"]
    return PROFILES[MODELS[model][ACTORS.index(actor) - 1]]


# Custom views: (name, method, url name, args from the world, expected for each actor in ACTORS order).
# "hidden" for the export: a 200 whose file lacks bank A's initiative.
CUSTOM = [
    #  name                      method  url                                 args       anonymous viewer  analyst manager bank B  superuser
    ("admin index", "GET", "admin:index", None, ("login", "ok", "ok", "ok", "ok", "ok")),
    (
        "app: partnerships",
        "GET",
        "admin:app_list",
        "app:partnerships",
        ("login", "ok", "ok", "ok", "ok", "ok"),
    ),
    ("app: scoring", "GET", "admin:app_list", "app:scoring", ("login", "ok", "ok", "ok", "ok", "ok")),
    ("app: auth", "GET", "admin:app_list", "app:auth", ("login", "404", "404", "404", "404", "ok")),
    ("app: axes", "GET", "admin:app_list", "app:axes", ("login", "404", "404", "404", "404", "ok")),
    (
        "user password",
        "GET",
        "admin:auth_user_password_change",
        "user",
        ("login",) + ("denied",) * 4 + ("ok",),
    ),
    (
        "initiative import",
        "GET",
        "admin:partnerships_initiative_import",
        None,
        ("login", "denied", "ok", "ok", "ok", "ok"),
    ),
    (
        "initiative import confirm",
        "POST",
        "admin:partnerships_initiative_process_import",
        None,
        ("login", "denied", "ok", "ok", "ok", "ok"),
    ),
    ("initiative export", "GET", "admin:partnerships_initiative_export", None, ("login",) + ("ok",) * 5),
    (
        "initiative export CSV",
        "POST",
        "admin:partnerships_initiative_export",
        None,
        ("login", "ok", "ok", "ok", "hidden", "ok"),
    ),
    *(
        row
        for model in ("partnerexposure", "bankperiodfigures")
        for row in (
            (
                f"{model} import",
                "GET",
                f"admin:partnerships_{model}_import",
                None,
                ("login", "denied", "ok", "ok", "ok", "ok"),
            ),
            (
                f"{model} import confirm",
                "POST",
                f"admin:partnerships_{model}_process_import",
                None,
                ("login", "denied", "ok", "ok", "ok", "ok"),
            ),
            (f"{model} export", "GET", f"admin:partnerships_{model}_export", None, ("login",) + ("ok",) * 5),
        )
    ),
    (
        "report generate",
        "GET",
        "admin:scoring_report_generate",
        None,
        ("login", "denied", "ok", "ok", "ok", "ok"),
    ),
    (
        "report CSV",
        "GET",
        "admin:scoring_report_download",
        "report:csv",
        ("login", "ok", "ok", "ok", "404", "ok"),
    ),
    (
        "report XLSX",
        "GET",
        "admin:scoring_report_download",
        "report:xlsx",
        ("login", "ok", "ok", "ok", "404", "ok"),
    ),
    ("report print", "GET", "admin:scoring_report_print", "report", ("login", "ok", "ok", "ok", "404", "ok")),
    (
        "evidence download",
        "GET",
        "admin:partnerships_evidence_download",
        "evidence",
        ("login", "ok", "ok", "ok", "404", "ok"),
    ),
    # The regulatory checklist page: members read it, analysts and managers answer (an empty body changes
    # nothing and comes back to the page); bank B never finds it.
    (
        "initiative checklist",
        "GET",
        "admin:partnerships_initiative_checklist",
        "initiative",
        ("login", "ok", "ok", "ok", "404", "ok"),
    ),
    (
        "initiative checklist save",
        "POST",
        "admin:partnerships_initiative_checklist",
        "initiative",
        ("login", "denied", "ok", "ok", "404", "ok"),
    ),
    # The assessment's buttons, with an empty body on a draft without ratings: every member is refused by the
    # service (a viewer for their role, the others because nothing is rated or submitted yet); bank B never
    # finds it.
    (
        "assessment submit",
        "POST",
        "admin:scoring_assessment_submit",
        "assessment",
        ("login", "refused", "refused", "refused", "404", "refused"),
    ),
    (
        "assessment approve",
        "POST",
        "admin:scoring_assessment_approve",
        "assessment",
        ("login", "refused", "refused", "refused", "404", "refused"),
    ),
    (
        "assessment return",
        "POST",
        "admin:scoring_assessment_return",
        "assessment",
        ("login", "refused", "refused", "refused", "404", "refused"),
    ),
    # last: a rebuild puts the report back in the queue (its downloads are 404 until it is ready again)
    (
        "report rebuild",
        "POST",
        "admin:scoring_report_regenerate",
        "report",
        ("login", "denied", "ok", "ok", "404", "ok"),
    ),
]

STANDARD_URL_SUFFIXES = ("changelist", "add", "change", "delete", "history", "simple_history")
CUSTOM_URL_NAMES = {"auth_user_password_change"} | {
    url.split(":", 1)[1]
    for _n, _m, url, _a, _e in CUSTOM
    if url.split(":", 1)[1] not in ("index", "app_list")
}


# --- bank A's objects ----------------------------------------------------------------------------------------


@dataclass
class World:
    users: dict
    objects: dict  # model label -> one object of bank A (or of the shared reference data)

    def user(self, actor: str):
        return self.users[actor]


@pytest.fixture
def world(two_banks, settings, tmp_path) -> World:
    banks, by_role = two_banks
    rubrics_load(versions={1})
    analyst = by_role[("A", "analyst")]
    superuser = UserFactory(username="root", is_superuser=True)
    tencent = TechPartnerFactory(key="tencent", name_zh_hans="腾讯", name_en="Tencent")
    metric = PartnerMetric.objects.create(
        partner=tencent,
        metric="market_cap_change_pct",
        period="2024",
        period_end=datetime.date(2024, 12, 31),
        value=43,
        unit="%",
        source="seed",
    )
    initiative = InitiativeFactory(bank=banks["A"], code="matrix-a", title=f"{MARKER} 项目", status="pilot")
    InitiativePartnerFactory(initiative=initiative, partner=tencent, role="lead")
    kpi = KPIFactory(initiative=initiative, name=f"{MARKER} KPI")
    KPIObservationFactory(kpi=kpi, note=f"{MARKER} observation")
    settings.MEDIA_ROOT = str(tmp_path)
    evidence = evidence_create(
        user=analyst,
        initiative=initiative,
        data={
            "kind": "file",
            "file": SimpleUploadedFile("matrix.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"),
            "note": f"{MARKER} evidence",
        },
    )
    assessment = assessment_create(user=analyst, initiative=initiative, note=f"{MARKER} assessment")
    due_diligence = due_diligence_create(
        user=analyst,
        data={
            "bank": banks["A"].pk,
            "partner": "tencent",
            "answers": {f"{MARKER} 问题": "是"},
            "inherent_risk_tier": "medium",
            "performed_on": WEEK,
            "next_due": WEEK + datetime.timedelta(days=365),
        },
    )
    exposure = exposure_create(
        user=analyst,
        data={"bank": banks["A"].pk, "partner": "tencent", "period_end": "2025-06-30", "balance": "100"},
    )
    figures = bank_figures_create(
        user=analyst, data={"bank": banks["A"].pk, "period_end": "2025-06-30", "tier1_net_capital": "2000"}
    )
    own_limit = limit_rule_create(
        user=by_role[("A", "manager")],
        data={
            "bank": banks["A"].pk,
            "key": "matrix-capital",
            "version": 1,
            "kind": "partner_capital_share",
            "threshold_percent": "20",
            "name_zh_hans": f"{MARKER} 限额",
            "name_en": "Matrix limit",
            "source_zh_hans": "本行风险偏好",
            "source_en": "Risk appetite",
            "valid_from": "2025-01-01",
        },
    )
    breach = LimitBreach.objects.create(
        bank=banks["A"],
        rule=own_limit,
        subject="tencent",
        period_end=datetime.date(2025, 6, 30),
        value_percent=30,
        threshold_percent=20,
    )
    webhook = webhook_endpoint_create(
        user=by_role[("A", "manager")],
        data={"bank": banks["A"].pk, "url": "https://hooks.example.com/matrix", "events": ["limit.breached"]},
    )
    (delivery,) = webhook_event_emit(bank_id=banks["A"].pk, event_type="limit.breached", data={"m": MARKER})
    event = monitoring_event_create(
        user=analyst,
        initiative=initiative,
        data={"kind": "incident", "occurred_on": WEEK, "severity": "medium", "description": f"{MARKER} 事件"},
    )
    contract = contract_create(
        user=analyst, initiative=initiative, data={"reference": f"{MARKER} 合同", "exit_plan": "回迁"}
    )
    policy = reassessment_policy_set(user=by_role[("A", "manager")], bank=banks["A"], data={"months_c": 9})
    reminder = ReassessmentReminder.objects.create(bank=banks["A"], week=WEEK, initiatives=1, messages=2)
    score_initiatives(bank_id=banks["A"].pk, initiative_ids=[initiative.pk])
    job = score_job_create(requested_by=analyst, bank_id=banks["A"].pk, initiative_ids=[initiative.pk])
    report = report_generate(bank_id=banks["A"].pk, period_start=WEEK, deliver=False)
    assert report.status == "ready"
    Token.objects.create(user=analyst)
    interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    objects = {
        "partnerships.bank": banks["A"],
        "partnerships.membership": Membership.objects.get(user=analyst, bank=banks["A"]),
        "partnerships.initiative": initiative,
        "partnerships.kpi": kpi,
        "partnerships.evidence": evidence,
        "partnerships.partnerduediligence": due_diligence,
        "partnerships.partnerexposure": exposure,
        "partnerships.bankperiodfigures": figures,
        "scoring.assessment": assessment,
        "scoring.score": Score.objects.filter(initiative=initiative).latest("computed_at"),
        "scoring.scorejob": job,
        "scoring.report": report,
        "partnerships.techpartner": tencent,
        "partnerships.partnermetric": metric,
        "partnerships.limitrule": own_limit,
        "partnerships.limitbreach": breach,
        "partnerships.webhookendpoint": webhook,
        "partnerships.webhookdelivery": delivery,
        "partnerships.monitoringevent": event,
        "partnerships.partnershipcontract": contract,
        "partnerships.reassessmentpolicy": policy,
        "partnerships.reassessmentreminder": reminder,
        "partnerships.pillar": Pillar.objects.get(key="scenario"),
        "partnerships.scenariotype": ScenarioType.objects.get(key="payment"),
        "scoring.rubric": Rubric.objects.get(pillar_id="scenario", is_default=True),
        "scoring.rubricversion": RubricVersion.objects.get(
            rubric__pillar_id="scenario", rubric__is_default=True, status="published"
        ),
        "auth.group": Group.objects.create(name="matrix"),
        "auth.user": analyst,
        "authtoken.tokenproxy": TokenProxy.objects.get(user=analyst),
        "django_celery_beat.periodictask": PeriodicTask.objects.create(
            name="matrix", task="scoring.tasks.noop", interval=interval
        ),
        "django_celery_beat.clockedschedule": ClockedSchedule.objects.create(clocked_time=timezone.now()),
        "django_celery_beat.crontabschedule": CrontabSchedule.objects.create(minute="5"),
        "django_celery_beat.solarschedule": SolarSchedule.objects.create(
            event="sunrise", latitude=31.23, longitude=121.47
        ),
        "django_celery_beat.intervalschedule": interval,
        "django_celery_results.taskresult": TaskResult.objects.create(task_id="matrix-task"),
        "django_celery_results.groupresult": GroupResult.objects.create(group_id="matrix-group"),
        "axes.accessattempt": AccessAttempt.objects.create(
            username="someone", ip_address="10.0.0.1", user_agent="ua", failures_since_start=1
        ),
        "axes.accesslog": AccessLog.objects.create(
            username="someone", ip_address="10.0.0.1", user_agent="ua"
        ),
        "axes.accessfailurelog": AccessFailureLog.objects.create(
            username="someone", ip_address="10.0.0.1", user_agent="ua"
        ),
        **signon_rows(bank=banks["A"], user=by_role[("A", "manager")]),
    }
    users = {
        "anonymous": None,
        "viewer": by_role[("A", "viewer")],
        "analyst": analyst,
        "manager": by_role[("A", "manager")],
        "bank B": by_role[("B", "manager")],
        "superuser": superuser,
    }
    return World(users=users, objects=objects)


# --- walking ---------------------------------------------------------------------------------------------


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def _outcome(response, listed_pk=None) -> str:
    """What the visitor got, in the table's words (anything else is described as it is)."""
    status = response.status_code
    if status == 302:
        location = urlsplit(response["Location"]).path
        if location == reverse("admin:login"):
            return "login"
        if location == reverse("admin:index"):
            said = " ".join(str(m) for m in get_messages(response.wsgi_request))
            return "gone" if re.search(r"doesn.t exist", said) else f"302 to index: {said!r}"
        # Only the messages this request added (earlier ones wait in the session until a page shows them).
        added = getattr(get_messages(response.wsgi_request), "_queued_messages", [])
        if any(message.level == message_levels.ERROR for message in added):
            return "refused"
        return "redirect"
    if status == 200 and listed_pk is not None:
        listed = {obj.pk for obj in response.context["cl"].result_list}
        return "ok" if listed_pk in listed else "hidden"
    if status in (200, 403, 404):
        return {200: "ok", 403: "denied", 404: "404"}[status]
    detail = ""
    if getattr(response, "exc_info", None):
        detail = f": {response.exc_info[0].__name__}: {response.exc_info[1]}"
    return f"{status}{detail}"


def _matches(expected: str, got: str, method: str) -> bool:
    return got == expected or (expected == "ok" and method == "POST" and got == "redirect")


def _model_routes(model: str, obj) -> list[tuple[str, str, str | None]]:
    """(route, method, url) for each standard route of the model's admin (url None: the route does not exist)."""
    app_label, model_name = model.split(".")
    base = f"admin:{app_label}_{model_name}"
    pk = obj.pk
    try:
        reverse(f"{base}_simple_history", args=[pk, 0])
    except NoReverseMatch:
        version = None
    else:
        version = reverse(f"{base}_simple_history", args=[pk, obj.history.latest().history_id])
    urls = {
        "changelist": reverse(f"{base}_changelist"),
        "add": reverse(f"{base}_add"),
        "change": reverse(f"{base}_change", args=[pk]),
        "delete": reverse(f"{base}_delete", args=[pk]),
        "history": reverse(f"{base}_history", args=[pk]),
        "history_version": version,
    }
    return [
        (route, "POST" if route.endswith("_post") else "GET", urls[route.removesuffix("_post")])
        for route in ROUTES
    ]


def _custom_args(spec: str | None, world: World) -> list:
    if spec is None:
        return []
    kind, _sep, extra = spec.partition(":")
    if kind == "app":
        return [extra]
    if kind == "user":
        return [world.objects["auth.user"].pk]
    if kind in ("evidence", "assessment"):
        return [world.objects[f"{'partnerships' if kind == 'evidence' else 'scoring'}.{kind}"].pk]
    if kind == "report":
        return [world.objects["scoring.report"].pk, *([extra] if extra else [])]
    if kind == "initiative":
        return [world.objects["partnerships.initiative"].pk]
    raise AssertionError(spec)


def _check_leak(actor: str, where: str, response, problems: list[str]) -> None:
    if actor == "bank B" and MARKER.encode() in response.content:
        problems.append(f"{where}: bank A's initiative shows in the page")


def _walk(actor: str, world: World) -> list[str]:
    client = _client(world.user(actor))
    problems: list[str] = []
    for model, obj in world.objects.items():
        for (route, method, url), expected in zip(
            _model_routes(model, obj), expected_profile(model, actor), strict=True
        ):
            if url is None:
                continue
            response = client.post(url, {}) if method == "POST" else client.get(url)
            listed = obj.pk if route == "changelist" else None
            got = _outcome(response, listed if response.status_code == 200 else None)
            if not _matches(expected, got, method):
                problems.append(f"{model:38} {route:15} {method:4} {url}: expected {expected}, got {got}")
            _check_leak(actor, f"{model} {route}", response, problems)
    for name, method, url_name, args, outcomes in CUSTOM:
        expected = outcomes[ACTORS.index(actor)]
        url = reverse(url_name, args=_custom_args(args, world))
        if name == "initiative export CSV":
            response = client.post(url, {"format": "0", "resource": "0", "initiativeresource_code": "on"})
            got = _outcome(response)
            if got == "ok":
                got = "ok" if b"matrix-a" in response.content else "hidden"
        else:
            response = client.post(url, {}) if method == "POST" else client.get(url)
            got = _outcome(response)
        if not _matches(expected, got, method):
            problems.append(f"{'custom':38} {name:15} {method:4} {url}: expected {expected}, got {got}")
        _check_leak(actor, name, response, problems)
    return problems


# --- the tests -----------------------------------------------------------------------------------------------


def test_the_table_covers_every_registered_admin_and_custom_view():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(MODELS), {
        "registered but not in the table": registered - set(MODELS),
        "in the table but not registered": set(MODELS) - registered,
    }
    unknown = set()
    for model_admin in admin.site._registry.values():
        info = f"{model_admin.opts.app_label}_{model_admin.opts.model_name}_"
        for pattern in model_admin.get_urls():
            name = getattr(pattern, "name", None)
            if name and name.removeprefix(info) not in STANDARD_URL_SUFFIXES and name not in CUSTOM_URL_NAMES:
                unknown.add(name)
    assert not unknown, f"admin views with no row in CUSTOM: {sorted(unknown)}"


@pytest.mark.parametrize("actor", ACTORS)
def test_admin_routes_answer_as_the_table_says(world, actor):
    problems = _walk(actor, world)
    assert not problems, f"{len(problems)} route(s) differ from the table for {actor}:\n" + "\n".join(
        problems
    )
    # Empty POSTs wrote nothing: every object is still there, the report still ready or rebuilding.
    for model, obj in world.objects.items():
        if isinstance(obj, TokenProxy):  # its pk is the user's id
            assert Token.objects.filter(user_id=obj.user_id).exists(), "the token was deleted"
        else:
            assert type(obj)._default_manager.filter(pk=obj.pk).exists(), f"{model} {obj.pk} was deleted"


# --- simple-history's version page must not save -------------------------------------------------------------

# SIMPLE_HISTORY_REVERT_DISABLED only hides the "Revert" button: simple-history's history_form_view saves any
# valid POST after checking *view* permission alone (a viewer could rename their bank, edit the shared tech
# partners and their metrics, an analyst promote their own membership). ReadOnlyHistoryMixin refuses the POST.
HISTORY_POST_CASES = [
    # (model, who, field, new value)
    ("partnerships.membership", "analyst", "role", "manager"),
    ("partnerships.bank", "viewer", "name_en", "Renamed by a viewer"),
    ("partnerships.techpartner", "viewer", "name_en", "Edited by a viewer"),
    ("partnerships.partnermetric", "bank B", "value", "999"),
    ("scoring.assessment", "viewer", "note", "Edited by a viewer"),
    ("partnerships.partnerexposure", "viewer", "balance", "999"),
    ("partnerships.bank", "manager", "code", "renamed-by-a-manager"),
]


@pytest.mark.parametrize(("model", "actor", "field", "value"), HISTORY_POST_CASES)
def test_history_version_page_never_saves_a_post(world, model, actor, field, value):
    obj = world.objects[model]
    if model == "partnerships.membership":  # the analyst's own membership
        obj = Membership.objects.get(user=world.user(actor), bank=obj.bank)
    app_label, model_name = model.split(".")
    url = reverse(
        f"admin:{app_label}_{model_name}_simple_history", args=[obj.pk, obj.history.latest().history_id]
    )
    client = _client(world.user(actor))
    page = client.get(url)
    assert page.status_code == 200  # reading an old version is fine
    form = page.context["adminform"].form
    data = {name: "" if initial is None else initial for name, initial in form.initial.items()}
    data = {name: data.get(name, "") for name in form.fields} | {field: value}
    before = getattr(type(obj)._default_manager.get(pk=obj.pk), field)
    response = client.post(url, data)
    after = getattr(type(obj)._default_manager.get(pk=obj.pk), field)
    assert (response.status_code, str(after)) == (403, str(before)), f"saved: {before!r} → {after!r}"
