"""The second factor for local accounts: TOTP (django-otp) with one-time recovery codes.

Who is asked: a local account (no directory account) that is a superuser or holds a role of SIGNON_OTP_ROLES
(managers) in any bank, or that has set up a second factor of its own accord. Directory and OIDC users are not
asked here: their directory or identity provider applies its own policy.
"""

from __future__ import annotations

import base64
import io
import secrets

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ...errors import Invalid
from ...tenancy import ROLE_RANK
from ..conf import otp_roles
from ..models import SignOnEventKind, SignOnMethod
from .accounts import is_local_account
from .audit import signon_event_record

TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery"


def totp_device(user, *, confirmed: bool | None = True) -> TOTPDevice | None:
    devices = TOTPDevice.objects.filter(user=user, name=TOTP_NAME)
    if confirmed is not None:
        devices = devices.filter(confirmed=confirmed)
    return devices.order_by("-pk").first()


def second_factor_required(user) -> bool:
    """Whether a local password sign-in of this user must be followed by a second factor."""
    if user is None or not user.is_authenticated or not is_local_account(user):
        return False
    if user.is_superuser:
        return True
    from ...models import Membership

    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    floor = min((ROLE_RANK[r] for r in otp_roles() if r in ROLE_RANK), default=None)
    if floor is not None and any(ROLE_RANK.get(role, 0) >= floor for role in roles):
        return True
    return totp_device(user) is not None


def enrolment_device(user) -> TOTPDevice:
    """The unconfirmed device of an enrolment in progress (created on first visit, kept across reloads)."""
    device = totp_device(user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def provisioning_uri(device: TOTPDevice) -> str:
    return device.config_url


def manual_key(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, as authenticator apps ask for it when typed by hand."""
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def qr_svg(device: TOTPDevice) -> str:
    image = qrcode.make(provisioning_uri(device), image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg") :]  # inline in the page: no XML declaration


def _clean_code(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


@transaction.atomic
def enrolment_confirm(*, user, device: TOTPDevice, code: str, request=None) -> list[str]:
    """Confirm the device with a code from the app; returns fresh recovery codes (shown once, stored hashed by
    nothing but their one-time use: django-otp's static tokens)."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
    if not device.verify_token(_clean_code(code)):
        signon_event_record(
            kind=SignOnEventKind.SECOND_FACTOR_FAILED,
            request=request,
            user=user,
            method=SignOnMethod.LOCAL,
            detail="enrolment code refused",
        )
        raise Invalid(
            fields={"code": _("That code is not right. Check the time on your phone and try the new code.")}
        )
    TOTPDevice.objects.filter(user=user, name=TOTP_NAME).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_regenerate(user=user)
    signon_event_record(
        kind=SignOnEventKind.SECOND_FACTOR_ENROLLED, request=request, user=user, method=SignOnMethod.LOCAL
    )
    return codes


def recovery_codes_regenerate(*, user) -> list[str]:
    """New recovery codes; the old ones stop working."""
    StaticDevice.objects.filter(user=user, name=RECOVERY_NAME).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(settings.SIGNON_RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c.replace("-", "")) for c in codes])
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_NAME).count()


def second_factor_verify(*, user, code: str, request=None, channel: str | None = None):
    """The device that accepts ``code`` (a TOTP code, or a recovery code, which is used up), else None."""
    code = _clean_code(code)
    device = totp_device(user)
    # A six-digit code goes to the app's device only, anything else to the recovery codes only: each device slows
    # down its own guessing (django-otp's throttling), and a mistyped app code must not hold up a recovery code.
    if device is not None and code.isdigit() and len(code) == device.digits:
        if device.verify_token(code):
            signon_event_record(
                kind=SignOnEventKind.SECOND_FACTOR_PASSED,
                request=request,
                user=user,
                method=SignOnMethod.LOCAL,
                channel=channel,
            )
            return device
    elif code:
        for recovery in StaticDevice.objects.filter(user=user, name=RECOVERY_NAME, confirmed=True):
            if recovery.verify_token(code):
                signon_event_record(
                    kind=SignOnEventKind.RECOVERY_CODE_USED,
                    request=request,
                    user=user,
                    method=SignOnMethod.LOCAL,
                    channel=channel,
                    detail=f"{recovery_codes_left(user)} recovery code(s) left",
                )
                return recovery
    signon_event_record(
        kind=SignOnEventKind.SECOND_FACTOR_FAILED,
        request=request,
        user=user,
        method=SignOnMethod.LOCAL,
        channel=channel,
    )
    return None


@transaction.atomic
def second_factor_reset(*, user, by=None, request=None) -> None:
    """Remove the user's authenticator and recovery codes (a superuser's act): they set it up again at sign-in."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    signon_event_record(
        kind=SignOnEventKind.SECOND_FACTOR_RESET,
        request=request,
        user=user,
        method=SignOnMethod.LOCAL,
        detail=f"by {by.get_username()}" if by is not None else "",
    )


def totp_code_for(device: TOTPDevice, t_offset: int = 0) -> str:
    """The device's current code (tests and the break-glass doc's check use it; never shown in a page)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + t_offset * device.step
    return f"{totp.token():0{device.digits}d}"


def token_second_factor_check(*, request, user, code: str | None) -> None:
    """The API's token sign-in for a local account that needs a second factor: ``otp_token`` is required."""
    if getattr(request, "signon_method", SignOnMethod.LOCAL) != SignOnMethod.LOCAL:
        return
    if not second_factor_required(user):
        return
    if totp_device(user) is None:
        raise Invalid(
            fields={
                "otp_token": _(
                    "Your account needs a second factor: sign in to the admin once to set up an authenticator "
                    "app, then send its code here as otp_token."
                )
            },
            code="second_factor_required",
        )
    if not code:
        raise Invalid(
            fields={"otp_token": _("Send the current code of your authenticator app (or a recovery code).")},
            code="second_factor_required",
        )
    if second_factor_verify(user=user, code=code, request=request) is None:
        raise Invalid(fields={"otp_token": _("That code is not right.")}, code="second_factor_failed")
