"""Webhook endpoints and their delivery log in the admin (issue 14, ``docs/webhooks.md``).

Managers of a bank (and superusers) only, for reading too: the endpoints and the log are the bank's integration
details. Endpoints are registered, changed and deleted through ``partnerships.services.webhooks``; the signing secret
is shown once — on the page that follows the creation, or the "rotate the secret" action — and never again (no field,
no history: a history table would keep a copy of every secret). The log is read-only, with a "redeliver" action.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..auth import register_model_rule
from ..choices import WebhookEventType
from ..models import WebhookDelivery, WebhookEndpoint
from ..services.webhooks import (
    MANAGE_ROLE,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_endpoint_validate,
    webhook_redeliver,
    webhook_secret_rotate,
)
from ..tenancy import bank_ids_for, scope_queryset
from .base import ServiceAdminMixin, TenantScopedMixin, adopt
from .filters import TenantBankFilter

register_model_rule("partnerships", "webhookendpoint", MANAGE_ROLE, MANAGE_ROLE)
register_model_rule("partnerships", "webhookdelivery", MANAGE_ROLE, None)

FORM_FIELDS = ("bank", "url", "events", "active", "description")


class ManagersOnlyMixin(TenantScopedMixin):
    """Rows of the banks the user manages; the model rules above keep everyone else out of the pages."""

    edit_role = MANAGE_ROLE

    def get_queryset(self, request):
        queryset = super(TenantScopedMixin, self).get_queryset(request)
        return scope_queryset(queryset, request.user, min_role=MANAGE_ROLE)

    def history_view(self, request, object_id, extra_context=None):
        # Django looks the object up before it checks the permission: refuse first, as every other page does.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)


class WebhookEndpointForm(forms.ModelForm):
    # Declared, not generated: a generated URLField would assume http:// for an address typed without a scheme.
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_(
            "HTTPS address that receives the events (POST, JSON, signed as docs/webhooks.md describes). Private, "
            "loopback and reserved addresses are refused."
        ),
    )
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=WebhookEventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The event types this endpoint receives."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = FORM_FIELDS


def _secret_page(model_admin, request, endpoint: WebhookEndpoint, title) -> TemplateResponse:
    """The one page that shows a secret: after creation and after rotation."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "endpoint": endpoint,
        "secret": endpoint.secret,
    }
    response = TemplateResponse(request, "partnerships/admin/webhook_secret.html", context)
    response["Cache-Control"] = "no-store"  # the secret must not stay in a cache
    return response


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceAdminMixin, ManagersOnlyMixin, admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "bank", "event_list", "active", "created_by", "created_at", "secret_rotated_at"]
    list_filter = [("bank", TenantBankFilter), "active"]
    search_fields = ["url", "description"]
    list_select_related = ["bank", "created_by"]
    readonly_fields = ["created_by", "created_at", "secret_rotated_at", "updated_at"]
    actions = ["rotate_secret"]

    @admin.display(description=_("events"))
    def event_list(self, obj: WebhookEndpoint) -> str:
        labels = dict(WebhookEventType.choices)
        return "、".join(str(labels.get(e, e)) for e in obj.events)

    def get_readonly_fields(self, request, obj=None):
        # An endpoint keeps its bank.
        return [*self.readonly_fields, "bank"] if obj is not None else self.readonly_fields

    # --- the service door --------------------------------------------------------------------------------------
    @staticmethod
    def _data(form, cleaned: dict) -> dict:
        names = [n for n in FORM_FIELDS if n in cleaned]
        if form.instance.pk:
            changed = set(form.changed_data)
            names = [n for n in names if n in changed and n != "bank"]
        data = {n: cleaned[n] for n in names}
        if "bank" in data:
            data["bank"] = data["bank"].pk if data["bank"] is not None else None
        if "events" in data:
            data["events"] = list(data["events"])
        return data

    def service_validate(self, request, form, cleaned) -> None:
        endpoint = form.instance if form.instance.pk else None
        webhook_endpoint_validate(user=request.user, data=self._data(form, cleaned), endpoint=endpoint)

    def save_model(self, request, obj, form, change):
        data = self._data(form, form.cleaned_data)
        if change:
            saved = webhook_endpoint_update(user=request.user, endpoint=obj.pk, data=data)
        else:
            saved = webhook_endpoint_create(user=request.user, data=data)
            request._webhook_new_secret = saved.secret
        adopt(obj, saved)

    def service_delete(self, request, obj) -> None:
        webhook_endpoint_delete(user=request.user, endpoint=obj)

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "_webhook_new_secret", None):
            self.message_user(request, _("The endpoint was registered."), messages.SUCCESS)
            return _secret_page(self, request, obj, _("Webhook endpoint registered"))
        return super().response_add(request, obj, post_url_continue)

    # --- rotating the secret -----------------------------------------------------------------------------------
    @admin.action(description=_("Rotate the signing secret (shows the new one once)"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one endpoint to rotate its secret."), messages.ERROR)
            return None
        endpoint = self.run_service(
            request, webhook_secret_rotate, user=request.user, endpoint=queryset.get()
        )
        if endpoint is None:
            return None
        return _secret_page(self, request, endpoint, _("New signing secret"))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ServiceAdminMixin, ManagersOnlyMixin, admin.ModelAdmin):
    """The delivery log: read-only; a manager sends a delivery again with the "redeliver" action."""

    list_display = [
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "last_response_ms",
        "created_at",
        "next_attempt_at",
        "finished_at",
    ]
    list_filter = ["status", "event_type", ("endpoint__bank", TenantBankFilter)]
    search_fields = ["event_id", "endpoint__url"]
    list_select_related = ["endpoint"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "endpoint",
        "event_type",
        "event_id",
        "payload",
        "status",
        "attempts",
        "last_status_code",
        "last_response_ms",
        "last_error",
        "next_attempt_at",
        "created_at",
        "finished_at",
    ]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_redeliver_permission(self, request) -> bool:
        ids = bank_ids_for(request.user, min_role=MANAGE_ROLE)
        return ids is None or bool(ids)

    @admin.action(description=_("Redeliver now"), permissions=["redeliver"])
    def redeliver(self, request, queryset):
        done = 0
        for delivery in queryset:
            if self.run_service(request, webhook_redeliver, user=request.user, delivery=delivery):
                done += 1
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d delivery will be sent again.", "%(count)d deliveries will be sent again.", done
                )
                % {"count": done},
                messages.SUCCESS,
            )
