"""Writing initiatives: create, update and delete with their partners and scenario types, inside the tenancy rules.

Every door (API, scripts) comes here. Bad input and writes that point at another bank's objects raise Django's
``ValidationError`` keyed by field name; a user who may not write to the initiative's bank at all gets
``PermissionDenied``. Messages never tell whether another bank's object exists: "not one of your banks" reads
the same for a bank that does not exist and for one the user does not belong to.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..choices import STATUS_TRANSITIONS, InitiativeStatus, PartnerRole
from ..models import Initiative, InitiativePartner, Membership, ScenarioType, TechPartner
from ..tenancy import user_has_bank_role

WRITE_ROLE = "analyst"

# Plain fields copied from the input to the model as they are.
_SIMPLE_FIELDS = (
    "code",
    "title",
    "description",
    "status",
    "start_date",
    "end_date",
    "personal_data_categories",
    "lawful_basis",
    "security_assessment_done",
    "cross_border_transfer",
    "transfer_mechanism",
)


CODE_PREFIXES = {"scenario": "sc", "data_sharing": "ds", "smart_banking": "sb"}


def next_initiative_code(bank_id: int, pillar: str) -> str:
    """A free code for a new initiative of the bank: pillar prefix, year and month, a number (sc-202611-004)."""
    stem = f"{CODE_PREFIXES.get(pillar, 'in')}-{timezone.localdate():%Y%m}-"
    taken = set(
        Initiative.objects.filter(bank_id=bank_id, code__startswith=stem).values_list("code", flat=True)
    )
    number = len(taken) + 1
    while f"{stem}{number:03d}" in taken:
        number += 1
    return f"{stem}{number:03d}"


class _Errors(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


def _check_bank(errors: _Errors, user, bank_id) -> None:
    if user_has_bank_role(user, bank_id, min_role=WRITE_ROLE):
        return
    if user_has_bank_role(user, bank_id, min_role="viewer"):
        errors.add("bank", _("You need the analyst role in this bank to write its initiatives."))
    else:
        errors.add("bank", _("Choose one of your banks."))


def _resolve_owner(errors: _Errors, username, bank_id):
    if username in (None, ""):
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not Membership.objects.filter(user=user, bank_id=bank_id).exists():
        errors.add("owner", _("The owner must be a member of the initiative's bank."))
        return None
    return user


def _resolve_scenario_types(errors: _Errors, keys: list[str], pillar: str) -> list[ScenarioType]:
    found = {t.key: t for t in ScenarioType.objects.filter(key__in=set(keys))}
    unknown = [k for k in keys if k not in found]
    if unknown:
        errors.add("scenario_types", _("Unknown scenario types: %(keys)s.") % {"keys": ", ".join(unknown)})
    wrong = [k for k in keys if k in found and found[k].pillar_id != pillar]
    if wrong:
        errors.add(
            "scenario_types",
            _("%(keys)s do not belong to the pillar %(pillar)s.")
            % {"keys": ", ".join(wrong), "pillar": pillar},
        )
    return list({k: found[k] for k in keys if k in found}.values())


def _resolve_partners(errors: _Errors, items: list[dict]) -> list[tuple[TechPartner, str, str]]:
    if any(not isinstance(item, dict) or not item.get("partner") for item in items):
        errors.add("partners", _("Each partner entry names a partner by its key."))
        return []
    keys = [item["partner"] for item in items]
    found = {p.key: p for p in TechPartner.objects.filter(key__in=set(keys))}
    unknown = [k for k in keys if k not in found]
    if unknown:
        errors.add("partners", _("Unknown partners: %(keys)s.") % {"keys": ", ".join(unknown)})
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        errors.add("partners", _("Each partner is listed once: %(keys)s.") % {"keys": ", ".join(repeated)})
    if sum(1 for item in items if item.get("role") == PartnerRole.LEAD) > 1:
        errors.add("partners", _("An initiative has at most one lead partner."))
    return [
        (found[item["partner"]], item.get("role") or PartnerRole.TECHNOLOGY, item.get("note") or "")
        for item in items
        if item["partner"] in found
    ]


def _validate_model(errors: _Errors, initiative: Initiative) -> None:
    """Run the model's own checks (field choices, clean(), check constraints) and merge their messages."""
    clash = (
        Initiative.objects.filter(bank_id=initiative.bank_id, code=initiative.code)
        .exclude(pk=initiative.pk)
        .exists()
    )
    if clash:
        errors.add("code", _("Another initiative of this bank already has this code."))
    try:
        # The bank was checked against the user's roles and the owner against the bank's members above.
        initiative.full_clean(exclude=["bank", "owner"], validate_unique=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                errors.add("non_field_errors" if field == "__all__" else field, message)


def _write_links(initiative: Initiative, partners: list[tuple[TechPartner, str, str]]) -> None:
    existing = {link.partner_id: link for link in InitiativePartner.objects.filter(initiative=initiative)}
    wanted = {partner.pk for partner, _role, _note in partners}
    InitiativePartner.objects.filter(initiative=initiative).exclude(partner_id__in=wanted).delete()
    # Demote before promoting, so the single-lead constraint holds at every step.
    for partner, role, note in sorted(partners, key=lambda p: p[1] == PartnerRole.LEAD):
        link = existing.get(partner.pk)
        if link is None:
            InitiativePartner.objects.create(initiative=initiative, partner=partner, role=role, note=note)
        elif (link.role, link.note) != (role, note):
            link.role, link.note = role, note
            link.save(update_fields=["role", "note"])


def _apply(user, initiative: Initiative, data: dict[str, Any], *, creating: bool) -> Initiative:
    errors = _Errors()
    before_status = initiative.status
    if "bank" in data and (creating or data["bank"] != initiative.bank_id):
        _check_bank(errors, user, data["bank"])
        initiative.bank_id = data["bank"]
    if "pillar" in data:
        initiative.pillar_id = data["pillar"]
    for field in _SIMPLE_FIELDS:
        if field in data:
            value = data[field]
            if field in ("description", "lawful_basis", "transfer_mechanism") and value is None:
                value = ""
            setattr(initiative, field, value)
    if not creating and "status" in data and data["status"] != before_status:
        allowed = STATUS_TRANSITIONS.get(before_status, frozenset())
        if data["status"] not in allowed:
            errors.add(
                "status",
                _("An initiative cannot go from “%(before)s” to “%(after)s”. Allowed next: %(allowed)s.")
                % {
                    "before": InitiativeStatus(before_status).label,
                    "after": InitiativeStatus(data["status"]).label,
                    "allowed": ", ".join(str(InitiativeStatus(s).label) for s in sorted(allowed))
                    or _("none (final)"),
                },
            )

    if creating and not data.get("code") and initiative.bank_id and "bank" not in errors:
        initiative.code = next_initiative_code(initiative.bank_id, initiative.pillar_id)

    if "owner" in data:
        initiative.owner = _resolve_owner(errors, data["owner"], initiative.bank_id)
    elif creating:  # the author owns what they create, when they belong to the bank (superusers may not)
        is_member = Membership.objects.filter(user_id=user.pk, bank_id=initiative.bank_id).exists()
        initiative.owner = user if is_member else None
    elif not creating and "bank" in data and initiative.owner_id:
        if not Membership.objects.filter(user_id=initiative.owner_id, bank_id=initiative.bank_id).exists():
            errors.add("owner", _("The owner must be a member of the initiative's bank."))

    types = None
    if "scenario_types" in data:
        types = _resolve_scenario_types(errors, data["scenario_types"], initiative.pillar_id)
    elif not creating and "pillar" in data:
        wrong = [t.key for t in initiative.scenario_types.all() if t.pillar_id != initiative.pillar_id]
        if wrong:
            errors.add(
                "scenario_types",
                _("%(keys)s do not belong to the pillar %(pillar)s; send the scenario types with the pillar.")
                % {"keys": ", ".join(wrong), "pillar": initiative.pillar_id},
            )
    partners = _resolve_partners(errors, data["partners"]) if "partners" in data else None

    if "bank" not in errors:
        _validate_model(errors, initiative)
    if errors:
        raise ValidationError(dict(errors))

    try:
        with transaction.atomic():
            initiative.save()
            if types is not None:
                initiative.scenario_types.set(types)
            if partners is not None:
                _write_links(initiative, partners)
    except IntegrityError as exc:
        # Two requests checked the same free code at once; the database let one through. Say it like the check.
        if "initiative_bank_code_unique" in str(exc):
            raise ValidationError(
                {"code": [_("Another initiative of this bank already has this code.")]}
            ) from exc
        raise
    return initiative


def initiative_create(*, user, data: dict[str, Any]) -> Initiative:
    """Create an initiative in one of the user's banks (analyst role), with its scenario types and partners.

    ``data`` holds model field values by name, with ``bank`` (id), ``pillar`` (key), ``owner`` (username),
    ``scenario_types`` (keys) and ``partners`` ([{partner: key, role, note}]). The owner defaults to the user
    when they are a member of the bank.
    """
    data = dict(data)
    if "bank" not in data:
        raise ValidationError({"bank": [_("This field is required.")]})
    return _apply(user, Initiative(), data, creating=True)


def initiative_update(*, user, initiative: Initiative, data: dict[str, Any]) -> Initiative:
    """Change the given fields; ``partners`` and ``scenario_types``, when given, replace the current sets.

    Moving an initiative to another bank needs the analyst role in both banks; a status change follows
    ``STATUS_TRANSITIONS``.
    """
    if not user_has_bank_role(user, initiative.bank_id, min_role=WRITE_ROLE):
        raise PermissionDenied(_("You need the analyst role in this bank to change its initiatives."))
    return _apply(user, initiative, dict(data), creating=False)


def initiative_delete(*, user, initiative: Initiative) -> None:
    if not user_has_bank_role(user, initiative.bank_id, min_role=WRITE_ROLE):
        raise PermissionDenied(_("You need the analyst role in this bank to delete its initiatives."))
    initiative.delete()
