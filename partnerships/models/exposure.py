"""Joint-lending exposure: what a bank lends with each partner per month, its own figures per period, the limits
that cap the exposure (as versioned data), and the breaches the daily check has found.

Money is in 万元 (ten thousand yuan), as Chinese banks' regulatory reports state it; ``period_end`` is the last day
of the month (or quarter, for bank figures) the figures are for. A blank figure is unknown, and an unknown figure
makes a limit that needs it "unknown", never "within" (``partnerships.limit_rules``).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..choices import LendingProduct, LimitKind
from .base import TenantManager
from .partner import TechPartner

MONEY = {"max_digits": 18, "decimal_places": 2}


class BankPeriodFigures(models.Model):
    """A bank's own figures at the end of a period: tier-1 net capital and total loans (万元)."""

    TENANT_BANK_PATH = "bank"

    bank = models.ForeignKey(
        "partnerships.Bank", on_delete=models.CASCADE, related_name="period_figures", verbose_name=_("bank")
    )
    period_end = models.DateField(_("period end"))
    tier1_net_capital = models.DecimalField(_("tier-1 net capital (10k CNY)"), null=True, blank=True, **MONEY)
    total_loans = models.DecimalField(_("total loans (10k CNY)"), null=True, blank=True, **MONEY)
    source = models.CharField(_("source note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("bank figures")
        verbose_name_plural = _("bank figures")
        ordering = ["bank__code", "-period_end"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "period_end"], name="bank_figures_unique_period"),
            models.CheckConstraint(
                condition=models.Q(tier1_net_capital__isnull=True) | models.Q(tier1_net_capital__gt=0),
                name="bank_figures_capital_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(total_loans__isnull=True) | models.Q(total_loans__gte=0),
                name="bank_figures_loans_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank} · {self.period_end:%Y-%m}"


class PartnerExposure(models.Model):
    """One bank's loans made with one partner in one month, by product (joint lending or facilitation).

    ``balance`` is the outstanding balance of those loans at month end (the whole loan for joint lending, both
    shares); ``partner_funded_balance`` the part the partner funds (joint lending); ``out_of_region_balance`` the
    part lent to borrowers outside the bank's home region, blank when the region of the borrowers is not known.
    """

    TENANT_BANK_PATH = "bank"

    bank = models.ForeignKey(
        "partnerships.Bank", on_delete=models.CASCADE, related_name="exposures", verbose_name=_("bank")
    )
    partner = models.ForeignKey(
        TechPartner, on_delete=models.PROTECT, related_name="exposures", verbose_name=_("partner")
    )
    period_end = models.DateField(_("month end"))
    product = models.CharField(
        _("product"), max_length=16, choices=LendingProduct.choices, default=LendingProduct.JOINT_LENDING
    )
    balance = models.DecimalField(_("balance (10k CNY)"), **MONEY)
    partner_funded_balance = models.DecimalField(
        _("partner-funded balance (10k CNY)"), null=True, blank=True, **MONEY
    )
    lowest_partner_share_percent = models.DecimalField(
        _("lowest partner share of a loan (%)"),
        max_digits=7,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_(
            "Joint lending: the smallest share the partner funds of any one loan outstanding at month end. "
            "Blank when not known."
        ),
    )
    customers = models.PositiveIntegerField(_("customers"), null=True, blank=True)
    new_loans = models.DecimalField(_("new loans in the month (10k CNY)"), null=True, blank=True, **MONEY)
    out_of_region_balance = models.DecimalField(
        _("balance outside the home region (10k CNY)"),
        null=True,
        blank=True,
        help_text=_("Blank when the region of the borrowers is not known."),
        **MONEY,
    )
    source = models.CharField(_("source note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("partner exposure")
        verbose_name_plural = _("partner exposures")
        ordering = ["bank__code", "-period_end", "partner__key", "product"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank", "partner", "period_end", "product"], name="exposure_unique_month"
            ),
            models.CheckConstraint(
                condition=models.Q(product__in=LendingProduct.values), name="exposure_product_valid"
            ),
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="exposure_balance_not_negative"),
            models.CheckConstraint(
                condition=models.Q(partner_funded_balance__isnull=True)
                | models.Q(partner_funded_balance__gte=0, partner_funded_balance__lte=models.F("balance")),
                name="exposure_partner_funded_within_balance",
            ),
            models.CheckConstraint(
                condition=models.Q(out_of_region_balance__isnull=True)
                | models.Q(out_of_region_balance__gte=0, out_of_region_balance__lte=models.F("balance")),
                name="exposure_out_of_region_within_balance",
            ),
            models.CheckConstraint(
                condition=models.Q(lowest_partner_share_percent__isnull=True)
                | models.Q(lowest_partner_share_percent__gte=0, lowest_partner_share_percent__lte=100),
                name="exposure_lowest_share_range",
            ),
            models.CheckConstraint(
                condition=models.Q(new_loans__isnull=True) | models.Q(new_loans__gte=0),
                name="exposure_new_loans_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["bank", "period_end"], name="exposure_bank_period")]

    def __str__(self) -> str:
        return f"{self.partner} · {self.period_end:%Y-%m} · {self.get_product_display()}"


class LimitRule(models.Model):
    """A limit on exposure, as data: the regulator's (``bank`` empty, applies to every bank of the types it
    names) or a bank's own internal limit. Versioned: a change is a new version with its own ``valid_from``; the
    version in force on a day is the latest whose ``valid_from`` is on or before it and whose ``valid_until`` is
    not before it.

    ``threshold_percent`` is a minimum for ``partner_funded_share`` and a maximum for the other kinds (0 for
    ``out_of_region``: none allowed). ``warning_percent`` is the share of the threshold at which a figure is
    "approaching" (blank: the bank's early-warning level).
    """

    bank = models.ForeignKey(
        "partnerships.Bank",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="limit_rules",
        verbose_name=_("bank"),
        help_text=_("Blank for a regulatory limit, which applies to every bank it names."),
    )
    key = models.SlugField(_("key"), max_length=64)
    version = models.PositiveIntegerField(_("version"), default=1)
    kind = models.CharField(_("kind"), max_length=32, choices=LimitKind.choices)
    threshold_percent = models.DecimalField(_("threshold (%)"), max_digits=7, decimal_places=4)
    warning_percent = models.DecimalField(
        _("early-warning level (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    products = models.JSONField(
        _("products"), default=list, blank=True, help_text=_("Lending products counted; empty means all.")
    )
    bank_types = models.JSONField(
        _("bank types"), default=list, blank=True, help_text=_("Bank types it applies to; empty means all.")
    )
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    source_zh_hans = models.TextField(_("source (Chinese)"))
    source_en = models.TextField(_("source (English)"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("exposure limit")
        verbose_name_plural = _("exposure limits")
        ordering = ["bank_id", "key", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "version"],
                condition=models.Q(bank__isnull=True),
                name="limit_rule_regulatory_unique",
            ),
            models.UniqueConstraint(
                fields=["bank", "key", "version"],
                condition=models.Q(bank__isnull=False),
                name="limit_rule_bank_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=LimitKind.values), name="limit_rule_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(threshold_percent__gte=0, threshold_percent__lte=100),
                name="limit_rule_threshold_range",
            ),
            models.CheckConstraint(
                condition=models.Q(warning_percent__isnull=True)
                | models.Q(warning_percent__gt=0, warning_percent__lte=100),
                name="limit_rule_warning_range",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="limit_rule_valid_range",
            ),
        ]

    def __str__(self) -> str:
        from .base import bilingual_name

        return f"{bilingual_name(self.name_zh_hans, self.name_en)} v{self.version}"


class LimitBreach(models.Model):
    """A breach the daily check found: open until a later check finds the figure within the limit again.

    One open breach per bank, limit and subject (a partner's related-party group, or the bank as a whole), so the
    managers are e-mailed once per breach, not once per day it lasts.
    """

    TENANT_BANK_PATH = "bank"

    bank = models.ForeignKey(
        "partnerships.Bank", on_delete=models.CASCADE, related_name="limit_breaches", verbose_name=_("bank")
    )
    rule = models.ForeignKey(
        LimitRule, on_delete=models.PROTECT, related_name="breaches", verbose_name=_("limit")
    )
    subject = models.CharField(
        _("subject"),
        max_length=100,
        blank=True,
        help_text=_("The partner or group; blank for the whole bank."),
    )
    period_end = models.DateField(_("period end"))
    value_percent = models.DecimalField(_("value (%)"), max_digits=9, decimal_places=4)
    threshold_percent = models.DecimalField(_("threshold (%)"), max_digits=7, decimal_places=4)
    detail = models.JSONField(_("figures"), default=dict, blank=True)
    detected_at = models.DateTimeField(_("detected at"), auto_now_add=True)
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    objects = TenantManager()

    class Meta:
        verbose_name = _("limit breach")
        verbose_name_plural = _("limit breaches")
        ordering = ["-detected_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank", "rule", "subject"],
                condition=models.Q(resolved_at__isnull=True),
                name="limit_breach_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} · {self.subject or self.bank} · {self.period_end:%Y-%m}"
