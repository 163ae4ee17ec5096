"""Writing initiatives: create, update (status, owner, partners, scenario types) and delete, under the tenancy rules.

This is the one door for these changes: the admin's forms, the API, the CSV/XLSX import and any command call these
functions and hold no rule of their own. Every function checks everything itself and raises
``partnerships.errors.ServiceError`` (``Invalid`` with messages by field, ``Forbidden``, ``NotFound``,
``Conflict``). ``user`` None is the system (commands, seeds), which may write in every bank.

``data`` holds field values by name as a client sends them: ``bank`` (id), ``pillar`` (key), ``owner`` (username,
or "" / None for nobody), ``scenario_types`` (keys), ``partners`` ([{partner: key, role, note, services}]; a link's
``services`` left out keeps what it had), and the plain fields of ``SIMPLE_FIELDS``. Only the names given change;
``partners`` and ``scenario_types`` replace the sets.

Personal data as facts (rubric version 2; checks in ``check_personal_data``): ``data_categories``
([{category, lawful_basis, separate_consent}], replacing the set), ``credit_route_agency`` (a credit-reporting
agency's partner key, or "" / None for none) and the plain facts in ``SIMPLE_FIELDS``. Contradictions are refused
by field; facts left unrecorded are allowed (version 2 scores them as unknown, never as "no").

Messages never tell whether another bank's object exists: "choose one of your banks" reads the same for a bank
that does not exist and for one the user does not belong to.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from ..choices import (
    STATUS_TRANSITIONS,
    InitiativeStatus,
    LawfulBasis,
    PartnerKind,
    PartnerRole,
    PersonalDataCategory,
    ScenarioStatus,
)
from ..errors import Conflict, FieldErrors, Invalid
from ..models import (
    Bank,
    Initiative,
    InitiativeDataCategory,
    InitiativePartner,
    ScenarioType,
    TechPartner,
)
from ..tenancy import actor_has_bank_role, is_system, require_bank_role, user_is_member
from .partners import check_link_services

WRITE_ROLE = "analyst"
MAX_PARTNERS = 50

# Plain fields copied from the input to the model as they are (the model's full_clean checks them).
SIMPLE_FIELDS = (
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
    "is_illustrative",
    # Personal data as facts (version 2).
    "no_personal_data",
    "provided_to_partner",
    "provision_separate_consent",
    "cross_border_destination",
    "cross_border_separate_consent",
    "credit_use",
    "impact_assessment_on",
    "processing_agreement",
)
_BLANK_WHEN_NONE = ("description", "lawful_basis", "transfer_mechanism", "cross_border_destination")
# Facts that are not plain fields: the categories (a set of rows) and the agency on the 断直连 route (a partner).
FACT_FIELDS = ("data_categories", "credit_route_agency")

CODE_PREFIXES = {"scenario": "sc", "data_sharing": "ds", "smart_banking": "sb"}


def next_initiative_code(bank_id: int, pillar: str) -> str:
    """A free code for a new initiative of the bank: pillar prefix, year and month, a number (sc-202611-004)."""
    stem = f"{CODE_PREFIXES.get(pillar, 'in')}-{timezone.localdate():%Y%m}-"
    taken = set(
        Initiative.objects.for_bank(bank_id).filter(code__startswith=stem).values_list("code", flat=True)
    )
    number = len(taken) + 1
    while f"{stem}{number:03d}" in taken:
        number += 1
    return f"{stem}{number:03d}"


@dataclass
class _Plan:
    """What a write will do, once every check has passed."""

    initiative: Initiative
    scenario_types: list[ScenarioType] | None
    partners: list[tuple[TechPartner, str, str, list[str] | None]] | None
    data_categories: list[tuple[str, str, bool]] | None = None  # (category, lawful basis, separate consent)


# --- checks ------------------------------------------------------------------------------------------------
def _check_bank(errors: FieldErrors, user, bank_id) -> bool:
    """The bank exists, and the user may write its initiatives. Foreign and missing banks read alike."""
    if isinstance(bank_id, Bank):
        bank_id = bank_id.pk
    if (
        isinstance(bank_id, bool)
        or not isinstance(bank_id, int)
        or not Bank.objects.filter(pk=bank_id).exists()
    ):
        errors.add("bank", _("Choose one of your banks."))
        return False
    if actor_has_bank_role(user, bank_id, min_role=WRITE_ROLE):
        return True
    if actor_has_bank_role(user, bank_id, min_role="viewer"):
        errors.add("bank", _("You need the analyst role in this bank to write its initiatives."))
    else:
        errors.add("bank", _("Choose one of your banks."))
    return False


def _check_owner(errors: FieldErrors, owner, bank_id):
    """An owner is a member of the initiative's bank (any role); "" or None leaves the initiative without one."""
    if owner in (None, ""):
        return None
    User = get_user_model()
    if isinstance(owner, User):
        user = owner
    else:
        user = User.objects.filter(**{User.USERNAME_FIELD: owner}).first()
    if user is None or not user.is_active or not user_is_member(user.pk, bank_id):
        errors.add("owner", _("The owner must be a member of the initiative's bank."))
        return None
    return user


def check_scenario_types(errors: FieldErrors, keys: list, pillar: str | None) -> list[ScenarioType]:
    """Known scenario types, each of the initiative's pillar."""
    if not isinstance(keys, list | tuple) or any(not isinstance(k, str) for k in keys):
        errors.add("scenario_types", _("Give the scenario types as a list of keys."))
        return []
    found = {t.key: t for t in ScenarioType.objects.filter(key__in=set(keys))}
    unknown = [k for k in keys if k not in found]
    if unknown:
        errors.add("scenario_types", _("Unknown scenario types: %(keys)s.") % {"keys": ", ".join(unknown)})
    wrong = [found[k] for k in dict.fromkeys(keys) if k in found and found[k].pillar_id != pillar]
    if wrong:
        errors.add(
            "scenario_types",
            _("%(types)s do not belong to the pillar “%(pillar)s”.")
            % {"types": "、".join(f"{t.name} ({t.key})" for t in wrong), "pillar": pillar},
        )
    return list({k: found[k] for k in keys if k in found}.values())


def check_partners(errors: FieldErrors, items) -> list[tuple[TechPartner, str, str, list[str] | None]]:
    """Known partners, each listed once, at most one lead, roles from PartnerRole, services from PartnerService
    (None where a row leaves them out: the link keeps its services)."""
    if not isinstance(items, list | tuple) or any(not isinstance(i, dict) for i in items):
        errors.add("partners", _("Give the partners as a list of {partner, role, note}."))
        return []
    if len(items) > MAX_PARTNERS:
        errors.add("partners", _("At most %(n)d partners.") % {"n": MAX_PARTNERS})
        return []
    keys, services = [], []
    for i, item in enumerate(items):
        partner = item.get("partner")
        if isinstance(partner, TechPartner):
            partner = partner.key
        if not isinstance(partner, str) or not partner:
            errors.add(f"partners[{i}].partner", _("Each partner entry names a partner by its key."))
        keys.append(partner)
        role = item.get("role") or PartnerRole.TECHNOLOGY
        if role not in PartnerRole.values:
            errors.add(
                f"partners[{i}].role",
                _("Unknown role “%(role)s”; use one of: %(roles)s.")
                % {"role": role, "roles": ", ".join(PartnerRole.values)},
            )
        note = item.get("note") or ""
        if not isinstance(note, str) or len(note) > 200:
            errors.add(f"partners[{i}].note", _("A note has at most 200 characters."))
        given = item.get("services")
        services.append(
            None if given is None else check_link_services(errors, f"partners[{i}].services", given)
        )
    named = [k for k in keys if isinstance(k, str) and k]
    found = {p.key: p for p in TechPartner.objects.filter(key__in=set(named))}
    unknown = [k for k in named if k not in found]
    if unknown:
        errors.add("partners", _("Unknown partners: %(keys)s.") % {"keys": ", ".join(unknown)})
    repeated = sorted({k for k in named if named.count(k) > 1})
    if repeated:
        errors.add("partners", _("Each partner is listed once: %(keys)s.") % {"keys": ", ".join(repeated)})
    if sum(1 for item in items if (item.get("role") or "") == PartnerRole.LEAD) > 1:
        errors.add("partners", _("An initiative has at most one lead partner."))
    return [
        (found[key], item.get("role") or PartnerRole.TECHNOLOGY, item.get("note") or "", wanted)
        for key, item, wanted in zip(keys, items, services, strict=True)
        if key in found
    ]


# --- personal data as facts (PIPL, 断直连) ---------------------------------------------------------------
# A destination inside mainland China is no cross-border transfer (PIPL Art. 38 is about providing personal
# information outside the People's Republic of China).
_DOMESTIC = frozenset({"中国", "中国大陆", "中国内地", "境内", "china", "mainland china", "prc"})


def _find_agency(errors: FieldErrors, value) -> TechPartner | None:
    """The credit-reporting agency on the 断直连 route: a partner (or its key) of kind credit-reporting agency."""
    if value in (None, ""):
        return None
    partner = value if isinstance(value, TechPartner) else None
    if partner is None:
        if not isinstance(value, str):
            errors.add("credit_route_agency", _("Name the credit-reporting agency by its partner key."))
            return None
        partner = TechPartner.objects.filter(key=value).first()
        if partner is None:
            errors.add("credit_route_agency", _("Unknown partners: %(keys)s.") % {"keys": value})
            return None
    if partner.kind != PartnerKind.CREDIT_REPORTING:
        errors.add(
            "credit_route_agency",
            _(
                "%(partner)s is not a credit-reporting agency: under 断直连 credit-related data reaches the "
                "bank only through a licensed credit-reporting agency. Choose a partner of that kind."
            )
            % {"partner": partner.name},
        )
        return None
    return partner


def check_data_categories(errors: FieldErrors, items) -> list[tuple[str, str, bool]]:
    """The categories as [(category, lawful basis, separate consent)]: known, each once, with a known basis."""
    if not isinstance(items, list | tuple) or any(not isinstance(i, dict) for i in items):
        errors.add(
            "data_categories",
            _("Give the categories as a list of {category, lawful_basis, separate_consent}."),
        )
        return []
    rows: list[tuple[str, str, bool]] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        unknown = sorted(set(item) - {"category", "lawful_basis", "separate_consent"})
        if unknown:
            errors.add(
                f"data_categories[{i}]", _("Unknown fields: %(names)s.") % {"names": ", ".join(unknown)}
            )
        category = item.get("category")
        basis = item.get("lawful_basis") or ""
        consent = item.get("separate_consent", False)
        ok = True
        if category not in PersonalDataCategory.values:
            errors.add(
                f"data_categories[{i}].category",
                _("Choose categories from: %(choices)s.")
                % {"choices": ", ".join(PersonalDataCategory.values)},
            )
            ok = False
        elif category in seen:
            errors.add(
                f"data_categories[{i}].category",
                _("Each category is listed once: %(keys)s.") % {"keys": category},
            )
            ok = False
        if basis not in LawfulBasis.values:
            errors.add(
                f"data_categories[{i}].lawful_basis",
                _("Unknown lawful basis “%(value)s”; use one of: %(choices)s.")
                % {"value": basis, "choices": ", ".join(v for v in LawfulBasis.values if v)},
            )
            ok = False
        if not isinstance(consent, bool):
            errors.add(f"data_categories[{i}].separate_consent", _("Give separate consent as true or false."))
            ok = False
        elif basis == LawfulBasis.SEPARATE_CONSENT and not consent:
            errors.add(
                f"data_categories[{i}].separate_consent",
                _("The lawful basis is separate consent, so separate consent must be recorded as given."),
            )
            ok = False
        if isinstance(category, str):
            seen.add(category)
        if ok:
            rows.append((category, basis, consent))
    return rows


def check_personal_data(
    errors: FieldErrors, initiative: Initiative, data: dict[str, Any], *, creating: bool
) -> list[tuple[str, str, bool]] | None:
    """The personal-data facts of ``initiative`` (``data`` applied) hang together; the categories to write.

    Refused: "no personal data shared" with categories, a provision to the partner, a cross-border transfer or
    credit use; a cross-border destination, mechanism or consent without a cross-border transfer (or a domestic
    destination); consent to a provision that is not recorded as made; an agency on the 断直连 route without
    credit use; an impact assessment dated in the future. Returns None when ``data_categories`` is not given.
    """
    rows = check_data_categories(errors, data["data_categories"]) if "data_categories" in data else None
    if initiative.no_personal_data is True:
        if rows is not None:
            has_categories = bool(rows) or bool(data["data_categories"])
        else:
            has_categories = (
                not creating and InitiativeDataCategory.objects.filter(initiative_id=initiative.pk).exists()
            )
        if has_categories:
            errors.add(
                "no_personal_data",
                _(
                    "Personal-data categories are recorded, so personal data is shared: remove the categories "
                    "or leave “no personal data shared” unticked."
                ),
            )
        for name, message in (
            (
                "provided_to_partner",
                _("Personal data cannot be provided to the partner when none is shared."),
            ),
            ("cross_border_transfer", _("Personal data cannot cross the border when none is shared.")),
            (
                "credit_use",
                _(
                    "Credit-related data used for credit decisions is personal data about borrowers: untick "
                    "“no personal data shared” and record its categories."
                ),
            ),
        ):
            if getattr(initiative, name) is True:
                errors.add(name, message)
    if initiative.cross_border_transfer is not True:
        if (initiative.cross_border_destination or "").strip():
            errors.add(
                "cross_border_destination",
                _("A destination applies only to a cross-border transfer; record the transfer or clear it."),
            )
        if initiative.cross_border_separate_consent is True:
            errors.add(
                "cross_border_separate_consent",
                _("Separate consent to a cross-border transfer needs the transfer recorded."),
            )
    elif isinstance(initiative.cross_border_destination, str) and (
        initiative.cross_border_destination.strip().lower() in _DOMESTIC
    ):
        errors.add(
            "cross_border_destination",
            _("Name the country or region outside mainland China that the data goes to."),
        )
    if initiative.provision_separate_consent is True and initiative.provided_to_partner is not True:
        errors.add(
            "provision_separate_consent",
            _("Separate consent to a provision needs the provision to the partner recorded."),
        )
    if initiative.credit_route_agency_id is not None and initiative.credit_use is not True:
        errors.add(
            "credit_route_agency",
            _(
                "An agency on the 断直连 route applies only when credit-related data is used for credit "
                "decisions; record that use or clear the agency."
            ),
        )
    dated = initiative.impact_assessment_on
    if isinstance(dated, datetime.date) and dated > timezone.localdate():
        errors.add("impact_assessment_on", _("An impact assessment cannot be dated in the future."))
    return rows


def _check_status(errors: FieldErrors, before: str, after: str) -> None:
    if after == before or after not in InitiativeStatus.values:
        return  # an unknown value is the model's full_clean to report
    allowed = STATUS_TRANSITIONS.get(before, frozenset())
    if after not in allowed:
        errors.add(
            "status",
            _("An initiative cannot go from “%(before)s” to “%(after)s”. Allowed next: %(allowed)s.")
            % {
                "before": InitiativeStatus(before).label,
                "after": InitiativeStatus(after).label,
                "allowed": "、".join(str(InitiativeStatus(s).label) for s in sorted(allowed))
                or _("none (final)"),
            },
        )


def _check_model(errors: FieldErrors, initiative: Initiative) -> None:
    """The model's own checks (choices, clean(), constraints) and the code's uniqueness in the bank."""
    if initiative.code and initiative.bank_id:
        clash = Initiative.objects.for_bank(initiative.bank_id).filter(code=initiative.code)
        if initiative.pk:
            clash = clash.exclude(pk=initiative.pk)
        if clash.exists():
            errors.add("code", _("Another initiative of this bank already has this code."))
    try:
        # The bank and the owner were checked above against the user's roles and the bank's members.
        initiative.full_clean(exclude=["bank", "owner"], validate_unique=False)
    except ValidationError as exc:
        errors.merge(Invalid.from_validation_error(exc))


def _plan(user, initiative: Initiative, data: dict[str, Any], *, creating: bool) -> _Plan:
    """Apply ``data`` to ``initiative`` (unsaved) and check everything; raise Invalid with every problem."""
    errors = FieldErrors()
    unknown = sorted(
        set(data) - {*SIMPLE_FIELDS, *FACT_FIELDS, "bank", "pillar", "owner", "scenario_types", "partners"}
    )
    if unknown:
        errors.add("non_field_errors", _("Unknown fields: %(names)s.") % {"names": ", ".join(unknown)})
    before_status = initiative.status
    bank_ok = True
    if creating or ("bank" in data and data["bank"] != initiative.bank_id):
        if "bank" not in data or data["bank"] in (None, ""):
            errors.add("bank", _("This field is required."))
            bank_ok = False
        else:
            bank_ok = _check_bank(errors, user, data["bank"])
            if bank_ok:
                bank = data["bank"]
                initiative.bank_id = bank.pk if isinstance(bank, Bank) else bank
    if "pillar" in data:
        pillar = data["pillar"]
        initiative.pillar_id = getattr(pillar, "key", pillar)
    for name in SIMPLE_FIELDS:
        if name in data:
            value = data[name]
            if name in _BLANK_WHEN_NONE and value is None:
                value = ""
            setattr(initiative, name, value)
    if creating and not initiative.status:
        initiative.status = InitiativeStatus.IDEA
    if not creating and "status" in data:
        _check_status(errors, before_status, initiative.status)

    if creating and not data.get("code") and bank_ok and initiative.pillar_id:
        initiative.code = next_initiative_code(initiative.bank_id, initiative.pillar_id)

    if bank_ok and "owner" in data:
        initiative.owner = _check_owner(errors, data["owner"], initiative.bank_id)
    elif bank_ok and creating:
        # The author owns what they create when they belong to the bank (the system and superusers may not).
        member = not is_system(user) and user_is_member(user.pk, initiative.bank_id)
        initiative.owner = user if member else None
    elif bank_ok and "bank" in data and initiative.owner_id:
        if not user_is_member(initiative.owner_id, initiative.bank_id):
            errors.add("owner", _("The owner must be a member of the initiative's bank."))

    types = None
    if "scenario_types" in data:
        types = check_scenario_types(errors, data["scenario_types"] or [], initiative.pillar_id)
    elif not creating and "pillar" in data:
        wrong = [t for t in initiative.scenario_types.all() if t.pillar_id != initiative.pillar_id]
        if wrong:
            errors.add(
                "scenario_types",
                _(
                    "%(types)s do not belong to the pillar “%(pillar)s”; send the scenario types with the pillar."
                )
                % {"types": "、".join(f"{t.name} ({t.key})" for t in wrong), "pillar": initiative.pillar_id},
            )
    partners = check_partners(errors, data["partners"] or []) if "partners" in data else None

    if "credit_route_agency" in data:
        initiative.credit_route_agency = _find_agency(errors, data["credit_route_agency"])
    if bank_ok:
        _check_model(errors, initiative)
    categories = check_personal_data(errors, initiative, data, creating=creating)
    errors.raise_if_any()
    plan = _Plan(initiative, types, partners)
    plan.data_categories = categories
    return plan


# --- writes ------------------------------------------------------------------------------------------------
def _write_links(
    initiative: Initiative, partners: list[tuple[TechPartner, str, str, list[str] | None]]
) -> None:
    existing = {link.partner_id: link for link in InitiativePartner.objects.filter(initiative=initiative)}
    wanted = {partner.pk for partner, *_rest in partners}
    InitiativePartner.objects.filter(initiative=initiative).exclude(partner_id__in=wanted).delete()
    # Demote before promoting, so the single-lead constraint holds at every step.
    for partner, role, note, services in sorted(partners, key=lambda p: p[1] == PartnerRole.LEAD):
        link = existing.get(partner.pk)
        if link is None:
            InitiativePartner.objects.create(
                initiative=initiative, partner=partner, role=role, note=note, services=services or []
            )
            continue
        # Services left out keep what the link had: a recorded licensed service is never dropped by omission.
        services = link.services if services is None else services
        if (link.role, link.note, link.services) != (role, note, services):
            link.role, link.note, link.services = role, note, services
            link.save(update_fields=["role", "note", "services"])


def _write_categories(initiative: Initiative, rows: list[tuple[str, str, bool]]) -> None:
    """Replace the initiative's personal-data categories with ``rows``, row by row (each change in history)."""
    existing = {c.category: c for c in InitiativeDataCategory.objects.filter(initiative=initiative)}
    wanted = {category for category, _basis, _consent in rows}
    for category, row in existing.items():
        if category not in wanted:
            row.delete()
    for category, basis, consent in rows:
        row = existing.get(category)
        if row is None:
            InitiativeDataCategory.objects.create(
                initiative=initiative, category=category, lawful_basis=basis, separate_consent=consent
            )
        elif (row.lawful_basis, row.separate_consent) != (basis, consent):
            row.lawful_basis, row.separate_consent = basis, consent
            row.save(update_fields=["lawful_basis", "separate_consent"])


def _save(plan: _Plan) -> Initiative:
    initiative = plan.initiative
    try:
        with transaction.atomic():
            initiative.save()
            if plan.scenario_types is not None:
                initiative.scenario_types.set(plan.scenario_types)
            if plan.partners is not None:
                _write_links(initiative, plan.partners)
            if plan.data_categories is not None:
                _write_categories(initiative, plan.data_categories)
    except IntegrityError as exc:
        # Two requests checked the same free code at once; the database let one through. Say it like the check.
        if "initiative_bank_code_unique" in str(exc):
            raise Invalid(
                fields={"code": [_("Another initiative of this bank already has this code.")]}
            ) from exc
        raise
    # What the doors show after a save (never a refusal): prohibited or restricted scenario types.
    initiative.warnings = initiative_warnings(initiative)
    return initiative


def _locked(initiative: Initiative | int) -> Initiative:
    pk = initiative.pk if isinstance(initiative, Initiative) else initiative
    return Initiative.objects.select_for_update(of=("self",)).get(pk=pk)


def initiative_validate(*, user, data: dict[str, Any], initiative: Initiative | None = None) -> None:
    """Every check of ``initiative_create`` / ``initiative_update``, writing nothing (forms, import dry runs)."""
    if initiative is None or initiative.pk is None:
        _plan(user, Initiative(), dict(data), creating=True)
        return
    current = Initiative.objects.get(pk=initiative.pk)
    require_bank_role(user, current.bank_id, min_role=WRITE_ROLE)
    _plan(user, copy.copy(current), dict(data), creating=False)


def initiative_create(*, user, data: dict[str, Any]) -> Initiative:
    """Create an initiative in one of the user's banks (analyst role), with its scenario types and partners.

    The owner defaults to the user when they are a member of the bank; the code to the next free one of the
    pillar and month.
    """
    with transaction.atomic():
        return _save(_plan(user, Initiative(), dict(data), creating=True))


def initiative_update(*, user, initiative: Initiative | int, data: dict[str, Any]) -> Initiative:
    """Change the given fields under the initiative's row lock; a status change follows ``STATUS_TRANSITIONS``.

    Moving an initiative to another bank needs the analyst role in both banks, and its owner must belong to the
    new bank.
    """
    with transaction.atomic():
        current = _locked(initiative)
        require_bank_role(user, current.bank_id, min_role=WRITE_ROLE)
        return _save(_plan(user, current, dict(data), creating=False))


def initiative_set_partners(*, user, initiative: Initiative | int, partners: list[dict]) -> Initiative:
    """Replace the initiative's partners ([{partner: key, role, note, services}])."""
    return initiative_update(user=user, initiative=initiative, data={"partners": partners})


def initiative_delete(*, user, initiative: Initiative | int) -> None:
    with transaction.atomic():
        current = _locked(initiative)
        require_bank_role(user, current.bank_id, min_role=WRITE_ROLE)
        try:
            current.delete()
        except ProtectedError as exc:
            raise Conflict(
                _("Other records still refer to this initiative, so it cannot be deleted.")
            ) from exc


# --- warnings: recorded, but flagged ------------------------------------------------------------------------
def initiative_warnings(initiative: Initiative) -> list[dict[str, str]]:
    """Warnings about a saved initiative that do not stop the save (one query).

    A scenario type that is prohibited (P2P) or restricted, each with the rule that says so, in the active
    language. An initiative of a prohibited type may still be recorded — as history — but its compliance
    readiness is capped at 0 (``scoring.caps``). ``initiative_create`` and ``initiative_update`` attach the list to
    the initiative they return (``initiative.warnings``); the admin shows it as warning messages after the save and
    the API as the ``warnings`` of its answer. Each warning: {code, scenario_type, status, message, rule}.
    """
    from django.utils.translation import get_language

    english = (get_language() or "zh-hans").lower().startswith("en")
    flagged = initiative.scenario_types.exclude(status=ScenarioStatus.ACTIVE).order_by("position", "key")
    warnings = []
    for scenario_type in flagged:
        name = (scenario_type.name_en if english else scenario_type.name_zh_hans) or scenario_type.key
        rule = (scenario_type.status_rule_en if english else scenario_type.status_rule_zh_hans) or (
            scenario_type.status_rule_zh_hans or scenario_type.status_rule_en
        )
        if scenario_type.status == ScenarioStatus.PROHIBITED:
            message = _(
                "Scenario type “%(name)s” is prohibited business: %(rule)s The initiative is recorded as history; "
                "its compliance readiness is capped at 0."
            ) % {"name": name, "rule": rule}
        else:
            message = _("Scenario type “%(name)s” is restricted: %(rule)s") % {"name": name, "rule": rule}
        warnings.append(
            {
                "code": f"scenario_type_{scenario_type.status}",
                "scenario_type": scenario_type.key,
                "status": scenario_type.status,
                "message": message,
                "rule": rule,
            }
        )
    return warnings
