"""API permissions from bank roles: viewers read, analysts write, managers approve; superusers may do anything.

Which rows a user sees is decided by each view's queryset (``Model.objects.for_user``), so another bank's
object is simply not found (404). These classes then ask for the role an action needs: somewhere at all for
the request (403 when the user holds it in no bank), and in the object's own bank for the object (403: the
user can see the object, so refusing it reveals nothing).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..tenancy import bank_ids_for, object_bank_id, user_has_bank_role

ROLE_LABELS = {"viewer": _("viewer"), "analyst": _("analyst"), "manager": _("manager")}


bank_id_of = object_bank_id  # one implementation, in partnerships.tenancy


def required_role(request, view) -> str | None:
    """The role the current action needs, or None for a read."""
    roles = getattr(view, "action_roles", {})
    action = getattr(view, "action", None)
    if action in roles:
        return roles[action]
    if request.method in SAFE_METHODS or not hasattr(view, request.method.lower()):
        return None  # a read, or a method the route does not have (405 follows, not 403)
    return getattr(view, "write_role", "analyst")


class BankRolePermission(BasePermission):
    """Authenticated, and holding the action's role: in some bank for the request, in the object's bank for it."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        role = required_role(request, view)
        if role is None:
            return True
        ids = bank_ids_for(user, min_role=role)
        if ids is None or ids:
            return True
        self.message = _("You need the %(role)s role in at least one bank.") % {"role": ROLE_LABELS[role]}
        return False

    def has_object_permission(self, request, view, obj) -> bool:
        role = required_role(request, view)
        if role is None:
            return True
        bank_id = getattr(view, "object_bank_id", bank_id_of)(obj)
        if user_has_bank_role(request.user, bank_id, min_role=role):
            return True
        self.message = _("You need the %(role)s role in this bank.") % {"role": ROLE_LABELS[role]}
        return False


class SuperuserWritePermission(BasePermission):
    """Reference content (rubrics): every signed-in user reads it; only superusers change it."""

    message = _("Only superusers change rubrics.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or user.is_superuser
