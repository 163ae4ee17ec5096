"""The admin home page's dashboard as a template tag: config/templates/admin/index.html shows it.

A tag, not an admin view: partnerships owns the admin site and never imports scoring, so the page's template asks
scoring for its part. The tag only reads the selector (``scoring.dashboard``) and adds what the page's script
needs to show a job the page did not list (labels, bank names, URLs).
"""

from django import template
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext, pgettext

from ..choices import JobKind, JobStatus
from ..dashboard import ACTIVE_JOBS, SHOWN, dashboard_for

register = template.Library()

JOB_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
POLL_SECONDS = 3
POLLED_JOBS = 50  # one page of the API's list: enough to follow every job the page shows


@register.inclusion_tag("scoring/admin/dashboard.html", takes_context=True)
def scoring_dashboard(context):
    request = context["request"]
    dashboard = dashboard_for(request.user)
    separator = pgettext("between the items of a list", ", ")
    query = urlencode([*(("status", status) for status in ACTIVE_JOBS), ("page_size", POLLED_JOBS)])
    return {
        "request": request,
        "d": dashboard,
        "bank_list": separator.join(dashboard.banks.values()),
        "job_script": {
            "list": f"{reverse('api:score-job-list')}?{query}",
            "detail": reverse("api:score-job-detail", args=[JOB_PLACEHOLDER]),
            "change": reverse("admin:scoring_scorejob_change", args=[JOB_PLACEHOLDER]),
            "placeholder": JOB_PLACEHOLDER,
            "every": POLL_SECONDS * 1000,
            "rows": SHOWN,  # jobs started after the page was drawn are added up to this many rows
            "status": {value: str(label) for value, label in JobStatus.choices},
            "kind": {value: str(label) for value, label in JobKind.choices},
            "banks": {str(pk): name for pk, name in dashboard.banks.items()},
            "all_banks": gettext("All banks"),
        },
    }
