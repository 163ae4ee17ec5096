"""Model permissions from bank memberships: viewers view, analysts also edit, managers also approve.

Object-level checks (which bank) live in the admin and API through partnerships.tenancy; this backend only
answers "may this user ever do X to this kind of object", so staff need no hand-managed permission groups.
"""

from django.contrib.auth.backends import BaseBackend

from .tenancy import ROLE_RANK, user_max_role

_VIEW = "view"
_EDIT = ("add", "change", "delete")

# (app_label, model) -> lowest role for view, lowest role for add/change/delete (None: never by role).
_MODEL_RULES: dict[tuple[str, str], tuple[str, str | None]] = {
    # Managers change their bank's lending profile; BankAdmin keeps adding and deleting banks to superusers.
    ("partnerships", "bank"): ("viewer", "manager"),
    ("partnerships", "membership"): ("viewer", None),
    ("partnerships", "pillar"): ("viewer", None),
    ("partnerships", "scenariotype"): ("viewer", None),
    ("partnerships", "techpartner"): ("viewer", None),
    ("partnerships", "partnermetric"): ("viewer", None),
    ("partnerships", "partnerlicence"): ("viewer", None),
    ("partnerships", "partnerduediligence"): ("viewer", "analyst"),
    ("partnerships", "initiative"): ("viewer", "analyst"),
    ("partnerships", "initiativepartner"): ("viewer", "analyst"),
    ("partnerships", "initiativedatacategory"): ("viewer", "analyst"),
    ("partnerships", "kpi"): ("viewer", "analyst"),
    ("partnerships", "kpiobservation"): ("viewer", "analyst"),
    ("partnerships", "evidence"): ("viewer", "analyst"),
    ("partnerships", "partnerexposure"): ("viewer", "analyst"),
    ("partnerships", "bankperiodfigures"): ("viewer", "analyst"),
}

# Other apps register their rules here (scoring adds assessments, scores, reports).
EXTRA_PERMISSIONS: dict[str, str] = {}


def register_role_permission(perm: str, min_role: str) -> None:
    EXTRA_PERMISSIONS[perm] = min_role


def register_model_rule(app_label: str, model: str, view_role: str, edit_role: str | None) -> None:
    _MODEL_RULES[(app_label, model)] = (view_role, edit_role)


class MembershipRoleBackend(BaseBackend):
    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        if not user_obj.is_active or not user_obj.is_staff:
            return False
        role = user_max_role(user_obj)
        if role is None:
            return False
        rank = ROLE_RANK[role]
        if perm in EXTRA_PERMISSIONS:
            return rank >= ROLE_RANK[EXTRA_PERMISSIONS[perm]]
        try:
            app_label, codename = perm.split(".", 1)
            action, model = codename.split("_", 1)
        except ValueError:
            return False
        rule = _MODEL_RULES.get((app_label, model))
        if rule is None:
            return False
        view_role, edit_role = rule
        if action == _VIEW:
            return rank >= ROLE_RANK[view_role]
        if action in _EDIT and edit_role is not None:
            return rank >= ROLE_RANK[edit_role]
        return False

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        if not user_obj.is_active or not user_obj.is_staff or user_max_role(user_obj) is None:
            return False
        return any(label == app_label for label, _ in _MODEL_RULES)
