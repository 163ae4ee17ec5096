"""List filters that only offer what the user may see."""

from django.contrib import admin

from ..models import Bank


class TenantBankFilter(admin.RelatedFieldListFilter):
    def field_choices(self, field, request, model_admin):
        return [(bank.pk, str(bank)) for bank in Bank.objects.for_user(request.user)]
