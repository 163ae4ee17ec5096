"""Sign-on records: accounts that come from a directory or an identity provider, the group → (bank, role) mapping,
the memberships the mapping made, and the sign-in audit."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..choices import Role


class SignOnMethod(models.TextChoices):
    LOCAL = "local", _("local password")
    LDAP = "ldap", _("directory (LDAP)")
    OIDC = "oidc", _("identity provider (OIDC)")


class ExternalSource(models.TextChoices):
    """Where a directory account and a mapped group come from."""

    LDAP = "ldap", _("directory (LDAP)")
    OIDC = "oidc", _("identity provider (OIDC)")


class SignOnChannel(models.TextChoices):
    ADMIN = "admin", pgettext_lazy("sign-in channel", "admin")
    API = "api", pgettext_lazy("sign-in channel", "API")
    SYSTEM = "system", pgettext_lazy("sign-in channel", "system")


class SignOnEventKind(models.TextChoices):
    SIGNED_IN = "signed_in", _("signed in")
    SIGN_IN_FAILED = "sign_in_failed", _("sign-in failed")
    NO_ACCESS = "no_access", _("signed in without a role (no access yet)")
    DIRECTORY_UNREACHABLE = "directory_unreachable", _("directory unreachable")
    SECOND_FACTOR_PASSED = "second_factor_passed", _("second factor passed")
    SECOND_FACTOR_FAILED = "second_factor_failed", _("second factor failed")
    SECOND_FACTOR_ENROLLED = "second_factor_enrolled", _("second factor set up")
    SECOND_FACTOR_RESET = "second_factor_reset", _("second factor reset")
    RECOVERY_CODE_USED = "recovery_code_used", _("recovery code used")
    ROLE_GRANTED = "role_granted", _("role granted by mapping")
    ROLE_CHANGED = "role_changed", _("role changed by mapping")
    ROLE_REMOVED = "role_removed", _("role removed by mapping")
    TOKEN_CREATED = "token_created", _("API token created")
    TOKEN_REFUSED = "token_refused", _("API token refused")
    ACCOUNT_DISABLED = "account_disabled", _("directory account disabled")
    ACCOUNT_ENABLED = "account_enabled", _("directory account enabled again")


class DirectoryAccount(models.Model):
    """A user whose identity belongs to a directory or an identity provider, never to a local password.

    Sign-in matches by ``subject`` (the LDAP entry's DN, or the OIDC issuer and ``sub``), never by e-mail, so no
    directory entry can take over a local account of the same name. ``disabled`` is what the directory said at
    the last check: such a user is also made inactive, which ends their sessions and tokens at once.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="directory_account",
        verbose_name=_("user"),
    )
    source = models.CharField(_("source"), max_length=8, choices=ExternalSource.choices)
    subject = models.CharField(
        _("subject"),
        max_length=512,
        help_text=_("The directory entry's DN, or the identity provider's issuer and subject."),
    )
    groups = models.JSONField(_("groups"), default=list, blank=True)
    disabled = models.BooleanField(_("disabled in the directory"), default=False)
    checked_at = models.DateTimeField(_("last checked"), default=timezone.now)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("directory account")
        verbose_name_plural = _("directory accounts")
        ordering = ["user__username"]
        constraints = [
            models.UniqueConstraint(fields=["source", "subject"], name="directory_account_subject_unique"),
            models.CheckConstraint(
                condition=models.Q(source__in=ExternalSource.values), name="directory_account_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_source_display()})"


class GroupMapping(models.Model):
    """A directory or identity-provider group gives its members a role in one bank.

    LDAP groups are named by their DN, compared without regard to case; OIDC groups by the exact value of the
    groups claim.
    """

    TENANT_BANK_PATH = "bank"

    source = models.CharField(_("source"), max_length=8, choices=ExternalSource.choices)
    group = models.CharField(
        _("group"),
        max_length=512,
        help_text=_("LDAP: the group's DN (cn=…,ou=…,dc=…). OIDC: a value of the groups claim."),
    )
    bank = models.ForeignKey(
        "partnerships.Bank", on_delete=models.CASCADE, related_name="group_mappings", verbose_name=_("bank")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("group mapping")
        verbose_name_plural = _("group mappings")
        ordering = ["source", "group", "bank__code"]
        constraints = [
            models.UniqueConstraint(fields=["source", "group", "bank"], name="group_mapping_unique"),
            models.CheckConstraint(
                condition=models.Q(source__in=ExternalSource.values), name="group_mapping_source_valid"
            ),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="group_mapping_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.group} → {self.bank} ({self.get_role_display()})"


class MappedMembership(models.Model):
    """Marks a Membership as made by the mapping: only these follow the groups (removed with the group).

    A membership given by hand has no such row and is never changed or removed by a sign-in.
    """

    membership = models.OneToOneField(
        "partnerships.Membership",
        on_delete=models.CASCADE,
        related_name="mapped_by",
        verbose_name=_("membership"),
    )
    source = models.CharField(_("source"), max_length=8, choices=ExternalSource.choices)
    groups = models.JSONField(_("groups"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("mapped membership")
        verbose_name_plural = _("mapped memberships")

    def __str__(self) -> str:
        return f"{self.membership_id} ← {', '.join(self.groups or [])}"


class SignOnEvent(models.Model):
    """One line of the sign-in audit: who, when, from where, how, and what happened. Written, never edited."""

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    kind = models.CharField(_("event"), max_length=32, choices=SignOnEventKind.choices)
    method = models.CharField(_("method"), max_length=8, choices=SignOnMethod.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=SignOnChannel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="signon_events",
        verbose_name=_("user"),
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser or client"), max_length=255, blank=True)
    # The bank's code as text, not a key: an audit line outlives the bank and never changes with it.
    bank_code = models.CharField(_("bank"), max_length=32, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("sign-in event")
        verbose_name_plural = _("sign-in audit")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["username", "-at"], name="signon_event_username")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.get_kind_display()}"


class SecondFactor(TOTPDevice):
    """django-otp's TOTP device, shown in the admin in the reader's language (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = _("second factor")
        verbose_name_plural = _("second factors")

    def __str__(self) -> str:
        return str(self.user)
