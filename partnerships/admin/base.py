"""The tenant-scoped admin: a non-superuser sees and changes only the banks they belong to.

Lists, change pages, autocomplete, history and exports all start from ``get_queryset``, so scoping it
makes another bank's object "not found" everywhere. Editing needs the analyst role in the object's bank.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import models
from django.forms.models import BaseInlineFormSet, construct_instance
from django.http import Http404, HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from ..errors import NON_FIELD, ServiceError
from ..models import Bank, Initiative
from ..tenancy import bank_ids_for, object_bank_id, scope_queryset, user_has_bank_role
from .localize import HideLinkRowsMixin, ReadableHistoryMixin
from .widgets import DecimalInput


class TenantScopedMixin:
    """For ModelAdmin and inlines of models with TENANT_BANK_PATH."""

    edit_role = "analyst"
    # Links typed without a scheme are https (Django 6's default, chosen now).
    formfield_overrides = {
        models.URLField: {"assume_scheme": "https"},
        models.DecimalField: {"widget": DecimalInput},
    }

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
        # Only what the user may write to is offered; anything else posted reads like the services' refusal.
        if db_field.related_model is Bank:
            kwargs["queryset"] = Bank.objects.for_user(request.user, min_role=self.edit_role)
            kwargs.setdefault("error_messages", {"invalid_choice": _("Choose one of your banks.")})
        elif db_field.related_model is Initiative:
            kwargs["queryset"] = Initiative.objects.for_user(request.user, min_role=self.edit_role)
            kwargs.setdefault(
                "error_messages", {"invalid_choice": _("Choose an initiative of one of your banks.")}
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyHistoryMixin(ReadableHistoryMixin):
    """History pages are for reading: a POST to a version page would save it (simple-history's revert form,
    which only hides its button when reverting is disabled), bypassing the change permission. Their diffs read
    in the reader's language (``localize.ReadableHistoryMixin``)."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class TenantScopedAdmin(HideLinkRowsMixin, ReadOnlyHistoryMixin, TenantScopedMixin, SimpleHistoryAdmin):
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


# --- The admin as a door to the services ---------------------------------------------------------------------
# Forms check nothing of their own: a form's clean() asks the service to validate (and shows its messages on the
# fields), and saving calls the service, which checks everything again under its locks. The model's own checks
# run inside the service too, so the form skips them (one message per problem, in the service's words).


def add_service_errors(form, exc: ServiceError, *, field_map: dict[str, str] | None = None) -> None:
    """Show a service's refusal on a form: on the field it names when the form has it, else above the form."""
    fields = exc.fields or {NON_FIELD: [exc.message]}
    model = getattr(getattr(form, "_meta", None), "model", None)
    for name, texts in fields.items():
        target = (field_map or {}).get(name, name)
        base = target.split("[")[0].split(".")[0]
        if target in form.fields:
            form.add_error(target, texts)
        elif name == NON_FIELD:
            form.add_error(None, texts)
        else:
            label = _verbose_name(model, base) or base
            form.add_error(None, [f"{label}{name[len(base) :]}: {m}" for m in texts])


def _verbose_name(model, name: str) -> str:
    if model is None:
        return ""
    try:
        return str(model._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return ""


class ServiceFormMixin:
    """A ModelForm of the admin door: ``service_validate(cleaned_data)`` (set by the admin) decides what is valid.

    ``admin_request`` is the request (bound by ``ServiceAdminMixin.get_form``); ``admin_formsets`` the inline
    formsets posted with it, for a service that takes the inline rows with the object (partners).
    """

    admin_request = None
    admin_model_admin = None
    service_field_map: dict[str, str] = {}

    def clean(self):
        cleaned = super().clean()
        validate = getattr(self.admin_model_admin, "service_validate", None)
        if validate is not None and not self.errors:
            try:
                validate(self.admin_request, self, cleaned)
            except ServiceError as exc:
                add_service_errors(self, exc, field_map=self.service_field_map)
        return cleaned

    def _post_clean(self):
        # Build the instance only: the service runs the model's checks itself.
        opts = self._meta
        self.instance = construct_instance(self, self.instance, opts.fields, opts.exclude)


class ServiceInlineFormSet(BaseInlineFormSet):
    """Inline rows of the admin door: each changed row is checked by its service (``service_validate_row``)."""

    admin_request = None
    admin_inline = None

    def clean(self):
        super().clean()
        validate = getattr(self.admin_inline, "service_validate_row", None)
        if validate is None:
            return
        for form in self.forms:
            if not form.has_changed() or form.errors or (self.can_delete and self._should_delete_form(form)):
                continue
            try:
                validate(self.admin_request, self.instance, form)
            except ServiceError as exc:
                add_service_errors(form, exc)

    def validate_unique(self):
        pass  # the services check uniqueness, with their own message


class ServiceInlineForm(forms.ModelForm):
    def _post_clean(self):
        opts = self._meta
        self.instance = construct_instance(self, self.instance, opts.fields, opts.exclude)


class ServiceInlineMixin:
    """An inline whose rows are written by services: ``service_create(request, parent, form)``,
    ``service_update(request, obj, form)``, ``service_delete(request, obj)``; ``service_validate_row`` checks."""

    form = ServiceInlineForm
    formset = ServiceInlineFormSet

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"admin_request": request, "admin_inline": self})

    def save_rows(self, request, formset) -> None:
        # The formset's bookkeeping (new, changed, deleted objects) feeds the admin's change message.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for form in formset.initial_forms:
            if formset.can_delete and formset._should_delete_form(form):
                if form.instance.pk:
                    self.service_delete(request, form.instance)
                    formset.deleted_objects.append(form.instance)
            elif form.has_changed():
                self.service_update(request, form.instance, form)
                formset.changed_objects.append((form.instance, form.changed_data))
        for form in formset.extra_forms:
            if form.has_changed() and not (formset.can_delete and formset._should_delete_form(form)):
                self.service_create(request, formset.instance, form)
                formset.new_objects.append(form.instance)


def adopt(target, saved) -> None:
    """Make the admin's form instance the row the service saved (its id for the redirect and the log)."""
    for field in type(saved)._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


class ServiceAdminMixin:
    """A ModelAdmin whose saves and deletes call services; a refusal at save time (a race since the form was
    checked) rolls the whole page back and is shown as a message, never as a server error."""

    service_form_mixin = ServiceFormMixin

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        bases = (form,) if issubclass(form, ServiceFormMixin) else (self.service_form_mixin, form)
        return type(form.__name__, bases, {"admin_request": request, "admin_model_admin": self})

    def _create_formsets(self, request, obj, change):
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        request._admin_formsets = formsets  # the form's clean() sees the inline rows of the same write
        request._admin_inlines = inline_instances
        return formsets, inline_instances

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as exc:
            for message in exc.messages():
                self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_related(self, request, form, formsets, change):
        # No form.save_m2m(): the service wrote the object's relations. Inline rows go through their services.
        for formset, inline in zip(formsets, getattr(request, "_admin_inlines", []), strict=True):
            if not isinstance(inline, ServiceInlineMixin):
                raise ImproperlyConfigured(f"{type(inline).__name__} must write through a service")
            inline.save_rows(request, formset)

    def delete_model(self, request, obj):
        self.service_delete(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.service_delete(request, obj)

    def run_service(self, request, func, *args, success=None, **kwargs):
        """Call a service for an admin action or button: its refusal becomes an error message."""
        try:
            result = func(*args, **kwargs)
        except ServiceError as exc:
            for message in exc.messages():
                self.message_user(request, message, messages.ERROR)
            return None
        if success:
            self.message_user(request, success, messages.SUCCESS)
        return result if result is not None else True
