"""Rubric authoring: criteria inline, publish and clone actions that say what blocks them; locked when published."""

from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ..errors import ApplicationError
from ..models import Criterion, Rubric, RubricVersion
from ..services.rubrics import rubric_version_clone, rubric_version_problems, rubric_version_publish


class CriterionInline(admin.StackedInline):
    model = Criterion
    extra = 0
    fields = [
        ("key", "position", "source", "computed_from"),
        ("name_zh_hans", "name_en"),
        ("description_zh_hans", "description_en"),
        ("weight", "scale_min", "scale_max", "is_gate", "gate_threshold"),
        "levels",
    ]

    def _locked(self, obj) -> bool:
        return obj is not None and obj.is_locked

    def has_add_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_delete_permission(request, obj)


@admin.register(Rubric)
class RubricAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh_hans", "name_en", "pillar", "is_default"]
    list_filter = ["pillar"]
    search_fields = ["code", "name_zh_hans", "name_en"]


@admin.register(RubricVersion)
class RubricVersionAdmin(admin.ModelAdmin):
    inlines = [CriterionInline]
    list_display = ["rubric", "number", "status", "published_at", "criteria_count"]
    list_filter = ["status", "rubric__pillar"]
    actions = ["publish", "clone"]
    readonly_fields = ["status", "published_at", "published_by", "created_at", "source_checksum"]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).select_related("rubric").annotate(n_criteria=Count("criteria"))

    @admin.display(description=_("criteria"), ordering="n_criteria")
    def criteria_count(self, obj):
        return obj.n_criteria

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_locked:
            return [f.name for f in RubricVersion._meta.concrete_fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return (obj is None or not obj.is_locked) and super().has_delete_permission(request, obj)

    @admin.action(description=_("Publish the selected draft (re-scores its pillar)"), permissions=["change"])
    def publish(self, request, queryset):
        for version in queryset:
            problems = rubric_version_problems(version)
            if problems:
                self.message_user(
                    request,
                    _("%(version)s cannot be published: %(problems)s")
                    % {"version": version, "problems": " ".join(problems)},
                    messages.ERROR,
                )
                continue
            try:
                with transaction.atomic():
                    job = rubric_version_publish(version, user=request.user)
            except ApplicationError as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
                continue
            self.message_user(
                request,
                _("%(version)s is published; re-score job %(job)s is queued (see Score jobs).")
                % {"version": version, "job": job.pk if job else "-"},
                messages.SUCCESS,
            )

    @admin.action(description=_("Clone to a new draft"), permissions=["change"])
    def clone(self, request, queryset):
        for version in queryset:
            draft = rubric_version_clone(version, user=request.user)
            self.message_user(
                request, _("Draft %(draft)s created from %(version)s.") % {"draft": draft, "version": version}
            )
