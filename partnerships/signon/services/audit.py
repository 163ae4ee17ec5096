"""The sign-in audit: one row per sign-in, failure, second-factor step, role change by mapping and token creation,
with who, when, from which address and how. Nothing secret is written (no password, code or token)."""

from __future__ import annotations

import ipaddress

from django.conf import settings

from ..models import SignOnChannel, SignOnEvent


def client_ip(request) -> str | None:
    """The caller's address: REMOTE_ADDR, or X-Forwarded-For's entry behind API_NUM_PROXIES trusted proxies."""
    if request is None:
        return None
    meta = request.META
    address = meta.get("REMOTE_ADDR", "")
    proxies = int(getattr(settings, "REST_FRAMEWORK", {}).get("NUM_PROXIES") or 0)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            address = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def channel_of(request) -> str:
    if request is None:
        return SignOnChannel.SYSTEM
    path = getattr(request, "path", "") or ""
    return SignOnChannel.API if path.startswith("/api/") else SignOnChannel.ADMIN


def signon_event_record(
    *,
    kind: str,
    request=None,
    user=None,
    username: str = "",
    method: str = "",
    bank=None,
    detail: str = "",
    channel: str | None = None,
) -> SignOnEvent:
    if user is not None and not username:
        username = user.get_username()
    agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    return SignOnEvent.objects.create(
        kind=kind,
        method=method or "",
        channel=channel or channel_of(request),
        user=user if user is not None and user.pk else None,
        username=(username or "")[:150],
        ip_address=client_ip(request),
        user_agent=agent[:255],
        bank_code=getattr(bank, "code", "") if bank is not None else "",
        detail=(detail or "")[:500],
    )
