"""Users in the admin: superusers manage them; analysts and managers reach them only through the owner picker.

Django's autocomplete asks the related model's admin (this one) whether the user may view users and which ones
to offer. For the initiative's owner picker the answer is: an analyst or manager of some bank may, and is offered
the active members of the bank the page asks for (``?bank=``), among the banks where they may write initiatives.
The initiative service checks the owner's membership again when the initiative is saved.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, SetUnusablePasswordMixin
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from ..tenancy import bank_ids_for, members_of
from .localize import PermissionLabelsMixin

OWNER_PICKER = ("partnerships", "initiative", "owner")
OWNER_ROLE = "analyst"


def _owner_picker(request) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is None or match.url_name != "autocomplete":
        return False
    params = request.GET
    return (params.get("app_label"), params.get("model_name"), params.get("field_name")) == OWNER_PICKER


class ScorecardPasswordChangeForm(AdminPasswordChangeForm):
    # Django's own help text is built once, in the language of the first import, and its warning is not
    # marked for translation; this one is put together in the reader's language.
    usable_password_help_text = format_lazy(
        "{}{}",
        SetUnusablePasswordMixin.usable_password_help_text,
        format_lazy(
            '<ul id="id_unusable_warning" class="messagelist"><li class="warning">{}</li></ul>',
            _("If disabled, the current password for this user will be lost."),
        ),
    )


class ScorecardUserAdmin(PermissionLabelsMixin, UserAdmin):
    change_password_form = ScorecardPasswordChangeForm

    def has_view_permission(self, request, obj=None):
        if obj is None and _owner_picker(request):
            ids = bank_ids_for(request.user, min_role=OWNER_ROLE)
            return ids is None or bool(ids)
        return super().has_view_permission(request, obj)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if not _owner_picker(request):
            return qs
        ids = bank_ids_for(request.user, min_role=OWNER_ROLE)
        raw = request.GET.get("bank", "")
        if raw.isdigit():
            bank = int(raw)
            ids = {bank} if ids is None or bank in ids else set()
        return members_of(qs.filter(is_active=True), ids)


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, ScorecardUserAdmin)
