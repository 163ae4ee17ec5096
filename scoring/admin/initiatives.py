"""The initiative admin, extended by scoring: current score and breakdown on the page, score-now, tier filter.

partnerships never imports scoring, so scoring re-registers the initiative admin with a subclass.
"""

from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from partnerships.admin.initiative import InitiativeAdmin
from partnerships.models import Initiative

from ..models import Score
from ..selectors import score_breakdown
from ..services.jobs import score_job_request


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


class ScoredInitiativeAdmin(InitiativeAdmin):
    list_display = [
        *InitiativeAdmin.list_display[:-1],
        "score_total",
        "score_tier",
        InitiativeAdmin.list_display[-1],
    ]
    list_filter = [*InitiativeAdmin.list_filter, TierFilter]
    list_select_related = [*InitiativeAdmin.list_select_related, "current_score"]
    actions = ["score_now"]

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
        return current.total if current else "—"

    @admin.display(description=_("tier"), ordering="current_score__tier")
    def score_tier(self, obj):
        current = getattr(obj, "current_score", None)
        if not current:
            return "—"
        return f"{current.tier}{'*' if current.provisional else ''}"

    @admin.display(description=_("current score and breakdown"))
    def score_panel(self, obj):
        history = list(
            Score.objects.filter(initiative=obj)
            .select_related("rubric_version__rubric")
            .order_by("-computed_at", "-id")[:20]
        )
        current = history[0] if history else None
        return render_to_string(
            "scoring/admin/score_panel.html",
            {
                "score": current,
                "breakdown": score_breakdown(current) if current else None,
                "history": history,
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


admin.site.unregister(Initiative)
admin.site.register(Initiative, ScoredInitiativeAdmin)
