"""Rubric authoring: criteria inline, publish and clone actions that say what blocks them; locked when published.

A door to ``scoring.services.rubrics``: only superusers author rubrics (the services refuse anyone else), a
published or retired version and its criteria never change, and every save, delete, publish and clone goes
through those services.
"""

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from partnerships.admin.base import ServiceAdminMixin, ServiceInlineMixin, adopt
from partnerships.admin.widgets import DecimalInput

from ..models import Criterion, Rubric, RubricVersion
from ..services.rubrics import (
    CRITERION_FIELDS,
    RUBRIC_FIELDS,
    VERSION_FIELDS,
    criterion_create,
    criterion_delete,
    criterion_update,
    criterion_validate,
    rubric_update,
    rubric_version_clone,
    rubric_version_delete,
    rubric_version_problems,
    rubric_version_publish,
    rubric_version_update,
    rubric_version_validate,
)


def _fields(cleaned: dict, names) -> dict:
    return {name: cleaned[name] for name in names if name in cleaned}


class CriterionInline(ServiceInlineMixin, admin.StackedInline):
    model = Criterion
    extra = 0
    formfield_overrides = {models.DecimalField: {"widget": DecimalInput}}
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

    def service_validate_row(self, request, parent, form) -> None:
        criterion = form.instance if form.instance.pk else None
        criterion_validate(
            user=request.user,
            version=parent,
            data=_fields(form.cleaned_data, CRITERION_FIELDS),
            criterion=criterion,
        )

    def service_create(self, request, parent, form) -> None:
        criterion_create(user=request.user, version=parent, data=_fields(form.cleaned_data, CRITERION_FIELDS))

    def service_update(self, request, obj, form) -> None:
        data = {k: v for k, v in _fields(form.cleaned_data, CRITERION_FIELDS).items() if k != "key"}
        criterion_update(user=request.user, criterion=obj, data=data)

    def service_delete(self, request, obj) -> None:
        criterion_delete(user=request.user, criterion=obj)


@admin.register(Rubric)
class RubricAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name_zh_hans", "name_en", "pillar", "is_default"]
    list_filter = ["pillar"]
    search_fields = ["code", "name_zh_hans", "name_en"]
    readonly_fields = ["code", "urn", "pillar"]

    def has_add_permission(self, request):
        return False  # rubrics arrive as files (load_rubrics), versioned and checked whole

    def has_delete_permission(self, request, obj=None):
        return False

    def service_validate(self, request, form, cleaned) -> None:
        pass  # rubric_update checks and writes in one step; its refusals come back as a message

    def save_model(self, request, obj, form, change):
        adopt(
            obj,
            rubric_update(user=request.user, rubric=obj.pk, data=_fields(form.cleaned_data, RUBRIC_FIELDS)),
        )


@admin.register(RubricVersion)
class RubricVersionAdmin(ServiceAdminMixin, admin.ModelAdmin):
    inlines = [CriterionInline]
    list_display = ["rubric", "number", "status", "published_at", "criteria_count"]
    list_filter = ["status", "rubric__pillar"]
    actions = ["publish", "clone"]
    readonly_fields = [
        "rubric",
        "number",
        "status",
        "published_at",
        "published_by",
        "created_at",
        "source_checksum",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("rubric").annotate(n_criteria=Count("criteria"))

    @admin.display(description=_("criteria"), ordering="n_criteria")
    def criteria_count(self, obj):
        return obj.n_criteria

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_locked:
            return [f.name for f in RubricVersion._meta.concrete_fields]
        return self.readonly_fields

    def has_add_permission(self, request):
        return False  # a new version is a clone of another (or a file loaded by load_rubrics)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or not obj.is_locked) and super().has_delete_permission(request, obj)

    def service_validate(self, request, form, cleaned) -> None:
        rubric_version_validate(
            user=request.user, version=form.instance, data=_fields(cleaned, VERSION_FIELDS)
        )

    def save_model(self, request, obj, form, change):
        data = _fields(form.cleaned_data, VERSION_FIELDS)
        adopt(obj, rubric_version_update(user=request.user, version=obj.pk, data=data))

    def service_delete(self, request, obj) -> None:
        rubric_version_delete(user=request.user, version=obj)

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
            if self.run_service(request, rubric_version_publish, version, user=request.user):
                self.message_user(
                    request,
                    _(
                        "%(version)s is published; its pillar's initiatives are being re-scored (see Score jobs)."
                    )
                    % {"version": version},
                    messages.SUCCESS,
                )

    @admin.action(description=_("Clone to a new draft"), permissions=["change"])
    def clone(self, request, queryset):
        for version in queryset:
            draft = self.run_service(request, rubric_version_clone, version, user=request.user)
            if draft:
                self.message_user(
                    request,
                    _("Draft %(draft)s created from %(version)s.") % {"draft": draft, "version": version},
                )
