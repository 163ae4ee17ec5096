"""Sign-on in the admin, for superusers: the group mapping (through the services), directory accounts and second
factors (read, and reset by deleting), and the sign-in audit (read-only). The admin's login gets the identity
provider's button and the directory's messages (``views.admin_login``, ``forms.SignOnAuthenticationForm``)."""

from __future__ import annotations

from types import MethodType

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..errors import ServiceError
from .forms import SignOnAuthenticationForm
from .models import DirectoryAccount, GroupMapping, SecondFactor, SignOnEvent
from .services.mapping import group_mapping_create, group_mapping_delete, group_mapping_update
from .services.second_factor import recovery_codes_left, second_factor_reset
from .views import admin_login


class SuperuserOnlyMixin:
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


class ReadOnlyMixin(SuperuserOnlyMixin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GroupMapping)
class GroupMappingAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    list_display = ("group", "source", "bank", "role", "created_at")
    list_filter = ("source", "role", "bank")
    search_fields = ("group", "bank__code")
    fields = ("source", "group", "bank", "role")

    def get_readonly_fields(self, request, obj=None):
        return ("source", "group", "bank") if obj is not None else ()

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    has_change_permission = has_delete_permission = lambda self, request, obj=None: (
        request.user.is_active and request.user.is_superuser
    )

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class ServiceForm(form):
            def _post_clean(self):
                super()._post_clean()
                if self.errors:
                    return
                try:
                    if self.instance.pk is None:
                        self.instance = group_mapping_create(
                            user=request.user,
                            source=self.cleaned_data["source"],
                            group=self.cleaned_data["group"],
                            bank=self.cleaned_data["bank"],
                            role=self.cleaned_data["role"],
                        )
                    else:
                        group_mapping_update(
                            user=request.user, mapping=self.instance, role=self.cleaned_data["role"]
                        )
                except ServiceError as error:
                    for field, problems in (error.fields or {"__all__": [error.message]}).items():
                        target = field if field in self.fields else None
                        for problem in problems:
                            self.add_error(target, ValidationError(problem))

        return ServiceForm

    def save_model(self, request, obj, form, change):
        pass  # the service saved it while the form was checked

    def save_related(self, request, form, formsets, change):
        pass

    def delete_model(self, request, obj):
        group_mapping_delete(user=request.user, source=obj.source, group=obj.group, bank=obj.bank)

    def delete_queryset(self, request, queryset):
        for mapping in queryset:
            self.delete_model(request, mapping)


@admin.register(DirectoryAccount)
class DirectoryAccountAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("user", "source", "disabled", "checked_at", "group_count")
    list_filter = ("source", "disabled")
    search_fields = ("user__username", "subject")
    list_select_related = ("user",)
    fields = ("user", "source", "subject", "group_list", "disabled", "checked_at", "created_at")
    readonly_fields = fields

    @admin.display(description=_("groups"))
    def group_count(self, obj):
        return len(obj.groups or [])

    @admin.display(description=_("groups"))
    def group_list(self, obj):
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((g,) for g in obj.groups or []))
        )


@admin.register(SecondFactor)
class SecondFactorAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    """Who has set up a second factor; deleting one resets it (with the recovery codes): the user sets it up
    again at their next sign-in."""

    list_display = ("owner", "is_set_up", "last_used", "codes_left")
    search_fields = ("user__username",)
    list_select_related = ("user",)
    fields = ("owner", "is_set_up", "last_used", "codes_left")
    readonly_fields = fields
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    @admin.display(description=_("user"), ordering="user__username")
    def owner(self, obj):
        return obj.user

    @admin.display(description=_("set up"), boolean=True, ordering="confirmed")
    def is_set_up(self, obj):
        return obj.confirmed

    @admin.display(description=_("last used"))
    def last_used(self, obj):
        return obj.last_used_at or "—"

    @admin.display(description=_("recovery codes left"))
    def codes_left(self, obj):
        return recovery_codes_left(obj.user)

    def delete_model(self, request, obj):
        second_factor_reset(user=obj.user, by=request.user, request=request)
        messages.info(request, _("The user sets up a new second factor at their next sign-in."))


@admin.register(SignOnEvent)
class SignOnEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "kind", "method", "channel", "username", "ip_address", "bank_code", "detail")
    list_filter = ("kind", "method", "channel")
    search_fields = ("username", "ip_address", "detail")
    date_hierarchy = "at"
    fields = (
        "at",
        "kind",
        "method",
        "channel",
        "user",
        "username",
        "ip_address",
        "user_agent",
        "bank_code",
        "detail",
    )
    readonly_fields = fields
    actions = None


# django-otp's own admins (English only, with the secret key on the change page) give way to SecondFactorAdmin.
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)

admin.site.login_form = SignOnAuthenticationForm
admin.site.login = MethodType(admin_login, admin.site)
