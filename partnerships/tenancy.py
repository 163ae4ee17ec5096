"""Tenancy has one home: every admin, API view and task reaches bank data through these functions.

A model opts in with ``TENANT_BANK_PATH`` (the lookup from it to its Bank, ``"pk"`` for Bank itself) and
the ``TenantQuerySet`` manager. Superusers see every bank; everyone else sees the banks they belong to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

ROLE_RANK = {"viewer": 1, "analyst": 2, "manager": 3}


def user_bank_roles(user: AbstractBaseUser | None) -> dict[int, str]:
    """{bank_id: role} for the user's memberships, cached on the user object for the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return {}
    cached = getattr(user, "_scorecard_bank_roles", None)
    if cached is None:
        from .models import Membership

        cached = dict(Membership.objects.filter(user_id=user.pk).values_list("bank_id", "role"))
        user._scorecard_bank_roles = cached
    return cached


def bank_ids_for(user: AbstractBaseUser | None, *, min_role: str = "viewer") -> set[int] | None:
    """Bank ids where the user holds at least ``min_role``; None means every bank (superuser)."""
    if user is not None and user.is_authenticated and user.is_active and user.is_superuser:
        return None
    floor = ROLE_RANK[min_role]
    return {bank_id for bank_id, role in user_bank_roles(user).items() if ROLE_RANK.get(role, 0) >= floor}


def user_has_bank_role(user: AbstractBaseUser | None, bank_id: int | None, *, min_role: str) -> bool:
    if bank_id is None:
        return False
    ids = bank_ids_for(user, min_role=min_role)
    return ids is None or bank_id in ids


def object_bank_id(obj) -> int | None:
    """Follow the model's ``TENANT_BANK_PATH`` from an instance to its bank id (None for reference data)."""
    path = getattr(obj, "TENANT_BANK_PATH", None)
    if path is None:
        return None
    if path == "pk":
        return obj.pk
    *hops, last = path.split("__")
    target = obj
    for hop in hops:
        target = getattr(target, hop, None)
        if target is None:
            return None
    return getattr(target, f"{last}_id", None)


def user_max_role(user: AbstractBaseUser | None) -> str | None:
    roles = user_bank_roles(user).values()
    return max(roles, key=lambda r: ROLE_RANK.get(r, 0), default=None)


class TenantQuerySet(models.QuerySet):
    def for_user(self, user: AbstractBaseUser | None, *, min_role: str = "viewer") -> TenantQuerySet:
        """Only the rows of banks where the user holds at least ``min_role``."""
        ids = bank_ids_for(user, min_role=min_role)
        if ids is None:
            return self
        if not ids:
            return self.none()
        return self.filter(**{f"{self.model.TENANT_BANK_PATH}__in": ids})

    def for_bank(self, bank_id: int) -> TenantQuerySet:
        return self.filter(**{self.model.TENANT_BANK_PATH: bank_id})


def scope_queryset(queryset: models.QuerySet, user, *, min_role: str = "viewer") -> models.QuerySet:
    """Scope any queryset of a tenant model (including simple-history's historical models)."""
    ids = bank_ids_for(user, min_role=min_role)
    if ids is None:
        return queryset
    if not ids:
        return queryset.none()
    path = getattr(queryset.model, "TENANT_BANK_PATH", None)
    if path is None:  # a historical model: take the path of the model it records
        path = queryset.model.instance_type.TENANT_BANK_PATH
    if path == "pk" and hasattr(queryset.model, "instance_type"):
        path = "id"
    return queryset.filter(**{f"{path}__in": ids})


# --- Checks for the services --------------------------------------------------------------------------------
# A service receives the acting user (``None`` for the system itself: management commands run by an operator,
# Celery tasks and seeds) and asks these helpers, so every door refuses alike. Messages never tell whether another
# bank's object exists: a bank id the user does not belong to reads like one that does not exist.


def is_system(user) -> bool:
    """The system acts for itself (commands, tasks, seeds): no user, every bank."""
    return user is None


def user_bank_ids(user, *, min_role: str = "viewer") -> set[int] | None:
    """Bank ids the actor may act in with ``min_role``; None means every bank (the system or a superuser)."""
    return None if is_system(user) else bank_ids_for(user, min_role=min_role)


def actor_has_bank_role(user, bank_id: int | None, *, min_role: str) -> bool:
    return bank_id is not None and (is_system(user) or user_has_bank_role(user, bank_id, min_role=min_role))


def require_bank_role(user, bank_id: int | None, *, min_role: str, message=None) -> None:
    """For an object the user reached: NotFound when they cannot see its bank, Forbidden when the role is short."""
    from django.utils.translation import gettext as _

    from .errors import Forbidden, NotFound

    if actor_has_bank_role(user, bank_id, min_role=min_role):
        return
    if not actor_has_bank_role(user, bank_id, min_role="viewer"):
        raise NotFound(_("Not found."))
    raise Forbidden(message or _("You need the %(role)s role in this bank.") % {"role": role_label(min_role)})


def role_label(role: str) -> str:
    from .choices import Role

    return str(Role(role).label).lower() if role in Role.values else role


def user_is_member(user_id: int | None, bank_id: int | None) -> bool:
    """Whether a user (an owner, an author) belongs to the bank, whatever their role."""
    if user_id is None or bank_id is None:
        return False
    from .models import Membership

    return Membership.objects.filter(user_id=user_id, bank_id=bank_id).exists()


def members_of(users: models.QuerySet, bank_ids: set[int] | None) -> models.QuerySet:
    """The users who belong to one of the banks (``None``: to any bank), e.g. the owners an initiative may have."""
    if bank_ids is None:
        return users.filter(bank_memberships__isnull=False).distinct()
    return users.filter(bank_memberships__bank_id__in=bank_ids).distinct()
