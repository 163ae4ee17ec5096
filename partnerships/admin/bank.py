"""Banks and memberships: readable by members, edited by superusers; a bank's managers change its lending profile
(bank type, home region, early-warning level). Every write goes through ``partnerships.services.banks``."""

from django.contrib import admin
from django.contrib.admin.utils import NestedObjects, quote
from django.db import router
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from ..models import Bank, LimitBreach, Membership, PartnerExposure
from ..services.banks import BANK_FIELDS, bank_create, bank_delete, bank_update, bank_validate
from ..services.exposure import PROFILE_FIELDS
from .base import ServiceAdminMixin, TenantScopedAdmin, adopt
from .filters import TenantBankFilter


@admin.register(Bank)
class BankAdmin(ServiceAdminMixin, TenantScopedAdmin):
    edit_role = "manager"  # the profile; everything else stays the superusers'
    list_display = ["code", "name_zh_hans", "name_en", "bank_type", "home_region", "is_illustrative"]
    list_filter = ["bank_type"]
    search_fields = ["code", "name_zh_hans", "name_en"]
    fieldsets = [
        (None, {"fields": ["code", "name_zh_hans", "name_en", "is_illustrative", "created_at"]}),
        (
            _("Lending profile"),
            {
                "description": _(
                    "What the joint-lending limits need to know about the bank: its type (local banks may not "
                    "lend outside their home region) and the early-warning level, the share of a limit at which "
                    "a figure shows as approaching it."
                ),
                "fields": list(PROFILE_FIELDS),
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ["created_at"]
        return ["code", "name_zh_hans", "name_en", "is_illustrative", "created_at"]

    # Banks are created and deleted by superusers only; a manager changes the profile of their own bank.
    def has_add_permission(self, request, *args):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    # --- the door: partnerships.services.banks ---------------------------------------------------------------
    @staticmethod
    def _data(form, cleaned) -> dict:
        names = [n for n in BANK_FIELDS if n in cleaned]
        if form.instance.pk:
            names = [n for n in names if n in form.changed_data]
        return {n: cleaned[n] for n in names}

    def service_validate(self, request, form, cleaned) -> None:
        bank = form.instance if form.instance.pk else None
        bank_validate(user=request.user, data=self._data(form, cleaned), bank=bank)

    def save_model(self, request, obj, form, change):
        data = self._data(form, form.cleaned_data)
        if change:
            adopt(obj, bank_update(user=request.user, bank=obj.pk, data=data))
        else:
            adopt(obj, bank_create(user=request.user, data=data))

    def service_delete(self, request, obj) -> None:
        bank_delete(user=request.user, bank=obj.pk)

    def get_deleted_objects(self, objs, request):
        """Django's list of what a bank's deletion takes with it, reading the rows it names with what their names
        show (an exposure's partner) in the same query rather than one query a row."""
        return deleted_objects(objs, request, self.admin_site)


class _NestedObjects(NestedObjects):
    NAMED_BY = {PartnerExposure: ("partner",), LimitBreach: ("rule",)}

    def related_objects(self, related_model, related_fields, objs):
        qs = super().related_objects(related_model, related_fields, objs)
        return qs.select_related(*self.NAMED_BY.get(related_model, ()))


def deleted_objects(objs, request, admin_site):
    """``django.contrib.admin.utils.get_deleted_objects`` with ``_NestedObjects`` as its collector."""
    objs = list(objs)
    if not objs:
        return [], {}, set(), []
    collector = _NestedObjects(using=router.db_for_write(objs[0]._meta.model), origin=objs)
    collector.collect(objs)
    perms_needed = set()

    def format_callback(obj):
        opts = obj._meta
        no_edit_link = f"{capfirst(opts.verbose_name)}: {obj}"
        if not admin_site.is_registered(obj.__class__):
            return no_edit_link
        if not admin_site.get_model_admin(obj.__class__).has_delete_permission(request, obj):
            perms_needed.add(opts.verbose_name)
        try:
            url = reverse(
                f"{admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=(quote(obj.pk),)
            )
        except NoReverseMatch:
            return no_edit_link
        return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, obj)

    to_delete = collector.nested(format_callback)
    protected = [format_callback(obj) for obj in collector.protected]
    model_count = {model._meta.verbose_name_plural: len(rows) for model, rows in collector.model_objs.items()}
    return to_delete, model_count, perms_needed, protected


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ["user", "bank", "role", "receives_reports"]
    list_filter = [("bank", TenantBankFilter), "role"]
    search_fields = ["user__username", "user__email", "bank__name_zh_hans", "bank__name_en"]
    autocomplete_fields = ["user", "bank"]
    list_select_related = ["user", "bank"]
