"""Writing the joint-lending exposure register: partner exposures per month, the bank's own figures per period,
the bank's lending profile (type, home region, early-warning level), and the all-or-nothing imports of both.

The one door for these changes: the admin, the API, the CSV/XLSX import and the demo seed call these functions and
hold no rule of their own. An analyst (or manager) of the bank records exposures and figures; a manager of the bank
(or a superuser) changes its profile. ``user`` None is the system (commands, seeds), which may act in every bank.

Every function checks everything itself and raises ``partnerships.errors.ServiceError`` (``Invalid`` with messages
by field, ``Forbidden``, ``NotFound``). Money is in 万元; ``period_end`` is the last day of a month, never in the
future. Writes of an existing row take its lock first, and every save names its author for simple-history.
"""

from __future__ import annotations

import calendar
import copy
import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..choices import LOCAL_BANK_TYPES, LendingProduct
from ..errors import NON_FIELD, FieldErrors, Forbidden, Invalid, NotFound, ServiceError
from ..models import Bank, BankPeriodFigures, PartnerExposure, TechPartner
from ..tenancy import actor_has_bank_role, is_system, require_bank_role

WRITE_ROLE = "analyst"  # exposures and bank figures
PROFILE_ROLE = "manager"  # the bank's type, home region and early-warning level

EXPOSURE_FIELDS = (
    "bank",
    "partner",
    "period_end",
    "product",
    "balance",
    "partner_funded_balance",
    "lowest_partner_share_percent",
    "customers",
    "new_loans",
    "out_of_region_balance",
    "source",
)
FIGURES_FIELDS = ("bank", "period_end", "tier1_net_capital", "total_loans", "source")
PROFILE_FIELDS = ("bank_type", "home_region", "limit_warning_percent")

# The money columns of an exposure: none is negative, and the parts are within the balance.
_EXPOSURE_MONEY = ("balance", "partner_funded_balance", "new_loans", "out_of_region_balance")
_PARTS_OF_BALANCE = ("partner_funded_balance", "out_of_region_balance")
# Text fields where None means blank.
_BLANK_WHEN_NONE = {"source", "bank_type", "home_region"}

_EXPOSURE_TAKEN = gettext_noop(
    "This bank already has figures for this partner, month and product; change that record instead."
)
_FIGURES_TAKEN = gettext_noop(
    "This bank already has figures for this period end; change that record instead."
)


def _pk(value):
    return getattr(value, "pk", value)


def _set_author(obj, user) -> None:
    """simple-history records who changed the row, whatever the door (a request, an import, a command)."""
    if user is not None:
        obj._history_user = user


# --- shared checks -------------------------------------------------------------------------------------------
def _check_bank(errors: FieldErrors, user, bank, *, role: str, message: str) -> int | None:
    """A bank where the user holds ``role``. Another bank reads like one that does not exist."""
    bank_id = _pk(bank)
    if isinstance(bank_id, str) and bank_id.isdigit():
        bank_id = int(bank_id)
    if (
        isinstance(bank_id, bool)
        or not isinstance(bank_id, int)
        or not Bank.objects.filter(pk=bank_id).exists()
        or not actor_has_bank_role(user, bank_id, min_role="viewer")
    ):
        errors.add("bank", _("Choose one of your banks."))
        return None
    if not actor_has_bank_role(user, bank_id, min_role=role):
        errors.add("bank", message)
        return None
    return bank_id


def _check_partner(errors: FieldErrors, partner) -> TechPartner | None:
    """A partner of the register, by its key (or the partner itself)."""
    if isinstance(partner, TechPartner):
        return partner
    if not isinstance(partner, str) or not partner.strip():
        errors.add("partner", _("Name the partner by its key."))
        return None
    found = TechPartner.objects.filter(key=partner.strip()).first()
    if found is None:
        errors.add("partner", _("Unknown partner “%(key)s”.") % {"key": partner.strip()})
    return found


def _apply(obj, data: Mapping[str, Any], allowed: tuple[str, ...], errors: FieldErrors) -> None:
    unknown = sorted(set(data) - set(allowed), key=str)
    if unknown:
        errors.add(NON_FIELD, _("Unknown fields: %(names)s.") % {"names": ", ".join(map(str, unknown))})
    for name in allowed:
        if name in data and name not in ("bank", "partner"):
            value = data[name]
            if value is None and name in _BLANK_WHEN_NONE:
                value = ""
            if name == "product" and value in (None, ""):
                value = LendingProduct.JOINT_LENDING  # not said: the usual product
            if isinstance(value, float):  # JSON numbers: their decimal text, not the binary float
                value = Decimal(repr(value))
            setattr(obj, name, value)


def _clean(errors: FieldErrors, obj, *, exclude: list[str]) -> None:
    """The model's field checks (types, choices, digits and decimal places); the rules below say the rest."""
    try:
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.merge(Invalid.from_validation_error(exc))


def is_month_end(value: datetime.date) -> bool:
    return value.day == calendar.monthrange(value.year, value.month)[1]


def _check_period(errors: FieldErrors, value) -> None:
    """The last day of a month, not after today (a month's figures exist once it has ended)."""
    if "period_end" in errors or not isinstance(value, datetime.date):
        return
    if not is_month_end(value):
        last = value.replace(day=calendar.monthrange(value.year, value.month)[1])
        errors.add(
            "period_end",
            _("Give the last day of the month (%(date)s), not another day.") % {"date": last.isoformat()},
        )
    elif value > timezone.localdate():
        errors.add("period_end", _("Figures for a month that has not ended yet cannot be recorded."))


def _number(obj, name: str, errors: FieldErrors) -> Decimal | None:
    """The field's value when it is a number the model's checks accepted; None when blank or already refused."""
    value = getattr(obj, name)
    if name in errors or value is None or isinstance(value, bool):
        return None
    return value if isinstance(value, Decimal | int) else None


# --- partner exposures -----------------------------------------------------------------------------------------
def _exposure_rules(errors: FieldErrors, exposure: PartnerExposure) -> None:
    """The rules the check constraints hold, said by field, and the ones between fields."""
    for name in _EXPOSURE_MONEY:
        value = _number(exposure, name, errors)
        if value is not None and value < 0:
            errors.add(name, _("An amount cannot be negative."))
    balance = _number(exposure, "balance", errors)
    if exposure.balance is None and "balance" not in errors:
        errors.add("balance", _("This field is required."))
    for name in _PARTS_OF_BALANCE:
        value = _number(exposure, name, errors)
        if value is not None and balance is not None and 0 <= balance < value and name not in errors:
            errors.add(name, _("It cannot be more than the balance (%(balance)s).") % {"balance": balance})
    joint = exposure.product == LendingProduct.JOINT_LENDING
    funded = _number(exposure, "partner_funded_balance", errors)
    if exposure.product == LendingProduct.FACILITATION and funded:
        errors.add(
            "partner_funded_balance",
            _(
                "In loan facilitation the bank funds the loans alone: leave the partner-funded balance blank or 0."
            ),
        )
    share = _number(exposure, "lowest_partner_share_percent", errors)
    if share is not None and not 0 <= share <= 100:
        errors.add("lowest_partner_share_percent", _("A share is between 0 and 100 (%)."))
    elif share is not None and not joint:
        errors.add(
            "lowest_partner_share_percent",
            _("Only joint lending has a partner's share of each loan; leave it blank for loan facilitation."),
        )
    customers = exposure.customers
    if "customers" not in errors and isinstance(customers, int) and customers < 0:
        errors.add("customers", _("A count cannot be negative."))
    _check_period(errors, exposure.period_end)


def _exposure_clash(exposure: PartnerExposure, errors: FieldErrors) -> bool:
    if not exposure.bank_id or not exposure.partner_id or {"period_end", "product"} & set(errors):
        return False
    if not isinstance(exposure.period_end, datetime.date):
        return False
    clash = PartnerExposure.objects.filter(
        bank_id=exposure.bank_id,
        partner_id=exposure.partner_id,
        period_end=exposure.period_end,
        product=exposure.product,
    )
    if exposure.pk:
        clash = clash.exclude(pk=exposure.pk)
    return clash.exists()


def _exposure_plan(user, exposure: PartnerExposure, data: Mapping[str, Any], *, creating: bool):
    errors = FieldErrors()
    if creating:
        for name in ("bank", "partner", "period_end"):
            if data.get(name) in (None, ""):
                errors.add(name, _("This field is required."))
        if data.get("bank") not in (None, ""):
            exposure.bank_id = _check_bank(
                errors,
                user,
                data["bank"],
                role=WRITE_ROLE,
                message=_("You need the analyst role in this bank to record its exposure."),
            )
    elif "bank" in data and _pk(data["bank"]) != exposure.bank_id:
        errors.add("bank", _("An exposure stays with its bank; record it in the other bank instead."))
    if data.get("partner") not in (None, ""):
        partner = _check_partner(errors, data["partner"])
        if partner is not None:
            exposure.partner = partner
    elif not creating and "partner" in data:
        errors.add("partner", _("This field is required."))
    _apply(exposure, data, EXPOSURE_FIELDS, errors)
    _clean(errors, exposure, exclude=["bank", "partner"])
    _exposure_rules(errors, exposure)
    if _exposure_clash(exposure, errors):
        errors.add("period_end", _(_EXPOSURE_TAKEN))
    errors.raise_if_any()
    return exposure


def _locked_exposure(exposure) -> PartnerExposure:
    return (
        PartnerExposure.objects.select_for_update(of=("self",))
        .select_related("partner")
        .get(pk=_pk(exposure))
    )


def _save(obj, user, *, field: str, message: str):
    _set_author(obj, user)
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # a concurrent writer recorded the same month first
        raise Invalid(fields={field: [message]}) from exc
    return obj


def exposure_validate(*, user, data: Mapping[str, Any], exposure: PartnerExposure | None = None) -> None:
    """Every check of ``exposure_create`` / ``exposure_update``, writing nothing (the admin's form)."""
    if exposure is None or exposure.pk is None:
        _exposure_plan(user, PartnerExposure(), dict(data), creating=True)
        return
    current = PartnerExposure.objects.select_related("partner").get(pk=exposure.pk)
    require_bank_role(user, current.bank_id, min_role=WRITE_ROLE)
    _exposure_plan(user, copy.copy(current), dict(data), creating=False)


def exposure_create(*, user, data: Mapping[str, Any]) -> PartnerExposure:
    """Record what the bank lends with a partner in one month and product (balances in 万元)."""
    with transaction.atomic():
        exposure = _exposure_plan(user, PartnerExposure(), dict(data), creating=True)
        return _save(exposure, user, field="period_end", message=_(_EXPOSURE_TAKEN))


def exposure_update(*, user, exposure: PartnerExposure | int, data: Mapping[str, Any]) -> PartnerExposure:
    with transaction.atomic():
        current = _locked_exposure(exposure)
        require_bank_role(user, current.bank_id, min_role=WRITE_ROLE)
        current = _exposure_plan(user, current, dict(data), creating=False)
        return _save(current, user, field="period_end", message=_(_EXPOSURE_TAKEN))


def exposure_delete(*, user, exposure: PartnerExposure | int) -> None:
    with transaction.atomic():
        current = _locked_exposure(exposure)
        require_bank_role(user, current.bank_id, min_role=WRITE_ROLE)
        _set_author(current, user)
        current.delete()


# --- the bank's own figures ------------------------------------------------------------------------------------
def _figures_plan(user, figures: BankPeriodFigures, data: Mapping[str, Any], *, creating: bool):
    errors = FieldErrors()
    if creating:
        for name in ("bank", "period_end"):
            if data.get(name) in (None, ""):
                errors.add(name, _("This field is required."))
        if data.get("bank") not in (None, ""):
            figures.bank_id = _check_bank(
                errors,
                user,
                data["bank"],
                role=WRITE_ROLE,
                message=_("You need the analyst role in this bank to record its figures."),
            )
    elif "bank" in data and _pk(data["bank"]) != figures.bank_id:
        errors.add("bank", _("A bank's figures stay with the bank; record them in the other bank instead."))
    _apply(figures, data, FIGURES_FIELDS, errors)
    _clean(errors, figures, exclude=["bank"])
    capital = _number(figures, "tier1_net_capital", errors)
    if capital is not None and capital <= 0:
        errors.add("tier1_net_capital", _("Tier-1 net capital is more than 0."))
    loans = _number(figures, "total_loans", errors)
    if loans is not None and loans < 0:
        errors.add("total_loans", _("An amount cannot be negative."))
    if (
        figures.tier1_net_capital is None
        and figures.total_loans is None
        and not {"tier1_net_capital", "total_loans"} & set(errors)
    ):
        errors.add(NON_FIELD, _("Give the tier-1 net capital, the total loans or both."))
    _check_period(errors, figures.period_end)
    if figures.bank_id and "period_end" not in errors and isinstance(figures.period_end, datetime.date):
        clash = BankPeriodFigures.objects.filter(bank_id=figures.bank_id, period_end=figures.period_end)
        if figures.pk:
            clash = clash.exclude(pk=figures.pk)
        if clash.exists():
            errors.add("period_end", _(_FIGURES_TAKEN))
    errors.raise_if_any()
    return figures


def _locked_figures(figures) -> BankPeriodFigures:
    return BankPeriodFigures.objects.select_for_update(of=("self",)).get(pk=_pk(figures))


def bank_figures_validate(*, user, data: Mapping[str, Any], figures: BankPeriodFigures | None = None) -> None:
    """Every check of ``bank_figures_create`` / ``bank_figures_update``, writing nothing."""
    if figures is None or figures.pk is None:
        _figures_plan(user, BankPeriodFigures(), dict(data), creating=True)
        return
    current = BankPeriodFigures.objects.get(pk=figures.pk)
    require_bank_role(user, current.bank_id, min_role=WRITE_ROLE)
    _figures_plan(user, copy.copy(current), dict(data), creating=False)


def bank_figures_create(*, user, data: Mapping[str, Any]) -> BankPeriodFigures:
    """Record the bank's tier-1 net capital and total loans (万元) at a month or quarter end."""
    with transaction.atomic():
        figures = _figures_plan(user, BankPeriodFigures(), dict(data), creating=True)
        return _save(figures, user, field="period_end", message=_(_FIGURES_TAKEN))


def bank_figures_update(
    *, user, figures: BankPeriodFigures | int, data: Mapping[str, Any]
) -> BankPeriodFigures:
    with transaction.atomic():
        current = _locked_figures(figures)
        require_bank_role(user, current.bank_id, min_role=WRITE_ROLE)
        current = _figures_plan(user, current, dict(data), creating=False)
        return _save(current, user, field="period_end", message=_(_FIGURES_TAKEN))


def bank_figures_delete(*, user, figures: BankPeriodFigures | int) -> None:
    with transaction.atomic():
        current = _locked_figures(figures)
        require_bank_role(user, current.bank_id, min_role=WRITE_ROLE)
        _set_author(current, user)
        current.delete()


# --- the bank's profile ------------------------------------------------------------------------------------------
def _require_profile_editor(user, bank_id: int | None) -> None:
    if bank_id is None:  # a bank being created: superusers (and the system) create banks
        if not is_system(user) and not (user.is_active and user.is_superuser):
            raise Forbidden(_("Only superusers create banks."))
        return
    require_bank_role(
        user,
        bank_id,
        min_role=PROFILE_ROLE,
        message=_(
            "You need the manager role in this bank to change its type, region or early-warning level."
        ),
    )


def _profile_plan(bank: Bank, data: Mapping[str, Any]) -> Bank:
    errors = FieldErrors()
    _apply(bank, data, PROFILE_FIELDS, errors)
    _clean(errors, bank, exclude=[f.name for f in Bank._meta.fields if f.name not in PROFILE_FIELDS])
    percent = _number(bank, "limit_warning_percent", errors)
    if bank.limit_warning_percent is None and "limit_warning_percent" not in errors:
        errors.add("limit_warning_percent", _("This field is required."))
    elif percent is not None and not 0 < percent <= 100:
        errors.add("limit_warning_percent", _("The early-warning level is more than 0 and at most 100 (%)."))
    if (
        bank.bank_type in LOCAL_BANK_TYPES
        and not bank.home_region
        and not {"bank_type", "home_region"} & set(errors)
    ):
        errors.add(
            "home_region",
            _("A local bank records its home region: the limit on lending outside it is checked against it."),
        )
    errors.raise_if_any()
    return bank


def bank_profile_validate(*, user, data: Mapping[str, Any], bank: Bank | int | None = None) -> None:
    """Every check of ``bank_profile_update``, writing nothing; ``bank`` None for a bank being created."""
    bank_id = _pk(bank)
    if bank_id is None:
        _require_profile_editor(user, None)
        _profile_plan(Bank(), dict(data))
        return
    current = Bank.objects.filter(pk=bank_id).first()
    _require_visible_bank(user, current)
    _require_profile_editor(user, current.pk)
    _profile_plan(current, dict(data))


def _require_visible_bank(user, bank: Bank | None) -> None:
    if bank is None:
        raise NotFound(_("Not found."))


def bank_profile_update(*, user, bank: Bank | int, data: Mapping[str, Any]) -> Bank:
    """Change the bank's type, home region and early-warning level (a manager of the bank, or a superuser)."""
    with transaction.atomic():
        current = Bank.objects.select_for_update().filter(pk=_pk(bank)).first()
        _require_visible_bank(user, current)
        _require_profile_editor(user, current.pk)
        current = _profile_plan(current, dict(data))
        _set_author(current, user)
        current.save(update_fields=[*PROFILE_FIELDS])
        return current


# --- all-or-nothing imports -------------------------------------------------------------------------------------
@dataclass
class ImportedRow:
    number: int  # the row of the file, counting data rows from 1 (as the admin's import preview numbers them)
    obj: Any
    created: bool


@dataclass
class ImportOutcome:
    rows: list[ImportedRow] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for row in self.rows if row.created)

    @property
    def updated(self) -> int:
        return sum(1 for row in self.rows if not row.created)


def row_field(number: int, name: str) -> str:
    """How an import error names its place: ``rows[3].balance`` (data rows counted from 1)."""
    return f"rows[{number}]" if name == NON_FIELD else f"rows[{number}].{name}"


def _numbered(rows) -> list[tuple[int, dict]]:
    if isinstance(rows, Mapping):
        return [(int(number), dict(data)) for number, data in rows.items()]
    return [(number, dict(data)) for number, data in enumerate(rows, 1)]


def _run_import(
    user, rows, *, natural, find, plan, dry_run: bool, errors: Mapping | None, duplicate: str, taken: str
):
    """Plan every row (a new record, or a change of the one with the row's natural key), refuse rows that repeat
    another row's key, then — only when no row has an error — save them all in one transaction."""
    errors = FieldErrors(errors or {})
    told = set(errors)  # what the caller could not read: no second message ("required") for the same cell
    planned: list[tuple[int, Any, bool]] = []
    seen: dict[tuple, int] = {}
    for number, data in _numbered(rows):
        key = natural(data)
        repeats = seen.get(key) if key is not None else None
        if key is not None and repeats is None:
            seen[key] = number
        existing = obj = None
        try:
            existing = find(key) if key is not None else None
            obj = plan(data, existing)
        except ServiceError as exc:
            for name, messages in (exc.fields or {NON_FIELD: [exc.message]}).items():
                if row_field(number, name) not in told:
                    for message in messages:
                        errors.add(row_field(number, name), message)
        if repeats is not None:
            errors.add(row_field(number, "period_end"), duplicate % {"row": repeats})
        elif obj is not None:
            planned.append((number, obj, existing is None))
    if errors:
        raise Invalid(fields=dict(errors))
    outcome = ImportOutcome()
    if dry_run:
        outcome.rows = [ImportedRow(number, obj, created) for number, obj, created in planned]
        return outcome
    with transaction.atomic():
        for number, obj, created in planned:
            _set_author(obj, user)
            try:
                with transaction.atomic():
                    obj.save()
            except IntegrityError as exc:  # a concurrent writer recorded the same key since the check
                raise Invalid(fields={row_field(number, "period_end"): [taken]}) from exc
            outcome.rows.append(ImportedRow(number, obj, created))
    return outcome


def _import_bank_id(user, data: Mapping[str, Any]) -> int | None:
    bank = _pk(data.get("bank"))
    if isinstance(bank, str) and bank.isdigit():
        bank = int(bank)
    return bank if isinstance(bank, int) and not isinstance(bank, bool) else None


def _as_date(value) -> datetime.date | None:
    """A row's period end, to find the record it matches (the plan checks it properly)."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def exposures_import(
    *,
    user,
    rows: Sequence[Mapping[str, Any]] | Mapping[int, Mapping[str, Any]],
    dry_run: bool = False,
    errors: Mapping[str, list[str]] | None = None,
) -> ImportOutcome:
    """Record many exposures at once, all or nothing: each row names its bank, partner (key), month end and
    product; a row whose (bank, partner, month, product) is already recorded changes that record, any other row
    creates one. Every row is checked as ``exposure_create`` / ``exposure_update`` check it, and a row that repeats
    an earlier row's key is refused; one refusal anywhere writes nothing and raises ``Invalid`` naming every row
    and field (``rows[3].balance``). ``rows`` is a list (numbered from 1) or a mapping of row number to row;
    ``errors`` are the caller's own by-row errors (cells it could not read), so the messages come together;
    ``dry_run`` checks everything and writes nothing."""
    partners: dict[str, TechPartner | None] = {}

    def partner_of(value):
        if isinstance(value, TechPartner):
            return value
        if isinstance(value, str) and value.strip():
            key = value.strip()
            if key not in partners:
                partners[key] = TechPartner.objects.filter(key=key).first()
            return partners[key]
        return None

    def natural(data):
        bank, partner = _import_bank_id(user, data), partner_of(data.get("partner"))
        period, product = (
            _as_date(data.get("period_end")),
            data.get("product") or LendingProduct.JOINT_LENDING,
        )
        if bank is None or partner is None or period is None:
            return None
        return (bank, partner.pk, period, product)

    def find(key):
        bank, partner, period, product = key
        return (
            PartnerExposure.objects.select_for_update(of=("self",))
            .filter(bank_id=bank, partner_id=partner, period_end=period, product=product)
            .first()
        )

    def plan(data, existing):
        data = {**data, "partner": partner_of(data.get("partner")) or data.get("partner")}
        if existing is None or not actor_has_bank_role(user, existing.bank_id, min_role=WRITE_ROLE):
            # a bank the user may not write to is refused by the bank check, like any new row
            return _exposure_plan(user, PartnerExposure(), data, creating=True)
        return _exposure_plan(user, existing, data, creating=False)

    duplicate = _("Row %(row)s already gives this partner's figures for this month and product.")
    with transaction.atomic():
        return _run_import(
            user,
            rows,
            natural=natural,
            find=find,
            plan=plan,
            dry_run=dry_run,
            errors=errors,
            duplicate=duplicate,
            taken=_(_EXPOSURE_TAKEN),
        )


def bank_figures_import(
    *,
    user,
    rows: Sequence[Mapping[str, Any]] | Mapping[int, Mapping[str, Any]],
    dry_run: bool = False,
    errors: Mapping[str, list[str]] | None = None,
) -> ImportOutcome:
    """Record many period figures at once, all or nothing, as ``exposures_import`` does: a row whose (bank,
    period end) is already recorded changes that record; any refusal writes nothing."""

    def natural(data):
        bank, period = _import_bank_id(user, data), _as_date(data.get("period_end"))
        return (bank, period) if bank is not None and period is not None else None

    def find(key):
        bank, period = key
        return (
            BankPeriodFigures.objects.select_for_update(of=("self",))
            .filter(bank_id=bank, period_end=period)
            .first()
        )

    def plan(data, existing):
        if existing is None or not actor_has_bank_role(user, existing.bank_id, min_role=WRITE_ROLE):
            return _figures_plan(user, BankPeriodFigures(), data, creating=True)
        return _figures_plan(user, existing, data, creating=False)

    duplicate = _("Row %(row)s already gives this bank's figures for this period end.")
    with transaction.atomic():
        return _run_import(
            user,
            rows,
            natural=natural,
            find=find,
            plan=plan,
            dry_run=dry_run,
            errors=errors,
            duplicate=duplicate,
            taken=_(_FIGURES_TAKEN),
        )
