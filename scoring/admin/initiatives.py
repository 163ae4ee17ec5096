"""The initiative admin, extended by scoring: current score, breakdown, what would change the tier and the score
charts on the page, score-now, tier filter.

partnerships never imports scoring, so scoring re-registers the initiative admin with a subclass.
"""

from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from partnerships.admin.initiative import InitiativeAdmin
from partnerships.formatting import fmt_total
from partnerships.models import Initiative

from ..reports.breakdowns import BREAKDOWN_MAX_INITIATIVES, breakdown_filename, breakdown_table
from ..reports.sheets import tables_csv, tables_xlsx
from ..selectors import score_breakdown
from ..services.jobs import score_job_request
from ..services.score_charts import initiative_score_history, score_charts
from ..services.sensitivity import score_tier_changes
from .checklists import InitiativeChecklistAdminMixin


class TierFilter(admin.SimpleListFilter):
    title = _("tier")
    parameter_name = "tier"

    def lookups(self, request, model_admin):
        return [("A", "A"), ("B", "B"), ("C", "C"), ("D", "D"), ("none", _("not scored"))]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(current_score__isnull=True)
        if self.value():
            return queryset.filter(current_score__tier=self.value())
        return queryset


class ScoredInitiativeAdmin(InitiativeChecklistAdminMixin, InitiativeAdmin):
    list_display = [
        *InitiativeAdmin.list_display[:-1],
        "score_total",
        "score_tier",
        InitiativeAdmin.list_display[-1],
    ]
    list_filter = [*InitiativeAdmin.list_filter, TierFilter]
    list_select_related = [*InitiativeAdmin.list_select_related, "current_score"]
    actions = ["score_now", "export_breakdowns_xlsx", "export_breakdowns_csv"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.insert(1, (_("Score"), {"fields": ["score_panel"]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "score_panel"]

    @admin.display(description=_("score"), ordering="current_score__total")
    def score_total(self, obj):
        current = getattr(obj, "current_score", None)
        return fmt_total(current.total) if current else "—"

    @admin.display(description=_("tier"), ordering="current_score__tier")
    def score_tier(self, obj):
        current = getattr(obj, "current_score", None)
        if not current:
            return "—"
        return f"{current.tier}{'*' if current.provisional else ''}"

    @admin.display(description=_("current score and breakdown"))
    def score_panel(self, obj):
        history = initiative_score_history(obj)  # one query, bounded
        current = history[0] if history else None
        breakdown = score_breakdown(current) if current else None
        return render_to_string(
            "scoring/admin/score_panel.html",
            {
                "score": current,
                "breakdown": breakdown,
                "tier_changes": score_tier_changes(current) if current else None,
                "charts": score_charts(history, breakdown),
                "history": history[:20],
                "jobs_url": reverse("admin:scoring_scorejob_changelist"),
            },
        )

    @admin.action(description=_("Score now"), permissions=["change"])
    def score_now(self, request, queryset):
        by_bank: dict[int, list[int]] = {}
        for initiative_id, bank_id in queryset.values_list("id", "bank_id"):
            by_bank.setdefault(bank_id, []).append(initiative_id)
        for ids in by_bank.values():
            job = self.run_service(request, score_job_request, user=request.user, initiative_ids=ids)
            if job:
                url = reverse("admin:scoring_scorejob_change", args=[job.pk])
                self.message_user(
                    request,
                    format_html(
                        '{} <a href="{}">{}</a>',
                        ngettext(
                            "Scoring %(n)d initiative; the score appears on its page when it is done.",
                            "Scoring %(n)d initiatives; each score appears on its page when it is done.",
                            job.total,
                        )
                        % {"n": job.total},
                        url,
                        _("Follow the score job"),
                    ),
                    messages.SUCCESS,
                )

    # The selected initiatives' score breakdowns as a file, in the reader's language (scoring.reports.breakdowns).
    def _breakdowns(self, request, queryset, extension: str, write, content_type: str):
        if queryset.count() > BREAKDOWN_MAX_INITIATIVES:
            self.message_user(
                request,
                _("Select at most %(n)d initiatives for one breakdown export (filter the list first).")
                % {"n": BREAKDOWN_MAX_INITIATIVES},
                messages.WARNING,
            )
            return None
        response = HttpResponse(write([breakdown_table(queryset)]), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{breakdown_filename(extension)}"'
        return response

    @admin.action(description=_("Download score breakdowns (XLSX)"), permissions=["view"])
    def export_breakdowns_xlsx(self, request, queryset):
        return self._breakdowns(
            request,
            queryset,
            "xlsx",
            tables_xlsx,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    @admin.action(description=_("Download score breakdowns (CSV)"), permissions=["view"])
    def export_breakdowns_csv(self, request, queryset):
        return self._breakdowns(request, queryset, "csv", tables_csv, "text/csv; charset=utf-8")


admin.site.unregister(Initiative)
admin.site.register(Initiative, ScoredInitiativeAdmin)
