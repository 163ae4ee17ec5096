"""The tenant-scoped admin: a non-superuser sees and changes only the banks they belong to.

Lists, change pages, autocomplete, history and exports all start from ``get_queryset``, so scoping it
makes another bank's object "not found" everywhere. Editing needs the analyst role in the object's bank.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin

from ..models import Bank, Initiative
from ..tenancy import bank_ids_for, object_bank_id, scope_queryset, user_has_bank_role


class TenantScopedMixin:
    """For ModelAdmin and inlines of models with TENANT_BANK_PATH."""

    edit_role = "analyst"
    # Links typed without a scheme are https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user)

    def _may_edit(self, request, obj) -> bool:
        if obj is None:
            ids = bank_ids_for(request.user, min_role=self.edit_role)
            return ids is None or bool(ids)
        return user_has_bank_role(request.user, object_bank_id(obj), min_role=self.edit_role)

    def has_add_permission(self, request, *args):
        # Inlines receive the parent object: adding a KPI needs the edit role in the parent's bank.
        obj = args[0] if args else None
        return super().has_add_permission(request, *args) and self._may_edit(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Bank:
            kwargs["queryset"] = Bank.objects.for_user(request.user, min_role=self.edit_role)
        elif db_field.related_model is Initiative:
            kwargs["queryset"] = Initiative.objects.for_user(request.user, min_role=self.edit_role)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyHistoryMixin:
    """History pages are for reading: a POST to a version page would save it (simple-history's revert form,
    which only hides its button when reverting is disabled), bypassing the change permission."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class TenantScopedAdmin(ReadOnlyHistoryMixin, TenantScopedMixin, SimpleHistoryAdmin):
    """A ModelAdmin with change history whose history pages are scoped like everything else."""

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        qs = super().get_history_queryset(request, history_manager, pk_name, object_id)
        return scope_queryset(qs, request.user)

    def history_view(self, request, object_id, extra_context=None):
        self._require_history_access(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_history_access(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _require_history_access(self, request, object_id) -> None:
        pk_name = self.model._meta.pk.attname
        try:
            history = scope_queryset(self.model.history.filter(**{pk_name: object_id}), request.user)
            visible = history.exists() or self.get_queryset(request).filter(pk=object_id).exists()
        except (ValueError, ValidationError):
            visible = False
        if not visible:
            raise Http404
