"""Every admin page, listed from the admin registry and the URL resolver, and a database with something on each.

``seed_admin_data()`` fills the test database as ``seed_demo`` would (reference figures, the illustrative banks,
users and initiatives, the default rubrics and demo assessments), then adds what the demo leaves out: scores
(computed here, synchronously), a weekly report, and one row for each registered model of the other apps
(groups, tokens, beat schedules, task results, axes logs).

``admin_pages()`` lists, for every model registered in ``admin.site``: its changelist, its add page (when the
admin allows adding), and the change, delete (when allowed), history and simple-history version pages of one
existing object; every custom view a ModelAdmin adds in ``get_urls`` (with the same object); the site's own
pages (index, password change, login) and each app's index. Nothing is listed by hand: a new model or view
appears by itself, and a view the list cannot open must be named in ``SKIPPED_VIEWS`` with the reason.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import URLPattern, reverse

# Views that are not pages a person reads: files, JSON, redirects, or POST-only buttons and confirmations.
SKIPPED_VIEWS: dict[str, str] = {
    # the site's own
    "logout": "POST only (Django 5 logs out by a form)",
    "autocomplete": "JSON for the select2 widgets",
    "jsi18n": "the JavaScript catalogue",
    "view_on_site": "a redirect to the object's public URL",
    # ModelAdmins' get_urls
    "partnerships_evidence_download": "a file download",
    "scoring_report_download": "a file download (CSV / XLSX)",
    "partnerships_initiative_process_import": "POST only: confirms an uploaded import",
    "partnerships_partnerexposure_process_import": "POST only: confirms an uploaded import",
    "partnerships_bankperiodfigures_process_import": "POST only: confirms an uploaded import",
    "scoring_report_regenerate": "POST only: the rebuild button",
    "scoring_assessment_submit": "POST only: the submit button",
    "scoring_assessment_approve": "POST only: the approve button",
    "scoring_assessment_return": "POST only: the return-to-draft button",
}

# Site-wide views that only an anonymous visitor sees (a signed-in staff member is sent on to the index).
ANONYMOUS_VIEWS = {"login"}

# The URL parameter a ModelAdmin's view takes for its object (Django's views, UserAdmin's password page).
OBJECT_PARAMS = {"object_id", "id", "pk"}

# The standard routes of a ModelAdmin, named as in tests/test_admin_route_matrix.py.
STANDARD_SUFFIXES = {
    "changelist": "changelist",
    "add": "add",
    "change": "change",
    "delete": "delete",
    "history": "history",
    "simple_history": "history_version",
}


@dataclass(frozen=True)
class AdminPage:
    slug: str  # a file name: "partnerships-initiative-change"
    url: str
    url_name: str  # "admin:partnerships_initiative_change"
    kind: str  # "site", "app", "model" (a standard route) or "custom" (a ModelAdmin's get_urls view)
    model: str | None = None  # "partnerships.initiative"
    route: str | None = None  # for kind "model": changelist, add, change, delete, history, history_version
    anonymous: bool = False  # seen signed out (the login page)


@dataclass
class SeededAdmin:
    superuser: object
    analyst: object  # a bank member (analyst role), not a superuser
    password: str  # every demo user's, for a browser that signs in through the login form


# --- the database --------------------------------------------------------------------------------------------

PASSWORD = "crawl-Admin-test-pw-0427"  # a throw-away user in the test database


def seed_admin_data(*, password: str = PASSWORD) -> SeededAdmin:
    """The demo database plus one row of every registered model; the demo's superuser and analyst."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.utils import timezone
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )
    from django_celery_results.models import GroupResult, TaskResult
    from rest_framework.authtoken.models import Token

    from partnerships.models import Bank, Initiative
    from partnerships.services.seed import seed_all
    from scoring.reports.services import last_complete_week_start, report_generate
    from scoring.services.compute import score_initiatives
    from scoring.services.demo import demo_scoring_seed
    from tests.signon.rows import signon_rows

    seed_all(password=password)
    demo_scoring_seed(demo=True)  # default rubrics (published) and the demo assessments
    for bank in Bank.objects.order_by("pk"):
        ids = list(Initiative.objects.filter(bank=bank).values_list("pk", flat=True))
        score_initiatives(bank_id=bank.pk, initiative_ids=ids)
    users = get_user_model().objects
    superuser = users.get(username="demo_admin")
    analyst = users.get(username="demo_analyst")
    city = Bank.objects.get(code="demo-city-bank")
    report_generate(bank_id=city.pk, period_start=last_complete_week_start(), deliver=False)
    # The weekly re-assessment reminders' log (the demo sends no mail; docs/lifecycle.md).
    from partnerships.models import ReassessmentReminder

    ReassessmentReminder.objects.get_or_create(
        bank=city, week=datetime.date(2025, 1, 6), defaults={"initiatives": 2, "messages": 3}
    )

    # The other apps' models (a transactional test has flushed what their migrations created).
    Group.objects.get_or_create(name="分析师组")
    Token.objects.get_or_create(user=analyst)
    every_ten, _ = IntervalSchedule.objects.get_or_create(every=10, period=IntervalSchedule.SECONDS)
    CrontabSchedule.objects.get_or_create(minute="0", hour="8", day_of_week="1")
    SolarSchedule.objects.get_or_create(event="sunrise", latitude=31.23, longitude=121.47)
    ClockedSchedule.objects.get_or_create(clocked_time=datetime.datetime(2025, 1, 6, 8, tzinfo=datetime.UTC))
    PeriodicTask.objects.get_or_create(
        name="scoring.stale-scores", defaults={"task": "scoring.tasks.noop", "interval": every_ten}
    )
    TaskResult.objects.get_or_create(task_id="crawl-task", defaults={"task_name": "scoring.tasks.noop"})
    GroupResult.objects.get_or_create(group_id="crawl-group")
    attempt = {"username": "someone", "ip_address": "10.0.0.1", "user_agent": "crawler"}
    AccessAttempt.objects.get_or_create(**attempt, defaults={"failures_since_start": 1})
    AccessLog.objects.get_or_create(**attempt, defaults={"attempt_time": timezone.now()})
    AccessFailureLog.objects.get_or_create(**attempt, defaults={"attempt_time": timezone.now()})
    _rows_the_demo_lacks(bank=city, user=analyst)
    signon_rows(bank=city, user=superuser)  # sign-on's models (partnerships.signon): a row of each
    empty = [model._meta.label_lower for model in admin.site._registry if not model._default_manager.exists()]
    assert not empty, f"seed_admin_data() left these registered models empty: {empty}"
    return SeededAdmin(superuser=superuser, analyst=analyst, password=password)


def _rows_the_demo_lacks(*, bank, user) -> None:
    """A row of each registered project model the demo data has none of (written directly: a fixture)."""
    from partnerships.models import PartnerDueDiligence, TechPartner

    if not PartnerDueDiligence.objects.exists():
        PartnerDueDiligence.objects.create(
            bank=bank,
            partner=TechPartner.objects.order_by("pk").first(),
            inherent_risk_tier="medium",
            performed_on=datetime.date(2025, 1, 6),
            next_due=datetime.date(2026, 1, 6),
            performed_by=user,
        )
    from partnerships.models import WebhookDelivery, WebhookEndpoint

    if not WebhookEndpoint.objects.exists():  # the demo registers one (inactive); a test database may not
        WebhookEndpoint.objects.create(
            bank=bank,
            url="https://hooks.example.com/scorecard",
            events=["score.created", "assessment.approved"],
            secret="whsec_" + "A" * 43,
            description="投后管理系统",
            created_by=user,
        )
    if not WebhookDelivery.objects.exists():
        WebhookDelivery.objects.create(
            endpoint=WebhookEndpoint.objects.order_by("pk").first(),
            event_type="score.created",
            payload={"type": "score.created", "data": {"scores": []}},
            status="failed",
            attempts=6,
            last_status_code=500,
            last_error="HTTP 500",
        )
    from partnerships.models import LimitBreach, LimitRule

    if not LimitBreach.objects.exists():
        # A breach of the demo bank found by the daily check (the demo month's figures are within the limits).
        rule = (
            LimitRule.objects.filter(bank__isnull=True, kind="partner_capital_share").order_by("pk").first()
        )
        if rule is not None:
            LimitBreach.objects.create(
                bank=bank,
                rule=rule,
                subject="蚂蚁集团",
                period_end=datetime.date(2025, 6, 30),
                value_percent=27,
                threshold_percent=25,
                detail={
                    "rule": rule.key,
                    "kind": rule.kind,
                    "name_zh_hans": rule.name_zh_hans,
                    "name_en": rule.name_en,
                    "subject": "蚂蚁集团",
                    "subject_kind": "group",
                    "subject_name_zh_hans": "蚂蚁集团",
                    "subject_name_en": "蚂蚁集团",
                    "status": "breach",
                    "value_percent": "27",
                    "threshold_percent": "25",
                    "utilisation_percent": "108",
                    "warning_percent": "80",
                    "period_end": "2025-06-30",
                    "figures": {"own_balance": "270.00", "balance": "450.00"},
                },
            )


# --- the pages ---------------------------------------------------------------------------------------------


def _request_for(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _any_superuser():
    """An unsaved active superuser: what the admin allows at most (no query needed to ask it)."""
    return get_user_model()(username="admin-pages", is_superuser=True, is_staff=True, is_active=True)


def _params(pattern: URLPattern) -> set[str]:
    return set(pattern.pattern.regex.groupindex)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def pick_object(model_admin, viewer):
    """The first object (by pk) of the admin's own queryset for ``viewer``: what that user's list shows."""
    request = _request_for(viewer)
    obj = model_admin.get_queryset(request).order_by("pk").first()
    if obj is None:  # the viewer sees none (another app's admin they may not open): any row
        obj = model_admin.model._default_manager.order_by("pk").first()
    return obj


def admin_pages(*, viewer=None, objects: dict | None = None, site=admin.site) -> list[AdminPage]:
    """Every page of ``site``, with objects that ``viewer`` can see where there are any (default: any).

    ``objects`` (model label -> object) overrides the object chosen for a model. Which pages exist (add,
    delete) is what the admin allows a superuser; for another user some of them are deliberately 403.
    """
    viewer = viewer or _any_superuser()
    most = _request_for(_any_superuser())
    objects = objects or {}
    pages: list[AdminPage] = []

    # The site's own views (index, password change, login, ...) and each app's index.
    for pattern in site.get_urls():
        name = getattr(pattern, "name", None)
        if not isinstance(pattern, URLPattern) or not name or name in SKIPPED_VIEWS:
            continue
        if name == "app_list":
            for app_label in sorted({m._meta.app_label for m in site._registry}):
                url = reverse(f"{site.name}:app_list", args=[app_label])
                pages.append(AdminPage(f"app-{_slug(app_label)}", url, f"{site.name}:app_list", "app"))
            continue
        if _params(pattern):
            raise AssertionError(
                f"admin view {name!r} takes {_params(pattern)}: add it to SKIPPED_VIEWS or here"
            )
        url = reverse(f"{site.name}:{name}")
        pages.append(
            AdminPage(_slug(name), url, f"{site.name}:{name}", "site", anonymous=name in ANONYMOUS_VIEWS)
        )

    # Each registered model: its standard routes and its custom views.
    for model, model_admin in sorted(site._registry.items(), key=lambda item: item[0]._meta.label_lower):
        label = model._meta.label_lower
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        obj = objects.get(label) or pick_object(model_admin, viewer)
        if obj is None:
            raise AssertionError(f"no {label} in the database: seed one (tests/admin_pages.py)")
        allowed = {
            "add": model_admin.has_add_permission(most),
            "delete": model_admin.has_delete_permission(most, obj),
        }
        for pattern in model_admin.get_urls():
            name = getattr(pattern, "name", None)
            if not name or name in SKIPPED_VIEWS:
                continue  # unnamed: Django's redirect from <pk>/ to <pk>/change/
            suffix = name.removeprefix(f"{info}_")
            route = STANDARD_SUFFIXES.get(suffix) if name.startswith(f"{info}_") else None
            if route in ("add", "delete") and not allowed[route]:
                continue
            params = _params(pattern)
            if route == "history_version":
                history = obj.history.order_by("-history_date", "-history_id").first()
                if history is None:
                    raise AssertionError(f"{label} {obj.pk} has no history record to show")
                args = [obj.pk, history.history_id]
            elif len(params) == 1 and params <= OBJECT_PARAMS:
                args = [obj.pk]
            elif not params:
                args = []
            else:
                raise AssertionError(f"admin view {name!r} takes {params}: add it to SKIPPED_VIEWS or here")
            url = reverse(f"{site.name}:{name}", args=args)
            slug = f"{_slug(label)}-{route.replace('_', '-')}" if route else _slug(name)
            kind = "model" if route else "custom"
            pages.append(AdminPage(slug, url, f"{site.name}:{name}", kind, model=label, route=route))
    slugs = [page.slug for page in pages]
    assert len(slugs) == len(set(slugs)), "two admin pages share a slug"
    return pages


def named_admin_views(site=admin.site) -> set[str]:
    """Every named view of the site and of its ModelAdmins (to check that each is listed or skipped)."""
    names = {p.name for p in site.get_urls() if isinstance(p, URLPattern) and p.name}
    for model_admin in site._registry.values():
        names |= {p.name for p in model_admin.get_urls() if getattr(p, "name", None)}
    return names
