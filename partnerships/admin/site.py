"""The admin site: titles in both languages, and the navigation in groups of what people do.

The app list (on the home page and in the sidebar of every page) shows the models grouped by what people do with
them rather than by the Django app that happens to define them: the work of analysts and managers, the reference
data they read, the administration of the system. Membership is explicit (``NAV_GROUPS``); a registered model
missing from the lists shows under "Other", never dropped (and a test fails until it is listed). An app's own
page (``/admin/partnerships/``) keeps Django's list of that app.

The site is Django's default one, ``admin.site``: every admin module registers on it and config/urls.py serves
it. Making it a subclass would take an AdminConfig in INSTALLED_APPS naming the class, and that class could not
live in this package (resolving ``admin.site`` would import the package while it is registering on it), so the
default site gets the one method it needs here, ``get_app_list``. The home page's dashboard is the template's
(config/templates/admin/index.html), filled by scoring's template tag, since partnerships never imports scoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MethodType

from django.contrib import admin
from django.contrib.admin import AdminSite
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


@dataclass(frozen=True)
class NavGroup:
    label: str  # in CSS classes and element ids, like an app label
    name: Promise
    models: tuple[str, ...]  # ``app_label.model_name``, in the order shown


NAV_GROUPS: tuple[NavGroup, ...] = (
    NavGroup(
        "work",
        pgettext_lazy("admin navigation group", "Work"),
        (
            "partnerships.initiative",
            "scoring.assessment",
            "partnerships.kpi",
            "partnerships.evidence",
            "partnerships.partnerduediligence",  # a bank's own records, with a next due date
            "partnerships.partnerexposure",  # joint lending with each partner, month by month
            "partnerships.bankperiodfigures",  # the bank's capital and loans the limits are measured against
            "partnerships.limitbreach",  # joint-lending limits the daily check found breached
            "partnerships.monitoringevent",  # incidents, complaints, findings, breaches, licence changes
            "partnerships.partnershipcontract",  # the contract and exit register
            "scoring.score",
            "scoring.scorejob",
            "scoring.report",
        ),
    ),
    NavGroup(
        "reference",
        pgettext_lazy("admin navigation group", "Reference data"),
        (
            "partnerships.bank",
            "partnerships.membership",  # who belongs to one's bank, and as what: read by every member
            "partnerships.reassessmentpolicy",  # how often the bank re-assesses, by tier and criticality
            "partnerships.reassessmentreminder",  # the weekly re-assessment reminders sent
            "partnerships.webhookendpoint",  # integrators' webhook endpoints: the bank's managers
            "partnerships.webhookdelivery",  # and the log of what was sent to them
            "partnerships.techpartner",
            "partnerships.partnermetric",
            "partnerships.limitrule",  # exposure limits: the regulator's (as files) and each bank's own
            "partnerships.pillar",
            "partnerships.scenariotype",
            "scoring.rubric",
            "scoring.rubricversion",
        ),
    ),
    NavGroup(
        "administration",
        pgettext_lazy("admin navigation group", "Administration"),
        (
            "auth.user",
            "auth.group",
            "authtoken.tokenproxy",
            "django_celery_beat.periodictask",
            "django_celery_beat.crontabschedule",
            "django_celery_beat.intervalschedule",
            "django_celery_beat.clockedschedule",
            "django_celery_beat.solarschedule",
            "django_celery_results.taskresult",
            "django_celery_results.groupresult",
            "axes.accessattempt",
            "axes.accessfailurelog",
            "axes.accesslog",
            # sign-on (partnerships.signon): superusers only
            "partnerships.groupmapping",
            "partnerships.directoryaccount",
            "partnerships.secondfactor",
            "partnerships.signonevent",
        ),
    ),
)
OTHER = NavGroup("other", pgettext_lazy("admin navigation group", "Other"), ())


def group_app_list(app_list: list[dict]) -> list[dict]:
    """Django's app list (apps with the models the user may see) regrouped into ``NAV_GROUPS``.

    Each group looks like an app to the templates (``name``, ``app_label``, ``models``) but has no page of its
    own (``app_url`` empty). Groups the user sees no model of are left out, so "Administration" shows only to
    staff who may see one of its models. Each model keeps its own ``app_label``.
    """
    found: dict[str, dict] = {}
    for app in app_list:
        for model in app["models"]:
            found[model["model"]._meta.label_lower] = {**model, "app_label": app["app_label"]}
    listed = {key for group in NAV_GROUPS for key in group.models}
    unlisted = sorted((key for key in found if key not in listed), key=lambda key: str(found[key]["name"]))
    groups = []
    for group, keys in [*((g, g.models) for g in NAV_GROUPS), (OTHER, unlisted)]:
        models = [found[key] for key in keys if key in found]
        if models:
            groups.append(
                {
                    "name": group.name,
                    "app_label": group.label,
                    "app_url": "",
                    "has_module_perms": True,
                    "models": models,
                }
            )
    return groups


def grouped_app_list(site: AdminSite, request, app_label=None) -> list[dict]:
    """``AdminSite.get_app_list`` for ``site``: the groups, or an app's own list when ``app_label`` is given."""
    # __class__, not type(): admin.site is a lazy proxy, whose __class__ is the site's own class.
    app_list = site.__class__.get_app_list(site, request, app_label)
    return app_list if app_label is not None else group_app_list(app_list)


def configure_admin_site(site: AdminSite | None = None) -> None:
    site = admin.site if site is None else site
    site.site_header = _("Partnership Scorecard")
    site.site_title = _("Partnership Scorecard")
    site.index_title = _("Bank–technology partnerships")
    site.get_app_list = MethodType(grouped_app_list, site)
