"""Banks are the tenants; a Membership gives a user a role in one bank."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..choices import BankType, Province, Role
from .base import BilingualNameModel, TenantManager


class Bank(BilingualNameModel):
    TENANT_BANK_PATH = "pk"

    code = models.SlugField(_("code"), max_length=32, unique=True)
    is_illustrative = models.BooleanField(
        _("illustrative"), default=False, help_text=_("Demo data, not a real bank's figures.")
    )
    bank_type = models.CharField(
        _("bank type"),
        max_length=24,
        choices=BankType.choices,
        blank=True,
        help_text=_(
            "Local banks (city and rural commercial banks …) may not lend outside their home region."
        ),
    )
    home_region = models.CharField(_("home region"), max_length=2, choices=Province.choices, blank=True)
    limit_warning_percent = models.DecimalField(
        _("early-warning level (%)"),
        max_digits=5,
        decimal_places=2,
        default=80,
        help_text=_("Warn when a figure reaches this share of a limit's threshold (for example 80)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("bank")
        verbose_name_plural = _("banks")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(bank_type="") | models.Q(bank_type__in=BankType.values),
                name="bank_type_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(limit_warning_percent__gt=0, limit_warning_percent__lte=100),
                name="bank_limit_warning_percent_range",
            ),
        ]


class Membership(models.Model):
    TENANT_BANK_PATH = "bank"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="bank_memberships",
        verbose_name=_("user"),
    )
    bank = models.ForeignKey(
        Bank, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("bank")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    receives_reports = models.BooleanField(
        _("receives reports"), default=False, help_text=_("E-mail this user the bank's periodic reports.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["bank__code", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "bank"], name="membership_user_bank_unique"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.bank} ({self.get_role_display()})"
