"""A bank–tech partnership initiative, its partners (each with a role) and its data-sharing facts."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..choices import (
    InitiativeStatus,
    LawfulBasis,
    PartnerRole,
    PersonalDataCategory,
    TransferMechanism,
)
from .bank import Bank
from .base import TenantManager
from .partner import TechPartner
from .taxonomy import Pillar, ScenarioType


class Initiative(models.Model):
    TENANT_BANK_PATH = "bank"
    Status = InitiativeStatus

    bank = models.ForeignKey(
        Bank, on_delete=models.PROTECT, related_name="initiatives", verbose_name=_("bank")
    )
    code = models.SlugField(
        _("code"), max_length=40, help_text=_("Short reference, unique within the bank, e.g. pay-2024-01.")
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    pillar = models.ForeignKey(
        Pillar,
        on_delete=models.PROTECT,
        to_field="key",
        db_column="pillar_key",
        related_name="initiatives",
        verbose_name=_("pillar"),
    )
    scenario_types = models.ManyToManyField(
        ScenarioType, blank=True, related_name="initiatives", verbose_name=_("scenario types")
    )
    partners = models.ManyToManyField(
        TechPartner, through="InitiativePartner", related_name="initiatives", verbose_name=_("partners")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=InitiativeStatus.choices, default=InitiativeStatus.IDEA
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_initiatives",
        verbose_name=_("owner"),
    )
    # Data-sharing facts (pillar data_sharing; recorded for any initiative that passes personal data).
    personal_data_categories = models.JSONField(
        _("personal-data categories"),
        default=list,
        blank=True,
        help_text=_("Kinds of personal information passed between the bank and the partner."),
    )
    lawful_basis = models.CharField(
        _("lawful / consent basis"), max_length=32, choices=LawfulBasis.choices, blank=True, default=""
    )
    security_assessment_done = models.BooleanField(
        _("security assessment done"),
        default=False,
        help_text=_("Personal-information protection impact assessment (PIPL Art. 55) completed."),
    )
    cross_border_transfer = models.BooleanField(
        _("cross-border transfer"), null=True, blank=True, default=None, help_text=_("Blank: not recorded.")
    )
    transfer_mechanism = models.CharField(
        _("transfer mechanism"), max_length=32, choices=TransferMechanism.choices, blank=True, default=""
    )
    # Personal data as facts (rubric version 2, PIPL and 断直连). None is "not recorded", which the version 2
    # formulas treat as unknown (unrated, failing the gate), never as "no".
    no_personal_data = models.BooleanField(
        _("no personal data shared"),
        default=False,
        help_text=_("Tick only when it has been established that no personal information is passed."),
    )
    provided_to_partner = models.BooleanField(
        _("personal data provided to the partner"), null=True, blank=True, default=None
    )
    provision_separate_consent = models.BooleanField(
        _("separate consent for the provision (PIPL Art. 23)"), default=False
    )
    cross_border_destination = models.CharField(_("cross-border destination"), max_length=100, blank=True)
    cross_border_separate_consent = models.BooleanField(
        _("separate consent for the cross-border transfer (PIPL Art. 39)"), default=False
    )
    credit_use = models.BooleanField(
        _("credit-related data used for credit decisions"), null=True, blank=True, default=None
    )
    credit_route_agency = models.ForeignKey(
        TechPartner,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_routes",
        verbose_name=_("licensed credit-reporting agency on the route"),
        help_text=_(
            "断直连: credit-related data reaches the bank only through a licensed credit-reporting agency."
        ),
    )
    impact_assessment_on = models.DateField(
        _("impact assessment dated"),
        null=True,
        blank=True,
        help_text=_("Date of the personal-information protection impact assessment (PIPL Art. 55)."),
    )
    processing_agreement = models.BooleanField(
        _("data-processing agreement"),
        default=False,
        help_text=_("An agreement with the partner covering purpose, retention, deletion and audit."),
    )
    is_illustrative = models.BooleanField(
        _("illustrative"), default=False, help_text=_("Demo data, not a real initiative.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TenantManager()
    history = HistoricalRecords(m2m_fields=[scenario_types])

    class Meta:
        verbose_name = _("initiative")
        verbose_name_plural = _("initiatives")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "code"], name="initiative_bank_code_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=InitiativeStatus.values), name="initiative_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(start_date__isnull=True)
                | models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="initiative_dates_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(lawful_basis__in=LawfulBasis.values), name="initiative_lawful_basis_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(transfer_mechanism__in=TransferMechanism.values),
                name="initiative_transfer_mechanism_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(cross_border_transfer=True) | models.Q(transfer_mechanism=""),
                name="initiative_mechanism_needs_transfer",
            ),
            models.CheckConstraint(condition=~models.Q(title=""), name="initiative_title_required"),
        ]
        indexes = [
            models.Index(fields=["bank", "pillar", "status"], name="initiative_bank_pillar_status"),
            # The default order (lists, cursor pages): walked in order per bank, or across banks for
            # superusers, instead of sorting the portfolio (45 ms → under 1 ms a page at 100k initiatives).
            models.Index(fields=["bank", "-updated_at", "-id"], name="initiative_bank_recent"),
            models.Index(fields=["-updated_at", "-id"], name="initiative_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.title}"

    def clean(self) -> None:
        errors: dict[str, list] = {}
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors.setdefault("end_date", []).append(_("The end date cannot be before the start date."))
        categories = self.personal_data_categories or []
        if not isinstance(categories, list) or any(c not in PersonalDataCategory.values for c in categories):
            errors.setdefault("personal_data_categories", []).append(
                _("Choose categories from: %(choices)s.")
                % {"choices": ", ".join(PersonalDataCategory.values)}
            )
        if self.transfer_mechanism and not self.cross_border_transfer:
            errors.setdefault("transfer_mechanism", []).append(
                _("A transfer mechanism applies only to a cross-border transfer.")
            )
        if errors:
            raise ValidationError(errors)


class InitiativePartner(models.Model):
    TENANT_BANK_PATH = "initiative__bank"

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="partner_links", verbose_name=_("initiative")
    )
    partner = models.ForeignKey(
        TechPartner, on_delete=models.PROTECT, related_name="initiative_links", verbose_name=_("partner")
    )
    role = models.CharField(
        _("role"), max_length=16, choices=PartnerRole.choices, default=PartnerRole.TECHNOLOGY
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    services = models.JSONField(
        _("licensed services"),
        default=list,
        blank=True,
        help_text=_(
            "What the partner does here that needs a licence: credit enhancement, credit data, payment, lending."
        ),
    )

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("initiative partner")
        verbose_name_plural = _("initiative partners")
        ordering = ["initiative_id", "role", "partner__key"]
        constraints = [
            models.UniqueConstraint(fields=["initiative", "partner"], name="initiative_partner_unique"),
            models.UniqueConstraint(
                fields=["initiative"], condition=models.Q(role="lead"), name="initiative_single_lead"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=PartnerRole.values), name="initiative_partner_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} ({self.get_role_display()})"


class InitiativeDataCategory(models.Model):
    """One category of personal information an initiative shares, with its lawful basis and consent."""

    TENANT_BANK_PATH = "initiative__bank"

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="data_categories", verbose_name=_("initiative")
    )
    category = models.CharField(_("category"), max_length=16, choices=PersonalDataCategory.choices)
    lawful_basis = models.CharField(
        _("lawful basis"), max_length=32, choices=LawfulBasis.choices, blank=True, default=""
    )
    separate_consent = models.BooleanField(_("separate consent"), default=False)

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("personal-data category")
        verbose_name_plural = _("personal-data categories")
        ordering = ["initiative_id", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "category"], name="initiative_data_category_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(category__in=PersonalDataCategory.values), name="data_category_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(lawful_basis__in=LawfulBasis.values), name="data_category_basis_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.get_category_display()
