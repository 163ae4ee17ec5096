"""Writing the partner register: partners, their figures and licences, and each bank's due diligence on a partner.

The one door for these changes — the admin, the API and the seed loader call these functions and hold no rule of
their own. Partners, figures and licences are reference data shared by every bank: superusers (and the system,
``user`` None: commands, seeds) change them. A due-diligence record belongs to one bank: an analyst (or manager) of
that bank records and updates it; another bank's record is "not found", never "forbidden".

Every function checks everything itself and raises ``partnerships.errors.ServiceError`` (``Invalid`` with messages
by field, ``Forbidden``, ``NotFound``, ``Conflict``). Writes of an existing row take its lock first.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..choices import PartnerService
from ..errors import NON_FIELD, Conflict, FieldErrors, Forbidden, Invalid
from ..models import Bank, PartnerDueDiligence, PartnerLicence, PartnerMetric, TechPartner
from ..tenancy import actor_has_bank_role, is_system, require_bank_role

PARTNER_FIELDS = (
    "key",
    "name_zh_hans",
    "name_en",
    "ticker",
    "description_zh_hans",
    "description_en",
    "kind",
    "related_party_group",
    "is_illustrative",
)
LICENCE_FIELDS = ("licence_type", "number", "issuer", "valid_until", "source")
METRIC_FIELDS = ("metric", "segment", "part_of", "period", "period_end", "value", "unit", "source")
DUE_DILIGENCE_FIELDS = ("bank", "partner", "answers", "inherent_risk_tier", "performed_on", "next_due")
DUE_DILIGENCE_ROLE = "analyst"

# Invented demo partners carry this prefix in their Chinese name, so no reader takes one for a real company.
ILLUSTRATIVE_PREFIX = "演示"
MAX_ANSWERS = 200
MAX_QUESTION_LENGTH = 200
MAX_ANSWER_LENGTH = 4000

# Text fields where None means blank.
_BLANK_WHEN_NONE = {
    "ticker",
    "description_zh_hans",
    "description_en",
    "related_party_group",
    "number",
    "segment",
    "part_of",
    "inherent_risk_tier",
}


# --- shared checks -------------------------------------------------------------------------------------------
def require_register_editor(user) -> None:
    """Partners, their figures and licences are shared by every bank: superusers (or the system) change them."""
    if not is_system(user) and not (user.is_active and user.is_superuser):
        raise Forbidden(
            _("Only superusers change the partner register (partners, their figures and licences).")
        )


def _pk(value):
    return getattr(value, "pk", value)


def _apply(obj, data: dict[str, Any], allowed: tuple[str, ...], errors: FieldErrors) -> None:
    unknown = sorted(set(data) - set(allowed), key=str)
    if unknown:
        errors.add(NON_FIELD, _("Unknown fields: %(names)s.") % {"names": ", ".join(map(str, unknown))})
    for name in allowed:
        if name in data:
            value = data[name]
            if value is None and name in _BLANK_WHEN_NONE:
                value = ""
            setattr(obj, name, value)


def _clean(errors: FieldErrors, obj, *, exclude: list[str]) -> None:
    """The model's field checks (choices, lengths, dates); uniqueness is checked by each service in its words."""
    try:
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.merge(Invalid.from_validation_error(exc))


def _save(obj, *, field: str, message: str):
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # a concurrent writer took the same natural key first
        raise Invalid(fields={field: [message]}) from exc
    return obj


def check_link_services(errors: FieldErrors, field: str, value) -> list[str]:
    """What a partner does in an initiative that may need a licence: PartnerService values, each once, in the
    choices' order (so that equal sets compare equal). For the initiative services' partner rows."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or any(not isinstance(v, str) for v in value):
        errors.add(
            field,
            _("Give the services as a list of: %(choices)s.") % {"choices": ", ".join(PartnerService.values)},
        )
        return []
    unknown = [v for v in dict.fromkeys(value) if v not in PartnerService.values]
    if unknown:
        errors.add(
            field,
            _("Unknown services: %(values)s; use any of: %(choices)s.")
            % {"values": ", ".join(unknown), "choices": ", ".join(PartnerService.values)},
        )
    return [s for s in PartnerService.values if s in value]


# --- partners ------------------------------------------------------------------------------------------------
def _partner_plan(partner: TechPartner, data: dict[str, Any], *, creating: bool) -> TechPartner:
    errors = FieldErrors()
    if not creating and "key" in data and data["key"] != partner.key:
        errors.add(
            "key", _("A partner's key does not change: files and API payloads name the partner by it.")
        )
        data = {name: value for name, value in data.items() if name != "key"}
    _apply(partner, data, PARTNER_FIELDS, errors)
    _clean(errors, partner, exclude=[])
    if partner.key and "key" not in errors:
        clash = TechPartner.objects.filter(key=partner.key)
        if partner.pk:
            clash = clash.exclude(pk=partner.pk)
        if clash.exists():
            errors.add("key", _("Another partner already has this key."))
    if (
        partner.is_illustrative is True
        and "name_zh_hans" not in errors
        and not (partner.name_zh_hans or "").startswith(ILLUSTRATIVE_PREFIX)
    ):
        errors.add(
            "name_zh_hans",
            _(
                "An illustrative partner's Chinese name starts with “%(prefix)s”, so no reader takes it for a real company."
            )
            % {"prefix": ILLUSTRATIVE_PREFIX},
        )
    errors.raise_if_any()
    return partner


def _locked_partner(partner: TechPartner | int) -> TechPartner:
    return TechPartner.objects.select_for_update().get(pk=_pk(partner))


def partner_validate(*, user, data: dict[str, Any], partner: TechPartner | None = None) -> None:
    """Every check of ``partner_create`` / ``partner_update``, writing nothing (the admin's form)."""
    require_register_editor(user)
    if partner is None or partner.pk is None:
        _partner_plan(TechPartner(), dict(data), creating=True)
    else:
        _partner_plan(copy.copy(TechPartner.objects.get(pk=partner.pk)), dict(data), creating=False)


def partner_create(*, user, data: dict[str, Any]) -> TechPartner:
    require_register_editor(user)
    with transaction.atomic():
        partner = _partner_plan(TechPartner(), dict(data), creating=True)
        return _save(partner, field="key", message=_("Another partner already has this key."))


def partner_update(*, user, partner: TechPartner | int, data: dict[str, Any]) -> TechPartner:
    require_register_editor(user)
    with transaction.atomic():
        current = _partner_plan(_locked_partner(partner), dict(data), creating=False)
        return _save(current, field="key", message=_("Another partner already has this key."))


def partner_delete(*, user, partner: TechPartner | int) -> None:
    require_register_editor(user)
    with transaction.atomic():
        current = _locked_partner(partner)
        try:
            with transaction.atomic():
                current.delete()
        except ProtectedError as exc:
            raise Conflict(
                _("Initiatives or due-diligence records still name this partner, so it cannot be deleted.")
            ) from exc


# --- licences ------------------------------------------------------------------------------------------------
_LICENCE_CLASH = gettext_noop("This partner already has this licence (same type, number and expiry).")


def _licence_plan(licence: PartnerLicence, data: dict[str, Any], *, partner=None) -> PartnerLicence:
    errors = FieldErrors()
    if partner is not None:
        licence.partner_id = _pk(partner)
    _apply(licence, data, LICENCE_FIELDS, errors)
    _clean(errors, licence, exclude=["partner"])
    if licence.partner_id and not errors:
        clash = PartnerLicence.objects.filter(
            partner_id=licence.partner_id,
            licence_type=licence.licence_type,
            number=licence.number,
            valid_until=licence.valid_until,
        )
        if licence.pk:
            clash = clash.exclude(pk=licence.pk)
        if clash.exists():
            errors.add("licence_type", _(_LICENCE_CLASH))
    errors.raise_if_any()
    return licence


def _locked_licence(licence: PartnerLicence | int) -> PartnerLicence:
    return PartnerLicence.objects.select_for_update().get(pk=_pk(licence))


def licence_validate(
    *, user, data: dict[str, Any], licence: PartnerLicence | None = None, partner=None
) -> None:
    """Every check of ``licence_create`` / ``licence_update``; ``partner`` None for a partner being created."""
    require_register_editor(user)
    if licence is None or licence.pk is None:
        _licence_plan(PartnerLicence(), dict(data), partner=partner)
    else:
        _licence_plan(copy.copy(PartnerLicence.objects.get(pk=licence.pk)), dict(data))


def licence_create(*, user, partner: TechPartner | int, data: dict[str, Any]) -> PartnerLicence:
    """Record a licence the partner holds (type, number, issuer, valid until — blank: no expiry — and source)."""
    require_register_editor(user)
    with transaction.atomic():
        _locked_partner(partner)  # the partner exists, and a concurrent duplicate waits for this one
        licence = _licence_plan(PartnerLicence(), dict(data), partner=partner)
        return _save(licence, field="licence_type", message=_(_LICENCE_CLASH))


def licence_update(*, user, licence: PartnerLicence | int, data: dict[str, Any]) -> PartnerLicence:
    require_register_editor(user)
    with transaction.atomic():
        current = _licence_plan(_locked_licence(licence), dict(data))
        return _save(current, field="licence_type", message=_(_LICENCE_CLASH))


def licence_delete(*, user, licence: PartnerLicence | int) -> None:
    require_register_editor(user)
    with transaction.atomic():
        _locked_licence(licence).delete()


# --- figures (PartnerMetric) ---------------------------------------------------------------------------------
_METRIC_CLASH = gettext_noop("This partner already has this figure for the segment and period.")


def _metric_plan(metric: PartnerMetric, data: dict[str, Any], *, partner=None) -> PartnerMetric:
    errors = FieldErrors()
    if partner is not None:
        metric.partner_id = _pk(partner)
    _apply(metric, data, METRIC_FIELDS, errors)
    _clean(errors, metric, exclude=["partner"])
    if metric.part_of and not metric.segment:
        errors.add("part_of", _("Only a segment can be part of another segment."))
    elif metric.part_of and metric.part_of == metric.segment:
        errors.add("part_of", _("A segment cannot be part of itself."))
    if metric.partner_id and not errors:
        clash = PartnerMetric.objects.filter(
            partner_id=metric.partner_id, metric=metric.metric, segment=metric.segment, period=metric.period
        )
        if metric.pk:
            clash = clash.exclude(pk=metric.pk)
        if clash.exists():
            errors.add("metric", _(_METRIC_CLASH))
    errors.raise_if_any()
    return metric


def _locked_metric(metric: PartnerMetric | int) -> PartnerMetric:
    return PartnerMetric.objects.select_for_update().get(pk=_pk(metric))


def metric_validate(*, user, data: dict[str, Any], metric: PartnerMetric | None = None, partner=None) -> None:
    require_register_editor(user)
    if metric is None or metric.pk is None:
        _metric_plan(PartnerMetric(), dict(data), partner=partner)
    else:
        _metric_plan(copy.copy(PartnerMetric.objects.get(pk=metric.pk)), dict(data), partner=partner)


def metric_create(*, user, partner: TechPartner | int, data: dict[str, Any]) -> PartnerMetric:
    require_register_editor(user)
    with transaction.atomic():
        _locked_partner(partner)
        metric = _metric_plan(PartnerMetric(), dict(data), partner=partner)
        return _save(metric, field="metric", message=_(_METRIC_CLASH))


def metric_update(
    *, user, metric: PartnerMetric | int, data: dict[str, Any], partner: TechPartner | int | None = None
) -> PartnerMetric:
    require_register_editor(user)
    with transaction.atomic():
        current = _metric_plan(_locked_metric(metric), dict(data), partner=partner)
        return _save(current, field="metric", message=_(_METRIC_CLASH))


def metric_delete(*, user, metric: PartnerMetric | int) -> None:
    require_register_editor(user)
    with transaction.atomic():
        _locked_metric(metric).delete()


# --- due diligence -------------------------------------------------------------------------------------------
def _check_bank(errors: FieldErrors, user, bank) -> int | None:
    """A bank where the user is an analyst or above. Another bank reads like one that does not exist."""
    bank_id = _pk(bank)
    if (
        isinstance(bank_id, bool)
        or not isinstance(bank_id, int)
        or not Bank.objects.filter(pk=bank_id).exists()
        or not actor_has_bank_role(user, bank_id, min_role="viewer")
    ):
        errors.add("bank", _("Choose one of your banks."))
        return None
    if not actor_has_bank_role(user, bank_id, min_role=DUE_DILIGENCE_ROLE):
        errors.add("bank", _("You need the analyst role in this bank to record its due diligence."))
        return None
    return bank_id


def _check_partner(errors: FieldErrors, partner) -> TechPartner | None:
    if isinstance(partner, TechPartner):
        return partner
    if not isinstance(partner, str) or not partner:
        errors.add("partner", _("Name the partner by its key."))
        return None
    found = TechPartner.objects.filter(key=partner).first()
    if found is None:
        errors.add("partner", _("Unknown partner “%(key)s”.") % {"key": partner})
    return found


def _check_answers(errors: FieldErrors, answers) -> dict:
    """Questions (text) to answers (text, a number, true/false or null): what the bank's questionnaire asked."""
    if answers is None:
        return {}
    if not isinstance(answers, Mapping):
        errors.add("answers", _("Give the answers as a mapping of question to answer."))
        return {}
    if len(answers) > MAX_ANSWERS:
        errors.add("answers", _("At most %(n)d answers.") % {"n": MAX_ANSWERS})
        return {}
    for question, answer in answers.items():
        if not isinstance(question, str) or not question.strip() or len(question) > MAX_QUESTION_LENGTH:
            errors.add(
                "answers", _("Each question is a text of 1 to %(n)d characters.") % {"n": MAX_QUESTION_LENGTH}
            )
            return {}
        plain = answer is None or isinstance(answer, bool | int) or isinstance(answer, str)
        plain = plain or (isinstance(answer, float) and math.isfinite(answer))
        if not plain or (isinstance(answer, str) and len(answer) > MAX_ANSWER_LENGTH):
            errors.add(
                "answers",
                _(
                    "The answer to “%(question)s” is text (at most %(n)d characters), a number, true/false or "
                    "null."
                )
                % {"question": question, "n": MAX_ANSWER_LENGTH},
            )
    return dict(answers)


def _dd_plan(
    user, record: PartnerDueDiligence, data: dict[str, Any], *, creating: bool
) -> PartnerDueDiligence:
    errors = FieldErrors()
    unknown = sorted(set(data) - set(DUE_DILIGENCE_FIELDS), key=str)
    if unknown:
        errors.add(NON_FIELD, _("Unknown fields: %(names)s.") % {"names": ", ".join(map(str, unknown))})
    if creating:
        for name in ("bank", "partner"):
            if data.get(name) in (None, ""):
                errors.add(name, _("This field is required."))
        if data.get("bank") not in (None, ""):
            record.bank_id = _check_bank(errors, user, data["bank"])
        if data.get("partner") not in (None, ""):
            partner = _check_partner(errors, data["partner"])
            if partner is not None:
                record.partner = partner
    else:
        moved = ("bank" in data and _pk(data["bank"]) != record.bank_id) or (
            "partner" in data and getattr(data["partner"], "key", data["partner"]) != record.partner.key
        )
        if moved:
            errors.add(
                NON_FIELD,
                _("A due-diligence record stays with its bank and partner; record a new one instead."),
            )
    if "answers" in data:
        record.answers = _check_answers(errors, data["answers"])
    values = ("inherent_risk_tier", "performed_on", "next_due")
    _apply(record, {name: data[name] for name in values if name in data}, values, errors)
    _clean(errors, record, exclude=["bank", "partner", "performed_by", "answers"])
    performed_on, next_due = record.performed_on, record.next_due
    if "performed_on" not in errors and performed_on and performed_on > timezone.localdate():
        errors.add("performed_on", _("Due diligence cannot be dated in the future."))
    if "performed_on" not in errors and "next_due" not in errors and performed_on and next_due:
        if next_due <= performed_on:
            errors.add("next_due", _("The next review falls due after the date this one was performed."))
    errors.raise_if_any()
    return record


def _locked_record(record: PartnerDueDiligence | int) -> PartnerDueDiligence:
    return (
        PartnerDueDiligence.objects.select_for_update(of=("self",))
        .select_related("partner")
        .get(pk=_pk(record))
    )


def due_diligence_validate(*, user, data: dict[str, Any], record: PartnerDueDiligence | None = None) -> None:
    """Every check of ``due_diligence_create`` / ``_update``, writing nothing (the admin's form)."""
    if record is None or record.pk is None:
        _dd_plan(user, PartnerDueDiligence(), dict(data), creating=True)
        return
    current = PartnerDueDiligence.objects.select_related("partner").get(pk=record.pk)
    require_bank_role(user, current.bank_id, min_role=DUE_DILIGENCE_ROLE)
    _dd_plan(user, copy.copy(current), dict(data), creating=False)


def due_diligence_create(*, user, data: dict[str, Any]) -> PartnerDueDiligence:
    """Record a bank's due diligence on a partner: ``bank`` (id), ``partner`` (key), ``answers`` (a mapping),
    ``inherent_risk_tier``, ``performed_on`` and ``next_due`` (after it). The recorder is remembered."""
    with transaction.atomic():
        record = _dd_plan(user, PartnerDueDiligence(), dict(data), creating=True)
        record.performed_by = None if is_system(user) else user
        record.save()
        return record


def due_diligence_update(
    *, user, record: PartnerDueDiligence | int, data: dict[str, Any]
) -> PartnerDueDiligence:
    """Change the answers, tier or dates of a record of one of the user's banks (analyst role)."""
    with transaction.atomic():
        current = _locked_record(record)
        require_bank_role(user, current.bank_id, min_role=DUE_DILIGENCE_ROLE)
        current = _dd_plan(user, current, dict(data), creating=False)
        current.save()
        return current
