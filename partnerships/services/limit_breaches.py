"""The daily limit check: open a LimitBreach for each new breach, resolve the ones no longer breached, e-mail the
bank's managers once per breach, and ask for the affected initiatives to be scored again.

``limit_breaches_check`` runs the check (``services.limits.limit_utilisation``) for every bank (or the ones given)
and, bank by bank, under a lock on the bank's row — so two runs at once (a redelivered task beside a new one) take
turns and the second finds the work done:

* a row with status ``breach`` and no open breach for its (rule, subject) opens one (the database allows one open
  breach per bank, rule and subject); an open one still breached gets the month's figures;
* an open breach whose (rule, subject) is now within or approaching, or has no row any more (no exposure, the rule
  no longer in force), is resolved. One that became ``unknown`` stays open: unknown is never within.

Then ``limit_breaches_notify`` e-mails the bank's managers (active, with an address) about every open breach not
yet notified — in the site's language (Chinese by default), naming the limit, the subject, the value and the
threshold — and sets ``notified_at`` in the same transaction, under the same lock: a retry or a second run sends
nothing again. A breach found when the bank has no manager to tell is marked notified all the same.

When breaches open or resolve, the ``limit_breaches_changed`` signal names the initiatives concerned (those with a
partner of the breach's subject; for the bank-wide limit, every initiative with a partner the bank lends jointly
with); scoring's receiver asks for their scores in the same transaction, so their tiers follow.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..choices import WebhookEventType
from ..limit_rules import BANK, BREACH, UNKNOWN
from ..limit_text import describe_limit
from ..models import Bank, InitiativePartner, LimitBreach, TechPartner
from ..signals import limit_breaches_changed
from .limits import BankLimits, limit_utilisation
from .webhooks import webhook_event_emit

logger = logging.getLogger(__name__)
NOTIFY_ROLE = "manager"


@dataclass
class CheckOutcome:
    banks: int = 0
    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    notified: int = 0  # e-mails sent
    rescored: dict[int, list[int]] = field(
        default_factory=dict
    )  # bank id → initiative ids asked to be scored


def limit_breaches_check(*, as_of: datetime.date | None = None, bank_ids=None) -> CheckOutcome:
    """Check every bank's limits (or ``bank_ids``') on ``as_of`` (today); see the module docstring."""
    as_of = as_of or timezone.localdate()
    ids = list(Bank.objects.values_list("pk", flat=True)) if bank_ids is None else sorted(set(bank_ids))
    outcome = CheckOutcome()
    if not ids:
        return outcome
    limits = limit_utilisation(ids, as_of=as_of)
    for bank_id in ids:
        if bank_id not in limits:
            continue
        outcome.banks += 1
        _check_bank(limits[bank_id], outcome)
        outcome.notified += limit_breaches_notify(bank_id)
    return outcome


# LimitBreach.value_percent holds up to 99,999.9999 %; a larger value (a data error, most likely) is stored at that,
# the exact one staying in ``detail``.
_VALUE_MAX = 99_999


def _stored_value(value) -> Decimal:
    return min(Decimal(value or 0), Decimal(_VALUE_MAX))


def _check_bank(result: BankLimits, outcome: CheckOutcome) -> None:
    rows = {}
    for row, plain in zip(result.rows, result.row_dicts(), strict=True):
        plain["rule_id"] = row.rule.id
        plain["partner_ids"] = sorted(
            result.joint_partner_ids if row.subject_kind == BANK else row.partner_ids
        )
        rows[(row.rule.id, row.subject)] = plain
    with transaction.atomic():
        Bank.objects.select_for_update().filter(pk=result.bank_id).values_list("pk", flat=True).first()
        open_breaches = {
            (b.rule_id, b.subject): b
            for b in LimitBreach.objects.filter(bank_id=result.bank_id, resolved_at__isnull=True)
        }
        now = timezone.now()
        opened, resolved, partner_ids = [], [], set()
        for key, row in rows.items():
            if row["status"] != BREACH:
                continue
            detail = {k: v for k, v in row.items() if k not in ("rule_id", "partner_ids")}
            existing = open_breaches.get(key)
            if existing is None:
                breach = LimitBreach.objects.create(
                    bank_id=result.bank_id,
                    rule_id=row["rule_id"],
                    subject=row["subject"],
                    period_end=result.month_end,
                    value_percent=_stored_value(row["value_percent"]),
                    threshold_percent=row["threshold_percent"],
                    detail=detail,
                )
                opened.append(breach.pk)
                partner_ids.update(row["partner_ids"])
                limit_breached_emit(breach)  # webhooks, in this transaction (docs/webhooks.md)
            elif existing.period_end != result.month_end or existing.detail != detail:
                existing.period_end = result.month_end
                existing.value_percent = _stored_value(row["value_percent"])
                existing.detail = detail
                existing.save(update_fields=["period_end", "value_percent", "detail"])
        for key, breach in open_breaches.items():
            row = rows.get(key)
            if row is not None and row["status"] in (BREACH, UNKNOWN):
                continue  # still breached, or no longer known: unknown is never within
            breach.resolved_at = now
            breach.save(update_fields=["resolved_at"])
            resolved.append(breach.pk)
            if row is not None:
                partner_ids.update(row["partner_ids"])
            else:
                keys = (breach.detail or {}).get("partners") or []
                partner_ids.update(TechPartner.objects.filter(key__in=keys).values_list("pk", flat=True))
        if opened or resolved:
            initiative_ids = sorted(
                set(
                    InitiativePartner.objects.filter(
                        initiative__bank_id=result.bank_id, partner_id__in=partner_ids
                    ).values_list("initiative_id", flat=True)
                )
            )
            if initiative_ids:
                limit_breaches_changed.send(
                    sender=LimitBreach, bank_id=result.bank_id, initiative_ids=initiative_ids
                )
                outcome.rescored[result.bank_id] = initiative_ids
        outcome.opened.extend(opened)
        outcome.resolved.extend(resolved)


def limit_breached_emit(breach: LimitBreach) -> None:
    """``limit.breached`` for a newly opened breach, to the bank's webhook endpoints."""
    rule = breach.rule
    webhook_event_emit(
        bank_id=breach.bank_id,
        event_type=WebhookEventType.LIMIT_BREACHED,
        data={
            "breach": breach.pk,
            "limit": {"id": rule.pk, "key": rule.key, "version": rule.version, "kind": rule.kind},
            "subject": breach.subject,
            "period_end": breach.period_end,
            "value_percent": breach.value_percent,
            "threshold_percent": breach.threshold_percent,
            "detected_at": breach.detected_at,
        },
    )


def breach_recipients(bank_id: int) -> list[str]:
    users = get_user_model().objects.filter(
        is_active=True, bank_memberships__bank_id=bank_id, bank_memberships__role=NOTIFY_ROLE
    )
    return sorted(set(users.exclude(email="").values_list("email", flat=True)))


def breach_message(bank: Bank, breaches: list[LimitBreach]) -> tuple[str, str]:
    """(subject, body) of the e-mail about new breaches, in the active language."""
    name = bank.name
    subject = _("Joint-lending limits breached at %(bank)s: %(count)d") % {
        "bank": name,
        "count": len(breaches),
    }
    lines = [
        _("The daily limit check found these new breaches at %(bank)s:") % {"bank": name},
        "",
    ]
    for breach in breaches:
        lines.append("• " + describe_limit(breach.detail or {}, bank_name=name))
    lines += [
        "",
        _(
            "The compliance gate of the initiatives with these partners fails until the figures are back within "
            "the limits; their scores are being recomputed."
        ),
    ]
    base = getattr(settings, "SCORECARD_BASE_URL", "").rstrip("/")
    if base:
        from django.urls import reverse

        lines.append(base + reverse("admin:partnerships_limitbreach_changelist"))
    return subject, "\n".join(lines) + "\n"


def limit_breaches_notify(bank_id: int, *, language: str | None = None) -> int:
    """E-mail the bank's managers about its open breaches not yet notified, once; returns the messages sent."""
    with transaction.atomic():
        bank = Bank.objects.select_for_update().filter(pk=bank_id).first()
        if bank is None:
            return 0
        pending = list(
            LimitBreach.objects.select_for_update()
            .filter(bank_id=bank_id, resolved_at__isnull=True, notified_at__isnull=True)
            .select_related("rule")
            .order_by("detected_at", "pk")
        )
        if not pending:
            return 0
        recipients = breach_recipients(bank_id)
        sent = 0
        if recipients:
            with translation.override(language or settings.LANGUAGE_CODE):
                subject, body = breach_message(bank, pending)
            messages = [EmailMessage(subject=subject, body=body, to=[address]) for address in recipients]
            sent = get_connection().send_messages(messages) or 0
        LimitBreach.objects.filter(pk__in=[b.pk for b in pending]).update(notified_at=timezone.now())
    logger.info("limit breaches %s of bank %s: %s message(s) sent", [b.pk for b in pending], bank_id, sent)
    return sent
