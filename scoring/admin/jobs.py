"""Score jobs and scores, read-only and scoped to the user's banks."""

from django.contrib import admin
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from partnerships.admin.base import TenantScopedMixin
from partnerships.admin.filters import TenantBankFilter

from ..models import Score, ScoreJob
from ..selectors import score_breakdown
from ..services.sensitivity import score_tier_changes


class ReadOnlyMixin:
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ScoreJob)
class ScoreJobAdmin(ReadOnlyMixin, TenantScopedMixin, admin.ModelAdmin):
    list_display = [
        "short_id",
        "kind",
        "status",
        "bank",
        "progress",
        "scores_created",
        "requested_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "kind", ("bank", TenantBankFilter)]
    search_fields = ["id", "=request_id"]  # a request id from a response header or a log line finds its job
    list_select_related = ["bank", "requested_by"]
    # The id under a translated label (the model's UUID field has none: Django would show “Id”).
    readonly_fields = ["job_id" if f.name == "id" else f.name for f in ScoreJob._meta.concrete_fields]

    @admin.display(description=_("job"))
    def short_id(self, obj):
        return str(obj.pk)[:8]

    @admin.display(description=_("job ID"))
    def job_id(self, obj):
        return str(obj.pk)

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return f"{obj.done + obj.failed}/{obj.total}"


@admin.register(Score)
class ScoreAdmin(ReadOnlyMixin, TenantScopedMixin, admin.ModelAdmin):
    list_display = [
        "initiative",
        "total",
        "tier",
        "gate_passed",
        "provisional",
        "rubric_version",
        "computed_at",
    ]
    list_filter = ["tier", "gate_passed", "provisional"]
    search_fields = ["initiative__title", "initiative__code"]
    list_select_related = ["initiative", "rubric_version__rubric"]
    readonly_fields = [*(f.name for f in Score._meta.concrete_fields), "breakdown_table"]
    # The score as a reader wants it (the same panel as on the initiative's page); the stored JSON and the
    # inputs hash only in a collapsed technical section.
    fieldsets = [
        (None, {"fields": ["initiative", "rubric_version", "assessment", "computed_at", "job"]}),
        (_("Score and breakdown"), {"fields": ["breakdown_table"]}),
        (
            _("Technical details"),
            {
                "classes": ["collapse"],
                "fields": [
                    "total",
                    "tier",
                    "gate_passed",
                    "failed_gates",
                    "confidence",
                    "provisional",
                    "inputs_hash",
                    "breakdown",
                ],
            },
        ),
    ]

    @admin.display(description=_("breakdown"))
    def breakdown_table(self, obj: Score):
        return render_to_string(
            "scoring/admin/score_panel.html",
            {
                "score": obj,
                "breakdown": score_breakdown(obj),
                "tier_changes": score_tier_changes(obj),
                "history": [],
            },
        )
