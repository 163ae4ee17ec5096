"""The demo's partnership lifecycle (issue 14): contract register entries and monitoring events, read from
``fixtures/demo_lifecycle.yaml`` and written through ``partnerships.services.lifecycle`` as the system.

Called by the demo seed after the demo assessments (``scoring.services.demo``), so that the events post-date their
approval. The file is checked in full first (a problem names the file, the entry and the field); rows are upserted
by natural key — a contract by its initiative, an event by (initiative, kind, occurred_on) — and written only when
a value differs, so loading the same file again changes nothing. No score is asked for here: the seed asks once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from ..errors import ServiceError
from ..models import (
    Bank,
    Initiative,
    MonitoringEvent,
    PartnershipContract,
    ReassessmentPolicy,
    WebhookEndpoint,
)
from .lifecycle import (
    CONTRACT_FIELDS,
    EVENT_FIELDS,
    contract_create,
    contract_update,
    monitoring_event_create,
    reassessment_policy_set,
)
from .webhooks import webhook_endpoint_create

DEMO_LIFECYCLE = Path(settings.BASE_DIR) / "fixtures" / "demo_lifecycle.yaml"


def _field(name: str):
    return PartnershipContract._meta.get_field(name)


class DemoLifecycleError(ValueError):
    """The demo lifecycle file is wrong: names the file, the entry and the field."""


def _initiative(where: str, entry: dict, initiatives: dict) -> Initiative:
    found = initiatives.get((entry.get("bank"), entry.get("initiative")))
    if found is None:
        raise DemoLifecycleError(f"{where}: bank/initiative: unknown initiative")
    return found


def _values(where: str, entry: dict, allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(entry) - set(allowed) - {"bank", "initiative"})
    if unknown:
        raise DemoLifecycleError(f"{where}: unknown fields {', '.join(unknown)}")
    return {k: v for k, v in entry.items() if k in allowed}


def lifecycle_demo_seed(*, path: Path = DEMO_LIFECYCLE) -> dict[str, int]:
    """Load the file; returns {"contracts": written, "events": created}."""
    if not path.exists():
        return {"contracts": 0, "events": 0}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    initiatives = {(i.bank.code, i.code): i for i in Initiative.objects.select_related("bank")}
    users = {u.username: u for u in get_user_model().objects.filter(username__startswith="demo_")}
    written = created = 0
    banks = {b.code: b for b in Bank.objects.all()}
    with transaction.atomic():
        for n, entry in enumerate(data.get("policies") or []):
            where = f"{path.name}: policies[{n}]"
            bank = banks.get(entry.get("bank"))
            if bank is None:
                raise DemoLifecycleError(f"{where}: bank: unknown bank")
            values = {k: v for k, v in entry.items() if k != "bank"}
            current = ReassessmentPolicy.objects.filter(bank=bank).first()
            if current is None or any(getattr(current, k) != v for k, v in values.items()):
                try:
                    reassessment_policy_set(user=None, bank=bank, data=values)
                except ServiceError as exc:
                    raise DemoLifecycleError(f"{where}: {'; '.join(exc.messages())}") from exc
        for n, entry in enumerate(data.get("contracts") or []):
            where = f"{path.name}: contracts[{n}]"
            initiative = _initiative(where, entry, initiatives)
            values = _values(where, entry, CONTRACT_FIELDS)
            current = PartnershipContract.objects.filter(initiative=initiative).first()
            try:
                if current is None:
                    contract_create(user=None, initiative=initiative, data=values, rescore=False)
                    written += 1
                elif any(_field(k).to_python(v) != getattr(current, k) for k, v in values.items()):
                    contract_update(user=None, contract=current, data=values, rescore=False)
                    written += 1
            except ServiceError as exc:
                raise DemoLifecycleError(f"{where}: {'; '.join(exc.messages())}") from exc
        for n, entry in enumerate(data.get("events") or []):
            where = f"{path.name}: events[{n}]"
            initiative = _initiative(where, entry, initiatives)
            values = _values(where, entry, EVENT_FIELDS)
            owner = values.get("remediation_owner")
            if owner is not None:
                if owner not in users:
                    raise DemoLifecycleError(f"{where}: remediation_owner: unknown user")
                values["remediation_owner"] = users[owner].pk
            key = {
                "initiative": initiative,
                "kind": values.get("kind"),
                "occurred_on": values.get("occurred_on"),
            }
            if MonitoringEvent.objects.filter(**key).exists():
                continue
            try:
                monitoring_event_create(user=None, initiative=initiative, data=values, rescore=False)
            except ServiceError as exc:
                raise DemoLifecycleError(f"{where}: {'; '.join(exc.messages())}") from exc
            created += 1
        for n, entry in enumerate(data.get("webhooks") or []):
            where = f"{path.name}: webhooks[{n}]"
            bank = banks.get(entry.get("bank"))
            if bank is None:
                raise DemoLifecycleError(f"{where}: bank: unknown bank")
            if WebhookEndpoint.objects.filter(bank=bank, url=entry.get("url")).exists():
                continue
            values = {k: v for k, v in entry.items() if k != "bank"}
            try:
                webhook_endpoint_create(user=None, data={"bank": bank.pk, **values})
            except ServiceError as exc:
                raise DemoLifecycleError(f"{where}: {'; '.join(exc.messages())}") from exc
    return {"contracts": written, "events": created}
