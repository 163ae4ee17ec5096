"""The reports admin: read a report in the page, download it as CSV or XLSX, print it, ask for one now.

Everything starts from the tenant-scoped queryset, so another bank's report is "not found" by every route —
list, change page, downloads, print view and the generate buttons. Reports are read-only here; asking for one
(or for a rebuild) needs the analyst role in its bank, and the all-banks report needs a superuser.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from partnerships.admin.base import TenantScopedMixin
from partnerships.admin.filters import TenantBankFilter
from partnerships.models import Bank
from partnerships.tenancy import bank_ids_for

from .models import Report
from .models.report import ReportKind, ReportStatus
from .reports.export import report_csv, report_filename, report_xlsx
from .reports.render import report_page, report_render
from .reports.services import GENERATE_ROLE, last_complete_week_start, may_generate, report_request

ALL_BANKS = "all"  # the form's value for the all-banks scope (superusers)

DOWNLOADS = {
    "csv": ("text/csv; charset=utf-8", report_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", report_xlsx),
}


def report_html_for(report: Report, language: str | None) -> str:
    """The stored HTML if it is in the reader's language, else the same page rendered from the payload."""
    if not report.payload:
        return ""
    if report.html and (not language or report.language == language):
        return report.html
    return report_render(report.payload, language=language)


class GenerateReportForm(forms.Form):
    bank = forms.ChoiceField(label=_("Scope"))
    period = forms.DateField(
        label=_("Week"),
        widget=AdminDateWidget,
        help_text=_("Any day of the week (Monday to Sunday, Asia/Shanghai)."),
    )
    force = forms.BooleanField(label=_("Rebuild if it is already ready"), required=False, initial=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        banks = Bank.objects.for_user(user, min_role=GENERATE_ROLE).order_by("code")
        choices = [(str(b.pk), f"{b.code} · {b}") for b in banks]
        if user.is_superuser:
            choices.append((ALL_BANKS, _("All banks")))
        self.fields["bank"].choices = choices
        self.fields["period"].initial = last_complete_week_start()

    def bank_id(self) -> int | None:
        value = self.cleaned_data["bank"]
        return None if value == ALL_BANKS else int(value)


@admin.register(Report)
class ReportAdmin(TenantScopedMixin, admin.ModelAdmin):
    list_display = ["period_start", "period_end", "scope", "kind", "status", "generated_at", "downloads"]
    list_filter = ["kind", "status", ("bank", TenantBankFilter)]
    list_select_related = ["bank"]
    date_hierarchy = "period_start"
    search_fields = ["bank__code", "bank__name_zh_hans", "bank__name_en"]
    fields = [
        "kind",
        "bank",
        ("period_start", "period_end"),
        "status",
        ("generated_at", "emailed_at"),
        "attempts",
        "error",
    ]
    readonly_fields = [
        "kind",
        "bank",
        "period_start",
        "period_end",
        "status",
        "generated_at",
        "emailed_at",
        "attempts",
        "error",
    ]
    actions = ["generate_again"]
    change_form_template = "scoring/reports/admin/change_form.html"
    change_list_template = "scoring/reports/admin/change_list.html"

    # -- read-only ---------------------------------------------------------------------------------------

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_changelist(self, request, **kwargs):
        class ReportChangeList(ChangeList):
            # The list never shows the payload or the page, which can be large.
            def get_queryset(self, request, exclude_parameters=None):
                return super().get_queryset(request, exclude_parameters).defer("payload", "html")

        return ReportChangeList

    @admin.display(description=_("scope"), ordering="bank__code")
    def scope(self, obj):
        return obj.bank if obj.bank_id else _("All banks")

    @admin.display(description=_("downloads"))
    def downloads(self, obj):
        if obj.status != ReportStatus.READY:
            return "–"
        return format_html(
            '<a href="{}">CSV</a> · <a href="{}">XLSX</a>',
            reverse("admin:scoring_report_download", args=[obj.pk, "csv"]),
            reverse("admin:scoring_report_download", args=[obj.pk, "xlsx"]),
        )

    # -- URLs ----------------------------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("generate/", wrap(self.generate_view), name="scoring_report_generate"),
            path(
                "<path:object_id>/download/<str:fmt>/",
                wrap(self.download_view),
                name="scoring_report_download",
            ),
            path("<path:object_id>/print/", wrap(self.print_view), name="scoring_report_print"),
            path(
                "<path:object_id>/regenerate/",
                wrap(require_POST(self.regenerate_view)),
                name="scoring_report_regenerate",
            ),
            *super().get_urls(),
        ]

    def _visible_report(self, request, object_id) -> Report:
        """The report if this user may read it; 404 otherwise (another bank's report does not exist)."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404
        return obj

    def download_view(self, request, object_id, fmt):
        if fmt not in DOWNLOADS:
            raise Http404
        report = self._visible_report(request, object_id)
        if report.status != ReportStatus.READY:
            raise Http404
        content_type, export = DOWNLOADS[fmt]
        response = HttpResponse(export(report), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{report_filename(report, fmt)}"'
        return response

    def print_view(self, request, object_id):
        report = self._visible_report(request, object_id)
        if report.status != ReportStatus.READY:
            raise Http404
        language = translation.get_language()
        fragment = report_html_for(report, language)
        return HttpResponse(report_page(fragment, payload=report.payload, language=language))

    def regenerate_view(self, request, object_id):
        report = self._visible_report(request, object_id)
        if not may_generate(request.user, report.bank_id):
            raise PermissionDenied
        report_request(
            user=request.user,
            kind=report.kind,
            bank_id=report.bank_id,
            period_start=report.period_start,
            force=True,
        )
        self.message_user(
            request, _("The report is being rebuilt; reload this page in a moment."), messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:scoring_report_change", args=[report.pk]))

    def generate_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        ids = bank_ids_for(request.user, min_role=GENERATE_ROLE)
        if ids is not None and not ids:
            raise PermissionDenied
        form = GenerateReportForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            bank_id = form.bank_id()
            if not may_generate(request.user, bank_id):
                raise PermissionDenied
            report, enqueued = report_request(
                user=request.user,
                kind=ReportKind.WEEKLY_PORTFOLIO,
                bank_id=bank_id,
                period_start=form.cleaned_data["period"],
                force=form.cleaned_data["force"],
            )
            if enqueued:
                self.message_user(
                    request,
                    _("Report for the week of %(start)s requested; it is ready in a moment.")
                    % {"start": report.period_start},
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    _("That report is already ready; tick “Rebuild” to build it again."),
                    messages.INFO,
                )
            return HttpResponseRedirect(reverse("admin:scoring_report_change", args=[report.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Generate a portfolio report"),
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "scoring/reports/admin/generate.html", context)

    # -- pages ---------------------------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        report = self._visible_report(request, object_id)
        extra = {
            # Safe: the HTML was rendered by our autoescaping templates from the payload, never typed by anyone.
            "report_html": mark_safe(report_html_for(report, translation.get_language())),
            "report_ready": report.status == ReportStatus.READY,
            # A report on its way: the page reloads itself every few seconds until it is ready or failed.
            "report_building": report.status in (ReportStatus.PENDING, ReportStatus.RUNNING),
            "may_generate": may_generate(request.user, report.bank_id),
            "csv_url": reverse("admin:scoring_report_download", args=[report.pk, "csv"]),
            "xlsx_url": reverse("admin:scoring_report_download", args=[report.pk, "xlsx"]),
            "print_url": reverse("admin:scoring_report_print", args=[report.pk]),
            "regenerate_url": reverse("admin:scoring_report_regenerate", args=[report.pk]),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra)

    def changelist_view(self, request, extra_context=None):
        ids = bank_ids_for(request.user, min_role=GENERATE_ROLE)
        extra = {"may_generate_any": ids is None or bool(ids), **(extra_context or {})}
        return super().changelist_view(request, extra)

    # -- actions -------------------------------------------------------------------------------------------

    @admin.action(description=_("Generate the selected reports again now"))
    def generate_again(self, request, queryset):
        done = refused = 0
        for report in queryset.only("pk", "kind", "bank_id", "period_start"):
            if not may_generate(request.user, report.bank_id):
                refused += 1
                continue
            report_request(
                user=request.user,
                kind=report.kind,
                bank_id=report.bank_id,
                period_start=report.period_start,
                force=True,
            )
            done += 1
        if done:
            self.message_user(
                request, _("%(n)d report(s) will be rebuilt in a moment.") % {"n": done}, messages.SUCCESS
            )
        if refused:
            self.message_user(
                request,
                _("%(n)d report(s) skipped: you need the analyst role in their bank.") % {"n": refused},
                messages.WARNING,
            )
