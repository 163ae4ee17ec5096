"""Creating, changing and deleting banks: the one door for a bank's own row.

A bank's identity (code, names, "illustrative") is the superusers' (and the system's: commands, seeds); its lending
profile (type, home region, early-warning level) is also its managers' and goes through
``partnerships.services.exposure.bank_profile_update``'s rules. The admin calls these functions and holds no rule
of its own; the API reads banks only.

Every function checks everything itself and raises ``partnerships.errors.ServiceError`` (``Invalid`` with messages
by field, ``Forbidden``, ``NotFound``). A change takes the bank's row lock first; every save names its author for
simple-history. Deleting a bank (superusers only) deletes what is recorded in it (memberships, exposure, figures…),
as the admin's confirmation page lists, and is refused while it has initiatives (they are protected).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from ..errors import NON_FIELD, Conflict, FieldErrors, Forbidden, Invalid, NotFound
from ..models import Bank
from ..tenancy import is_system
from .exposure import PROFILE_FIELDS, _profile_plan, _require_profile_editor

IDENTITY_FIELDS = ("code", "name_zh_hans", "name_en", "is_illustrative")
BANK_FIELDS = (*IDENTITY_FIELDS, *PROFILE_FIELDS)


def _pk(value):
    return getattr(value, "pk", value)


def _require_superuser(user, message: str) -> None:
    if not is_system(user) and not (user is not None and user.is_active and user.is_superuser):
        raise Forbidden(message)


def _plan(user, bank: Bank, data: Mapping[str, Any], *, creating: bool) -> Bank:
    """Every check of a create or an update on ``bank`` (changed in place, not saved)."""
    unknown = sorted(set(data) - set(BANK_FIELDS), key=str)
    if unknown:
        raise Invalid(
            fields={NON_FIELD: [_("Unknown fields: %(names)s.") % {"names": ", ".join(map(str, unknown))}]}
        )
    identity = {name: data[name] for name in IDENTITY_FIELDS if name in data}
    if creating:
        _require_superuser(user, _("Only superusers create banks."))
    elif any(getattr(bank, name) != value for name, value in identity.items()):
        _require_superuser(user, _("Only superusers change a bank's code, names or the illustrative mark."))
    profile = {name: data[name] for name in PROFILE_FIELDS if name in data}
    if profile or creating:
        _require_profile_editor(user, None if creating else bank.pk)
    errors = FieldErrors()
    for name, value in identity.items():
        if name in ("code", "name_zh_hans", "name_en") and value is None:
            value = ""
        setattr(bank, name, value)
    try:
        bank.full_clean(exclude=[*PROFILE_FIELDS, "created_at"], validate_constraints=False)
    except ValidationError as exc:
        errors.merge(Invalid.from_validation_error(exc))
    if profile or creating:  # an identity change leaves the profile as it is, checked or not
        try:
            _profile_plan(bank, profile)
        except Invalid as exc:
            errors.merge(exc)
    errors.raise_if_any()
    return bank


def _save(bank: Bank, user, **kwargs) -> Bank:
    if user is not None:
        bank._history_user = user
    try:
        with transaction.atomic():
            bank.save(**kwargs)
    except IntegrityError as exc:  # a code taken by a concurrent write since the check
        raise Invalid(fields={"code": [_("A bank with this code already exists.")]}) from exc
    return bank


def bank_validate(*, user, data: Mapping[str, Any], bank: Bank | int | None = None) -> None:
    """Every check of ``bank_create`` (``bank`` None) or ``bank_update``, writing nothing."""
    if bank is None:
        _plan(user, Bank(), dict(data), creating=True)
        return
    current = Bank.objects.filter(pk=_pk(bank)).first()
    if current is None:
        raise NotFound(_("Not found."))
    _plan(user, current, dict(data), creating=False)


def bank_create(*, user, data: Mapping[str, Any]) -> Bank:
    """A new bank (superusers and the system): its identity, and its profile (defaults where not given)."""
    with transaction.atomic():
        bank = _plan(user, Bank(), dict(data), creating=True)
        return _save(bank, user)


def bank_update(*, user, bank: Bank | int, data: Mapping[str, Any]) -> Bank:
    """Change a bank: its identity (superusers) and its profile (its managers, or superusers)."""
    with transaction.atomic():
        current = Bank.objects.select_for_update().filter(pk=_pk(bank)).first()
        if current is None:
            raise NotFound(_("Not found."))
        changed = [name for name in BANK_FIELDS if name in data]
        current = _plan(user, current, dict(data), creating=False)
        if not changed:
            return current
        return _save(current, user, update_fields=changed)


def bank_delete(*, user, bank: Bank | int) -> None:
    """Delete a bank with what is recorded in it (superusers only); refused while it has initiatives."""
    with transaction.atomic():
        current = Bank.objects.select_for_update().filter(pk=_pk(bank)).first()
        if current is None:
            raise NotFound(_("Not found."))
        _require_superuser(user, _("Only superusers delete banks."))
        if user is not None:
            current._history_user = user
        try:
            with transaction.atomic():
                current.delete()
        except ProtectedError as exc:
            raise Conflict(
                _(
                    "This bank still has initiatives (%(count)s); delete or move them first: a bank's initiatives "
                    "are never deleted with it."
                )
                % {"count": len({obj.pk for obj in exc.protected_objects})}
            ) from exc
