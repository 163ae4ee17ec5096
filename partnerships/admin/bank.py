"""Banks and memberships: readable by members, edited by superusers."""

from django.contrib import admin

from ..models import Bank, Membership
from .base import TenantScopedAdmin
from .filters import TenantBankFilter


@admin.register(Bank)
class BankAdmin(TenantScopedAdmin):
    list_display = ["code", "name_zh_hans", "name_en", "is_illustrative"]
    search_fields = ["code", "name_zh_hans", "name_en"]


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ["user", "bank", "role", "receives_reports"]
    list_filter = [("bank", TenantBankFilter), "role"]
    search_fields = ["user__username", "user__email", "bank__name_zh_hans", "bank__name_en"]
    autocomplete_fields = ["user", "bank"]
    list_select_related = ["user", "bank"]
