"""Writing KPIs and their observations: the one door for the admin, the API and commands.

An analyst of the initiative's bank records a KPI (baseline, target, target date) and observations of it over
time. Each function checks everything itself and raises ``partnerships.errors.ServiceError``; ``user`` None is
the system. Writes of an existing row take its lock, so two editors cannot interleave half-checked changes.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..errors import FieldErrors, Invalid
from ..models import KPI, Initiative, KPIObservation
from ..tenancy import actor_has_bank_role, require_bank_role

WRITE_ROLE = "analyst"
# baseline_date and weight: the path and the weight of KPI attainment in rubric version 2.
KPI_FIELDS = ("name", "cost_driver", "unit", "baseline", "target", "target_date", "baseline_date", "weight")
OBSERVATION_FIELDS = ("observed_on", "value", "note")


def _check_initiative(errors: FieldErrors, user, initiative) -> Initiative | None:
    """An initiative of one of the user's banks (analyst role); foreign and missing ones read alike."""
    pk = initiative.pk if isinstance(initiative, Initiative) else initiative
    found = Initiative.objects.filter(pk=pk).only("id", "bank_id").first() if isinstance(pk, int) else None
    if found is None or not actor_has_bank_role(user, found.bank_id, min_role="viewer"):
        errors.add("initiative", _("Choose an initiative of one of your banks."))
        return None
    if not actor_has_bank_role(user, found.bank_id, min_role=WRITE_ROLE):
        errors.add("initiative", _("You need the analyst role in this initiative's bank."))
        return None
    return found


def _full_clean(errors: FieldErrors, obj, *, unique: tuple[str, str], message: str) -> None:
    """The model's field and clean() checks, then its one uniqueness rule with a message that names the field."""
    try:
        # Uniqueness is checked below with a message of our own; the check constraints repeat clean()'s rules.
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.merge(Invalid.from_validation_error(exc))
    parent, field = unique
    value = getattr(obj, field, None)
    if value is not None and field not in errors:
        clash = type(obj).objects.filter(**{f"{parent}_id": getattr(obj, f"{parent}_id"), field: value})
        if obj.pk:
            clash = clash.exclude(pk=obj.pk)
        if clash.exists():
            errors.add(field, message)


def _apply(obj, data: dict[str, Any], allowed: tuple[str, ...], errors: FieldErrors) -> None:
    unknown = sorted(set(data) - set(allowed) - {"initiative", "kpi"})
    if unknown:
        errors.add("non_field_errors", _("Unknown fields: %(names)s.") % {"names": ", ".join(unknown)})
    for name in allowed:
        if name in data:
            value = data[name]
            if name in ("unit", "note") and value is None:
                value = ""
            setattr(obj, name, value)


def _check_path(errors: FieldErrors, kpi: KPI) -> None:
    """The rules the check constraints hold, said by field: a positive weight, a baseline date before the target
    date (types are the model's full_clean to report)."""
    weight = kpi.weight
    if isinstance(weight, int | float | Decimal) and not isinstance(weight, bool) and weight <= 0:
        errors.add("weight", _("The weight must be greater than 0."))
    start, end = kpi.baseline_date, kpi.target_date
    if isinstance(start, datetime.date) and isinstance(end, datetime.date) and end <= start:
        errors.add("target_date", _("The target date must be after the baseline date."))


def _kpi_plan(user, kpi: KPI, data: dict[str, Any], *, new_initiative: bool = False) -> KPI:
    errors = FieldErrors()
    if new_initiative:
        pass  # recorded with an initiative not saved yet: the initiative's own checks cover its bank
    elif kpi.pk is None or ("initiative" in data and _pk(data["initiative"]) != kpi.initiative_id):
        initiative = _check_initiative(errors, user, data.get("initiative"))
        if initiative is not None:
            kpi.initiative = initiative
    _apply(kpi, data, KPI_FIELDS, errors)
    if kpi.weight is None:
        kpi.weight = 1  # left empty: the default weight
    if new_initiative:
        try:
            kpi.full_clean(exclude=["initiative"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            errors.merge(Invalid.from_validation_error(exc))
    elif kpi.initiative_id:
        _full_clean(
            errors,
            kpi,
            unique=("initiative", "name"),
            message=_("This initiative already has a KPI with this name."),
        )
    _check_path(errors, kpi)  # after full_clean, which turns the input into dates and numbers
    errors.raise_if_any()
    return kpi


def _pk(value):
    return getattr(value, "pk", value)


def _locked_kpi(kpi: KPI | int) -> KPI:
    return KPI.objects.select_for_update(of=("self",)).select_related("initiative").get(pk=_pk(kpi))


def _save(obj, field: str, message: str):
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # a concurrent writer took the same name or date first
        raise Invalid(fields={field: [message]}) from exc
    return obj


def kpi_validate(*, user, data: dict[str, Any], kpi: KPI | None = None, new_initiative: bool = False) -> None:
    """Every check of kpi_create / kpi_update, writing nothing; ``new_initiative``: for an initiative being
    recorded in the same step (its bank and role are the initiative service's to check)."""
    if kpi is None or kpi.pk is None:
        _kpi_plan(user, KPI(), dict(data), new_initiative=new_initiative)
        return
    current = KPI.objects.select_related("initiative").get(pk=kpi.pk)
    require_bank_role(user, current.initiative.bank_id, min_role=WRITE_ROLE)
    _kpi_plan(user, current, dict(data))


def kpi_create(*, user, initiative: Initiative | int, data: dict[str, Any]) -> KPI:
    with transaction.atomic():
        kpi = _kpi_plan(user, KPI(), {**data, "initiative": _pk(initiative)})
        return _save(kpi, "name", _("This initiative already has a KPI with this name."))


def kpi_update(*, user, kpi: KPI | int, data: dict[str, Any]) -> KPI:
    with transaction.atomic():
        current = _locked_kpi(kpi)
        require_bank_role(user, current.initiative.bank_id, min_role=WRITE_ROLE)
        current = _kpi_plan(user, current, dict(data))
        return _save(current, "name", _("This initiative already has a KPI with this name."))


def kpi_delete(*, user, kpi: KPI | int) -> None:
    with transaction.atomic():
        current = _locked_kpi(kpi)
        require_bank_role(user, current.initiative.bank_id, min_role=WRITE_ROLE)
        current.delete()


# --- observations ------------------------------------------------------------------------------------------
_DATE_TAKEN = gettext_noop("This KPI already has an observation on this date.")


def _observation_plan(user, observation: KPIObservation, data: dict[str, Any]) -> KPIObservation:
    errors = FieldErrors()
    if observation.pk is None:
        kpi = KPI.objects.filter(pk=_pk(data.get("kpi"))).select_related("initiative").first()
        if kpi is None or not actor_has_bank_role(user, kpi.initiative.bank_id, min_role="viewer"):
            errors.add("kpi", _("Choose a KPI of one of your banks' initiatives."))
        elif not actor_has_bank_role(user, kpi.initiative.bank_id, min_role=WRITE_ROLE):
            errors.add("kpi", _("You need the analyst role in this initiative's bank."))
        else:
            observation.kpi = kpi
    elif "kpi" in data and _pk(data["kpi"]) != observation.kpi_id:
        errors.add("kpi", _("An observation stays with its KPI; record a new one on the other KPI."))
    _apply(observation, data, OBSERVATION_FIELDS, errors)
    if observation.kpi_id:
        _full_clean(errors, observation, unique=("kpi", "observed_on"), message=_(_DATE_TAKEN))
    errors.raise_if_any()
    return observation


def observation_validate(*, user, data: dict[str, Any], observation: KPIObservation | None = None) -> None:
    if observation is None or observation.pk is None:
        _observation_plan(user, KPIObservation(), dict(data))
        return
    current = KPIObservation.objects.select_related("kpi__initiative").get(pk=observation.pk)
    require_bank_role(user, current.kpi.initiative.bank_id, min_role=WRITE_ROLE)
    _observation_plan(user, current, dict(data))


def observation_create(*, user, kpi: KPI | int, data: dict[str, Any]) -> KPIObservation:
    """Record a KPI's value on a date (one observation a date)."""
    with transaction.atomic():
        observation = _observation_plan(user, KPIObservation(), {**data, "kpi": _pk(kpi)})
        return _save(observation, "observed_on", _(_DATE_TAKEN))


def _locked_observation(observation) -> KPIObservation:
    return (
        KPIObservation.objects.select_for_update(of=("self",))
        .select_related("kpi__initiative")
        .get(pk=_pk(observation))
    )


def observation_update(*, user, observation: KPIObservation | int, data: dict[str, Any]) -> KPIObservation:
    with transaction.atomic():
        current = _locked_observation(observation)
        require_bank_role(user, current.kpi.initiative.bank_id, min_role=WRITE_ROLE)
        current = _observation_plan(user, current, dict(data))
        return _save(current, "observed_on", _(_DATE_TAKEN))


def observation_delete(*, user, observation: KPIObservation | int) -> None:
    with transaction.atomic():
        current = _locked_observation(observation)
        require_bank_role(user, current.kpi.initiative.bank_id, min_role=WRITE_ROLE)
        current.delete()
