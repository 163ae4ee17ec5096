"""E-mail a ready report to its subscribers: a plain-text summary with the XLSX attached (both in the mail's
language), once per report.

Subscribers of a bank's report are the active users with an e-mail address whose membership of that bank has
``receives_reports``; the all-banks report goes to active superusers who subscribe to reports in at least
one bank. Each recipient gets their own message (no one sees the others' addresses). ``emailed_at`` is set
under the row lock in the same transaction, so a redelivered task does not send the report twice.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..models import Report
from ..models.report import ReportStatus
from .export import report_filename, report_xlsx
from .render import report_context, report_title, scope_label

logger = logging.getLogger(__name__)

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_recipients(report: Report) -> list[str]:
    if report.bank_id is None:
        users = get_user_model().objects.filter(
            is_active=True, is_superuser=True, bank_memberships__receives_reports=True
        )
    else:
        users = get_user_model().objects.filter(
            is_active=True,
            bank_memberships__bank_id=report.bank_id,
            bank_memberships__receives_reports=True,
        )
    return sorted(set(users.exclude(email="").values_list("email", flat=True)))


def report_subject(report: Report) -> str:
    payload = report.payload
    return _("%(title)s · %(scope)s · %(start)s – %(end)s") % {
        "title": report_title(payload),
        "scope": scope_label(payload),
        "start": payload["period"]["start"],
        "end": payload["period"]["end"],
    }


def report_summary_text(report: Report) -> str:
    context = report_context(report.payload)
    base = getattr(settings, "SCORECARD_BASE_URL", "").rstrip("/")
    if base:
        from django.urls import reverse

        context["link"] = base + reverse("admin:scoring_report_change", args=[report.pk])
    # Chinese text takes full-width punctuation after its labels and around its asides.
    chinese = (translation.get_language() or "").startswith("zh")
    context.update(sep="：" if chinese else ": ", lp="（" if chinese else " (", rp="）" if chinese else ")")
    return render_to_string("scoring/reports/email.txt", context)


def report_deliver(report_id: int, *, language: str | None = None) -> int:
    """Send the ready report to its subscribers once; returns how many messages went out."""
    with transaction.atomic():
        report = Report.objects.select_for_update(of=("self",)).select_related("bank").get(pk=report_id)
        if report.status != ReportStatus.READY or report.emailed_at is not None:
            return 0
        recipients = report_recipients(report)
        if not recipients:
            report.emailed_at = timezone.now()
            report.save(update_fields=["emailed_at", "updated_at"])
            return 0
        language = language or settings.LANGUAGE_CODE
        with translation.override(language):
            subject = report_subject(report)
            body = report_summary_text(report)
        attachment = report_xlsx(report, language=language)  # the workbook in the mail's language
        messages = []
        for address in recipients:
            message = EmailMessage(subject=subject, body=body, to=[address])
            message.attach(report_filename(report, "xlsx"), attachment, XLSX_MIME)
            messages.append(message)
        sent = get_connection().send_messages(messages) or 0
        report.emailed_at = timezone.now()
        report.save(update_fields=["emailed_at", "updated_at"])
    logger.info("report %s e-mailed to %s subscriber(s)", report_id, sent)
    return sent
