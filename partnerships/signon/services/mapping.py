"""Group → (bank, role) mapping as data, and memberships that follow a user's groups at every sign-in.

Rules (docs/sign-on.md): a user's role in a bank is the highest role any of their mapped groups gives there. Only
memberships the mapping made (a ``MappedMembership`` row beside them) are changed or removed by it; a membership
given by hand is left alone. A user with no mapped group and no hand-given membership gets no role and is not
staff — never a default role, never staff or superuser by mapping.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from ...api.token_cache import token_cache_forget
from ...choices import ROLE_RANK, Role
from ...errors import Forbidden, Invalid, NotFound
from ...models import Bank, Membership
from ..models import ExternalSource, GroupMapping, MappedMembership, SignOnEventKind
from .audit import signon_event_record


def group_normalise(source: str, group: str) -> str:
    """LDAP DNs compare without regard to case or the spaces after commas; OIDC groups exactly (trimmed)."""
    group = (group or "").strip()
    if source == ExternalSource.LDAP:
        return ",".join(part.strip() for part in group.split(",")).lower()
    return group


def _require_superuser(user) -> None:
    if user is not None and not (user.is_active and user.is_superuser):
        raise Forbidden(_("Only a superuser may change the group mapping."))


def group_mapping_create(
    *, user=None, source: str, group: str, bank: str | int | Bank, role: str
) -> GroupMapping:
    """A new mapping; ``bank`` by code, id or object. Raises Invalid naming the field."""
    _require_superuser(user)
    fields: dict[str, str] = {}
    if source not in ExternalSource.values:
        fields["source"] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(ExternalSource.values)}
    group = group_normalise(source, group)
    if not group:
        fields["group"] = _("Name the group.")
    elif len(group) > GroupMapping._meta.get_field("group").max_length:
        fields["group"] = _("At most 512 characters.")
    if role not in Role.values:
        fields["role"] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(Role.values)}
    bank_obj = _bank(bank, fields)
    if fields:
        raise Invalid(fields=fields)
    if GroupMapping.objects.filter(source=source, group=group, bank=bank_obj).exists():
        raise Invalid(fields={"group": _("This group is already mapped in this bank.")})
    return GroupMapping.objects.create(source=source, group=group, bank=bank_obj, role=role)


def group_mapping_update(*, user=None, mapping: GroupMapping, role: str) -> GroupMapping:
    """Only the role of a mapping changes; a new group or bank is a new mapping."""
    _require_superuser(user)
    if role not in Role.values:
        raise Invalid(fields={"role": _("Choose one of: %(choices)s.") % {"choices": ", ".join(Role.values)}})
    GroupMapping.objects.filter(pk=mapping.pk).update(role=role)
    mapping.role = role
    return mapping


def group_mapping_delete(*, user=None, source: str, group: str, bank: str | int | Bank) -> int:
    """Remove a mapping; the memberships it gave go at each member's next sign-in. Returns how many were removed."""
    _require_superuser(user)
    fields: dict[str, str] = {}
    bank_obj = _bank(bank, fields)
    if fields:
        raise Invalid(fields=fields)
    deleted, _detail = GroupMapping.objects.filter(
        source=source, group=group_normalise(source, group), bank=bank_obj
    ).delete()
    if not deleted:
        raise NotFound(_("No such mapping."))
    return deleted


def _bank(bank, fields: dict) -> Bank | None:
    if isinstance(bank, Bank):
        return bank
    lookup = {"pk": bank} if isinstance(bank, int) or str(bank).isdigit() else {"code": str(bank)}
    found = Bank.objects.filter(**lookup).first()
    if found is None:
        fields["bank"] = _("No bank with the code or id %(bank)s.") % {"bank": bank}
    return found


def roles_for_groups(source: str, groups: list[str]) -> dict[int, tuple[str, list[str]]]:
    """{bank_id: (highest role, the groups that give it)} for the user's groups."""
    names = {group_normalise(source, g) for g in groups if g}
    wanted: dict[int, tuple[str, list[str]]] = {}
    if not names:
        return wanted
    for bank_id, role, group in GroupMapping.objects.filter(source=source, group__in=names).values_list(
        "bank_id", "role", "group"
    ):
        current = wanted.get(bank_id)
        if current is None or ROLE_RANK[role] > ROLE_RANK[current[0]]:
            wanted[bank_id] = (role, sorted({group, *(current[1] if current else [])}))
        else:
            current[1].append(group)
    return wanted


@transaction.atomic
def memberships_follow_groups(
    *, user, source: str, groups: list[str], method: str, request=None
) -> list[str]:
    """Make the user's mapped memberships match their groups; each change is audited. Returns the changes.

    Staff status follows too: a directory user is staff while they hold a membership (mapped or given by hand)
    and never superuser by mapping.
    """
    wanted = roles_for_groups(source, groups)
    existing = {
        m.bank_id: m
        for m in Membership.objects.select_for_update()
        .filter(user=user)
        .select_related("bank")
        .prefetch_related("mapped_by")
    }
    changes: list[str] = []

    def audit(kind: str, bank, detail: str) -> None:
        changes.append(f"{kind} {bank.code}: {detail}")
        signon_event_record(kind=kind, request=request, user=user, method=method, bank=bank, detail=detail)

    for bank_id, (role, granted_by) in wanted.items():
        membership = existing.get(bank_id)
        if membership is None:
            membership = Membership.objects.create(user=user, bank_id=bank_id, role=role)
            MappedMembership.objects.create(membership=membership, source=source, groups=granted_by)
            audit(SignOnEventKind.ROLE_GRANTED, membership.bank, f"{role} ← {', '.join(granted_by)}")
            continue
        marker = _marker(membership)
        if marker is None:
            continue  # given by hand: the mapping never touches it
        if membership.role != role:
            old = membership.role
            membership.role = role
            membership.save(update_fields=["role"])
            audit(SignOnEventKind.ROLE_CHANGED, membership.bank, f"{old} → {role} ← {', '.join(granted_by)}")
        if marker.groups != granted_by:
            marker.groups = granted_by
            marker.save(update_fields=["groups", "updated_at"])
    for bank_id, membership in existing.items():
        if bank_id in wanted or _marker(membership) is None:
            continue
        audit(SignOnEventKind.ROLE_REMOVED, membership.bank, f"{membership.role} (no mapped group left)")
        membership.delete()

    has_role = Membership.objects.filter(user=user).exists()
    staff = bool(user.is_superuser or has_role)
    if user.is_staff != staff:
        get_user_model().objects.filter(pk=user.pk).update(is_staff=staff)
        token_cache_forget(user_id=user.pk)  # update() sends no signal
        user.is_staff = staff
    if hasattr(user, "_scorecard_bank_roles"):
        del user._scorecard_bank_roles  # the tenancy cache of this request
    return changes


def _marker(membership: Membership) -> MappedMembership | None:
    try:
        return membership.mapped_by
    except MappedMembership.DoesNotExist:
        return None
