"""Selectors for the partner register's compliance facts: which partner lacks a licence its role needs, and which
credit-reporting agencies are licensed. Reads only; the compliance cap (scoring) builds on these two functions.

A partner's role in an initiative names the services it provides there (``InitiativePartner.services``); a service
in ``SERVICE_LICENCES`` needs any one of its licence types. A licence counts on ``as_of`` when it has no expiry
(``valid_until`` blank) or expires on that day or later. A partner with no licence of a needed type is "missing";
one whose every matching licence expired before ``as_of`` is "expired" (with the latest expiry). Nothing recorded
never passes: a service with no licence on file is a problem, however reputable the partner.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q

from .choices import SERVICE_LICENCES, LicenceType, PartnerKind, PartnerService
from .models import InitiativePartner, PartnerLicence

MISSING = "missing"
EXPIRED = "expired"

_SERVICE_ORDER = {service: index for index, service in enumerate(PartnerService.values)}


def _valid_on(valid_until: datetime.date | None, as_of: datetime.date) -> bool:
    return valid_until is None or valid_until >= as_of


def licence_problems(initiative_ids: Iterable[int], *, as_of: datetime.date) -> dict[int, list[dict]]:
    """For each initiative (every id given is a key), one problem per partner link and licensed service the
    partner cannot provide on ``as_of``:

    ``{"partner": key, "partner_name": Chinese name, "service": PartnerService value, "needs": [licence types],
    "reason": "missing" | "expired", "expired_on": date | None}``

    Ordered by partner key, then service. Two queries, whatever the number of initiatives.
    """
    ids = list(dict.fromkeys(initiative_ids))
    problems: dict[int, list[dict]] = {pk: [] for pk in ids}
    if not ids:
        return problems
    links = [
        row
        for row in InitiativePartner.objects.filter(initiative_id__in=ids)
        .exclude(services=[])
        .order_by("initiative_id", "partner__key")
        .values_list("initiative_id", "partner_id", "partner__key", "partner__name_zh_hans", "services")
        if row[4]
    ]
    if not links:
        return problems
    held: dict[int, list[tuple[str, datetime.date | None]]] = defaultdict(list)
    for partner_id, licence_type, valid_until in PartnerLicence.objects.filter(
        partner_id__in={row[1] for row in links}
    ).values_list("partner_id", "licence_type", "valid_until"):
        held[partner_id].append((licence_type, valid_until))
    for initiative_id, partner_id, key, name_zh, services in links:
        named = services if isinstance(services, list) else []
        wanted = sorted(
            {s for s in named if isinstance(s, str) and s in SERVICE_LICENCES}, key=_SERVICE_ORDER.get
        )
        for service in wanted:
            needs = SERVICE_LICENCES[service]
            matching = [until for licence_type, until in held.get(partner_id, ()) if licence_type in needs]
            if any(_valid_on(until, as_of) for until in matching):
                continue
            problems[initiative_id].append(
                {
                    "partner": key,
                    "partner_name": name_zh,
                    "service": service,
                    "needs": sorted(needs),
                    "reason": EXPIRED if matching else MISSING,
                    "expired_on": max(matching) if matching else None,
                }
            )
    return problems


def credit_agency_licensed(partner_ids: Iterable[int], *, as_of: datetime.date) -> set[int]:
    """The partners among ``partner_ids`` that are credit-reporting agencies holding a personal credit-reporting
    licence valid on ``as_of`` — the licensed route that 断直连 requires for credit-related data. One query."""
    ids = {pk for pk in partner_ids if pk is not None}
    if not ids:
        return set()
    return set(
        PartnerLicence.objects.filter(
            partner_id__in=ids,
            partner__kind=PartnerKind.CREDIT_REPORTING,
            licence_type=LicenceType.CREDIT_REPORTING,
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=as_of))
        .values_list("partner_id", flat=True)
        .distinct()
    )
