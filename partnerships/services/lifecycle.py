"""The partnership lifecycle's one door (issue 14, ``docs/lifecycle.md``): re-assessment policies, monitoring
events, the contract and exit register, and the weekly re-assessment reminder.

Each function checks everything itself and raises ``partnerships.errors.ServiceError``; ``user`` None is the
system. Analysts record events and contracts; managers set their bank's policy. A change of an event or a
contract asks for the initiative's score again (``lifecycle_changed``: scoring listens), because both cap it
(``scoring.lifecycle``); the webhook events ``monitoring_event.created`` and ``reassessment.overdue`` go out
through ``partnerships.services.webhooks.webhook_event_emit``.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..choices import InitiativeStatus, MonitoringEventStatus, ReassessmentState
from ..errors import FieldErrors, Invalid
from ..lifecycle import reassessment_annotate
from ..models import (
    Bank,
    Initiative,
    MonitoringEvent,
    PartnershipContract,
    ReassessmentPolicy,
    ReassessmentReminder,
)
from ..signals import lifecycle_changed
from ..tenancy import actor_has_bank_role, require_bank_role, user_is_member

logger = logging.getLogger(__name__)

WRITE_ROLE = "analyst"
POLICY_ROLE = "manager"
POLICY_FIELDS = ("months_critical", "months_a", "months_b", "months_c", "months_d")
EVENT_FIELDS = (
    "kind",
    "occurred_on",
    "severity",
    "description",
    "remediation_owner",
    "remediation_due_on",
    "status",
    "closed_on",
)
CONTRACT_FIELDS = (
    "reference",
    "signed_on",
    "starts_on",
    "ends_on",
    "auto_renews",
    "notice_days",
    "critical_function",
    "audit_rights",
    "data_return_and_destruction",
    "sla_summary",
    "sla_availability_percent",
    "exit_plan",
    "exit_plan_last_tested_on",
    "alternative_provider",
)
TEXT_FIELDS = {"reference", "sla_summary", "exit_plan", "alternative_provider", "description"}


def _pk(value):
    return getattr(value, "pk", value)


def _emit(bank_id: int, event_type: str, data: dict) -> None:
    """A webhook event for the bank's endpoints, in the caller's transaction (issue 14 part 4).

    Call site kept even when the webhooks service is not installed yet: it then does nothing."""
    try:
        from .webhooks import webhook_event_emit
    except ImportError:  # pragma: no cover - the webhooks part ships separately
        return
    webhook_event_emit(bank_id=bank_id, event_type=event_type, data=data)


def _apply(obj, data: dict[str, Any], allowed: tuple[str, ...], errors: FieldErrors, *, extra=()) -> None:
    unknown = sorted(set(data) - set(allowed) - set(extra))
    if unknown:
        errors.add("non_field_errors", _("Unknown fields: %(names)s.") % {"names": ", ".join(unknown)})
    for name in allowed:
        if name not in data:
            continue
        value = data[name]
        if name in TEXT_FIELDS and value is None:
            value = ""
        if name == "remediation_owner":
            name, value = "remediation_owner_id", _pk(value)
        setattr(obj, name, value)


def _full_clean(errors: FieldErrors, obj, *, exclude=()) -> None:
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.merge(Invalid.from_validation_error(exc))


def _initiative(errors: FieldErrors, user, initiative) -> Initiative | None:
    """An initiative of one of the user's banks (analyst role); foreign and missing ones read alike."""
    pk = _pk(initiative)
    found = (
        Initiative.objects.filter(pk=pk).only("id", "bank_id", "code", "title").first()
        if isinstance(pk, int)
        else None
    )
    if found is None or not actor_has_bank_role(user, found.bank_id, min_role="viewer"):
        errors.add("initiative", _("Choose an initiative of one of your banks."))
        return None
    if not actor_has_bank_role(user, found.bank_id, min_role=WRITE_ROLE):
        errors.add("initiative", _("You need the analyst role in this initiative's bank."))
        return None
    return found


def _changed(initiative: Initiative, rescore: bool = True) -> None:
    """Ask for the initiative's score again (scoring listens); the demo seed asks once for all (``rescore``)."""
    if rescore:
        lifecycle_changed.send(sender=Initiative, bank_id=initiative.bank_id, initiative_ids=[initiative.pk])


# --- re-assessment policy ----------------------------------------------------------------------------------------
def reassessment_policy_set(*, user, bank: Bank | int, data: dict[str, Any]) -> ReassessmentPolicy:
    """Set a bank's re-assessment intervals (months, 1–120); fields not given keep their value (or default)."""
    bank_id = _pk(bank)
    if not isinstance(bank_id, int) or not actor_has_bank_role(user, bank_id, min_role="viewer"):
        raise Invalid(fields={"bank": [_("Choose one of your banks.")]})  # another bank's reads like none
    require_bank_role(user, bank_id, min_role=POLICY_ROLE)
    with transaction.atomic():
        Bank.objects.select_for_update().filter(pk=bank_id).first()
        policy = ReassessmentPolicy.objects.filter(bank_id=bank_id).first() or ReassessmentPolicy(
            bank_id=bank_id
        )
        errors = FieldErrors()
        _apply(policy, dict(data), POLICY_FIELDS, errors)
        _full_clean(errors, policy, exclude=["bank"])
        errors.raise_if_any()
        policy.save()
        return policy


# --- monitoring events ---------------------------------------------------------------------------------------------
def _event_plan(
    user, event: MonitoringEvent, data: dict[str, Any], *, today: datetime.date
) -> MonitoringEvent:
    errors = FieldErrors()
    if event.pk is None:
        initiative = _initiative(errors, user, data.get("initiative"))
        if initiative is not None:
            event.initiative = initiative
    elif "initiative" in data and _pk(data["initiative"]) != event.initiative_id:
        errors.add(
            "initiative", _("An event stays with its initiative; record a new one on the other initiative.")
        )
    was_closed = event.status == MonitoringEventStatus.CLOSED
    _apply(event, data, EVENT_FIELDS, errors, extra=("initiative",))
    _full_clean(errors, event, exclude=["initiative"] if event.initiative_id is None else ())
    occurred, due, closed = event.occurred_on, event.remediation_due_on, event.closed_on
    if isinstance(occurred, datetime.date) and occurred > today:
        errors.add("occurred_on", _("An event cannot have occurred in the future."))
    if isinstance(occurred, datetime.date) and isinstance(due, datetime.date) and due < occurred:
        errors.add("remediation_due_on", _("The remediation deadline cannot be before the event."))
    if event.status == MonitoringEventStatus.CLOSED:
        if closed is None and "closed_on" not in data:
            event.closed_on = closed = today  # closing now
        if closed is None:
            errors.add("closed_on", _("A closed event needs the date it was closed."))
        elif isinstance(closed, datetime.date) and isinstance(occurred, datetime.date) and closed < occurred:
            errors.add("closed_on", _("An event cannot be closed before it occurred."))
        elif isinstance(closed, datetime.date) and closed > today:
            errors.add("closed_on", _("An event cannot be closed in the future."))
    elif closed is not None:
        if was_closed and "closed_on" not in data:
            event.closed_on = None  # reopened
        else:
            errors.add("closed_on", _("Only a closed event has a closing date."))
    owner = event.remediation_owner_id
    if owner is not None and event.initiative_id and not user_is_member(owner, event.initiative.bank_id):
        errors.add("remediation_owner", _("Choose a member of the initiative's bank."))
    errors.raise_if_any()
    return event


def monitoring_event_validate(*, user, data: dict[str, Any], event: MonitoringEvent | None = None) -> None:
    """Every check of monitoring_event_create / _update, writing nothing."""
    today = timezone.localdate()
    if event is None or event.pk is None:
        _event_plan(user, MonitoringEvent(), dict(data), today=today)
        return
    current = MonitoringEvent.objects.select_related("initiative").get(pk=event.pk)
    require_bank_role(user, current.initiative.bank_id, min_role=WRITE_ROLE)
    _event_plan(user, current, dict(data), today=today)


def event_payload(event: MonitoringEvent) -> dict:
    return {
        "id": event.pk,
        "initiative": event.initiative_id,
        "kind": event.kind,
        "severity": event.severity,
        "occurred_on": event.occurred_on.isoformat(),
        "status": event.status,
        "remediation_due_on": event.remediation_due_on.isoformat() if event.remediation_due_on else None,
    }


def monitoring_event_create(
    *, user, initiative: Initiative | int, data: dict[str, Any], rescore: bool = True
) -> MonitoringEvent:
    """Record a monitoring event; a high or critical one requires re-assessment and caps the tier until then."""
    with transaction.atomic():
        event = _event_plan(
            user, MonitoringEvent(), {**data, "initiative": _pk(initiative)}, today=timezone.localdate()
        )
        event.created_by_id = None if user is None else user.pk
        event.save()
        _changed(event.initiative, rescore)
        _emit(event.initiative.bank_id, "monitoring_event.created", event_payload(event))
    return event


def monitoring_event_update(*, user, event: MonitoringEvent | int, data: dict[str, Any]) -> MonitoringEvent:
    """Change an event: its remediation, its status (closing sets ``closed_on`` to today unless given)."""
    with transaction.atomic():
        current = _locked(MonitoringEvent, event, user)
        current = _event_plan(user, current, dict(data), today=timezone.localdate())
        current.save()
        _changed(current.initiative)
    return current


def monitoring_event_delete(*, user, event: MonitoringEvent | int) -> None:
    with transaction.atomic():
        current = _locked(MonitoringEvent, event, user)
        initiative = current.initiative
        current.delete()
        _changed(initiative)


def _locked(model, row, user):
    """The event's or contract's row, locked for the change, once ``user`` may write in its initiative's bank."""
    current = model.objects.select_for_update(of=("self",)).select_related("initiative").get(pk=_pk(row))
    require_bank_role(user, current.initiative.bank_id, min_role=WRITE_ROLE)
    return current


# --- contract and exit register ------------------------------------------------------------------------------------
def _contract_plan(
    user, contract: PartnershipContract, data: dict[str, Any], *, today: datetime.date
) -> PartnershipContract:
    errors = FieldErrors()
    if contract.pk is None:
        initiative = _initiative(errors, user, data.get("initiative"))
        if initiative is not None:
            if PartnershipContract.objects.filter(initiative_id=initiative.pk).exists():
                errors.add("initiative", _("This initiative already has a contract register entry."))
            contract.initiative = initiative
    elif "initiative" in data and _pk(data["initiative"]) != contract.initiative_id:
        errors.add("initiative", _("A contract register entry stays with its initiative."))
    _apply(contract, data, CONTRACT_FIELDS, errors, extra=("initiative",))
    _full_clean(errors, contract, exclude=["initiative"] if contract.initiative_id is None else ())
    starts, ends, tested = contract.starts_on, contract.ends_on, contract.exit_plan_last_tested_on
    if isinstance(starts, datetime.date) and isinstance(ends, datetime.date) and ends < starts:
        errors.add("ends_on", _("The end date cannot be before the start date."))
    if isinstance(tested, datetime.date) and tested > today:
        errors.add("exit_plan_last_tested_on", _("An exit plan cannot have been tested in the future."))
    if tested is not None and not (contract.exit_plan or "").strip():
        errors.add("exit_plan_last_tested_on", _("Record the exit plan that was tested."))
    errors.raise_if_any()
    return contract


def contract_validate(*, user, data: dict[str, Any], contract: PartnershipContract | None = None) -> None:
    today = timezone.localdate()
    if contract is None or contract.pk is None:
        _contract_plan(user, PartnershipContract(), dict(data), today=today)
        return
    current = PartnershipContract.objects.select_related("initiative").get(pk=contract.pk)
    require_bank_role(user, current.initiative.bank_id, min_role=WRITE_ROLE)
    _contract_plan(user, current, dict(data), today=today)


def contract_create(
    *, user, initiative: Initiative | int, data: dict[str, Any], rescore: bool = True
) -> PartnershipContract:
    """Record an initiative's contract and exit register entry (one per initiative)."""
    with transaction.atomic():
        contract = _contract_plan(
            user, PartnershipContract(), {**data, "initiative": _pk(initiative)}, today=timezone.localdate()
        )
        contract.updated_by_id = None if user is None else user.pk
        try:
            with transaction.atomic():
                contract.save()
        except IntegrityError as exc:  # a concurrent writer recorded it first
            raise Invalid(
                fields={"initiative": [_("This initiative already has a contract register entry.")]}
            ) from exc
        _changed(contract.initiative, rescore)
    return contract


def contract_update(
    *, user, contract: PartnershipContract | int, data: dict[str, Any], rescore: bool = True
) -> PartnershipContract:
    with transaction.atomic():
        current = _locked(PartnershipContract, contract, user)
        current = _contract_plan(user, current, dict(data), today=timezone.localdate())
        current.updated_by_id = None if user is None else user.pk
        current.save()
        _changed(current.initiative, rescore)
    return current


def contract_delete(*, user, contract: PartnershipContract | int) -> None:
    with transaction.atomic():
        current = _locked(PartnershipContract, contract, user)
        initiative = current.initiative
        current.delete()
        _changed(initiative)


# --- the weekly reminder -------------------------------------------------------------------------------------------
REMIND_STATES = (ReassessmentState.OVERDUE, ReassessmentState.DUE)


def reassessment_due(bank_id: int, *, today: datetime.date) -> list[Initiative]:
    """The bank's initiatives due or overdue for re-assessment, overdue first, earliest date first."""
    rows = reassessment_annotate(
        Initiative.objects.for_bank(bank_id).exclude(status=InitiativeStatus.RETIRED), today=today
    ).filter(reassessment_state__in=[s.value for s in REMIND_STATES])
    return list(rows.select_related("owner").order_by("next_reassessment_on", "code"))


def _recipients(bank_id: int, initiatives: list[Initiative]) -> dict[str, list[Initiative]]:
    """E-mail address → the initiatives its reminder lists: every one for the bank's managers, their own for
    owners (active users with an address, members of the bank)."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    managers = users.filter(bank_memberships__bank_id=bank_id, bank_memberships__role="manager")
    out: dict[str, list[Initiative]] = {
        address: list(initiatives) for address in managers.values_list("email", flat=True)
    }
    for initiative in initiatives:
        owner = initiative.owner
        if owner is None or not owner.is_active or not owner.email or owner.email in out:
            continue
        out.setdefault(owner.email, []).append(initiative)
    return dict(sorted(out.items()))


def reminder_message(bank: Bank, initiatives: list[Initiative], *, today: datetime.date) -> tuple[str, str]:
    """(subject, body) of the weekly reminder, in the active language."""
    overdue = [i for i in initiatives if i.reassessment_state == ReassessmentState.OVERDUE]
    subject = _("Re-assessments at %(bank)s: %(overdue)d overdue, %(due)d due within 30 days") % {
        "bank": bank.name,
        "overdue": len(overdue),
        "due": len(initiatives) - len(overdue),
    }
    lines = [_("These initiatives of %(bank)s are due for re-assessment:") % {"bank": bank.name}, ""]
    for initiative in initiatives:
        state = ReassessmentState(initiative.reassessment_state).label
        line = _("%(code)s %(title)s: %(state)s, due on %(date)s") % {
            "code": initiative.code,
            "title": initiative.title,
            "state": state,
            "date": initiative.next_reassessment_on.isoformat(),
        }
        if initiative.reassessment_required:
            line += " " + _("(re-assessment required by a high-severity monitoring event)")
        lines.append("• " + line)
    lines += ["", _("An approved assessment sets the next re-assessment date.")]
    base = getattr(settings, "SCORECARD_BASE_URL", "").rstrip("/")
    if base:
        from django.urls import reverse

        lines.append(base + reverse("admin:partnerships_initiative_changelist") + "?reassessment=overdue")
    return subject, "\n".join(lines) + "\n"


def reassessment_reminders_send(
    *, today: datetime.date | None = None, bank_ids=None, language: str | None = None
) -> int:
    """The weekly reminder: for each bank (or ``bank_ids``) with initiatives due or overdue, one e-mail to each
    of its managers (every such initiative) and to each owner (their own), once per bank and week — the
    ``ReassessmentReminder`` row is written under the bank's lock with the e-mails, so a retry sends nothing
    again. Emits ``reassessment.overdue`` per overdue initiative. Returns the messages sent."""
    today = today or timezone.localdate()
    week = today - datetime.timedelta(days=today.weekday())
    banks = Bank.objects.order_by("pk")
    if bank_ids is not None:
        banks = banks.filter(pk__in=list(bank_ids))
    sent = 0
    for bank_id in banks.values_list("pk", flat=True):
        with transaction.atomic():
            bank = Bank.objects.select_for_update().filter(pk=bank_id).first()
            if bank is None or ReassessmentReminder.objects.filter(bank_id=bank_id, week=week).exists():
                continue
            due = reassessment_due(bank_id, today=today)
            messages = []
            if due:
                with translation.override(language or settings.LANGUAGE_CODE):
                    for address, listed in _recipients(bank_id, due).items():
                        subject, body = reminder_message(bank, listed, today=today)
                        messages.append(EmailMessage(subject=subject, body=body, to=[address]))
            count = get_connection().send_messages(messages) or 0 if messages else 0
            ReassessmentReminder.objects.create(bank=bank, week=week, initiatives=len(due), messages=count)
            for initiative in due:
                if initiative.reassessment_state == ReassessmentState.OVERDUE:
                    _emit(
                        bank_id,
                        "reassessment.overdue",
                        {
                            "initiative": initiative.pk,
                            "code": initiative.code,
                            "next_reassessment_on": initiative.next_reassessment_on.isoformat(),
                            "reassessment_required": bool(initiative.reassessment_required),
                        },
                    )
            sent += count
        logger.info("re-assessment reminder of bank %s for week %s: %s message(s)", bank_id, week, count)
    return sent
