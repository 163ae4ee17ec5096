"""Named choice sets with translated labels; the keys are part of the API and file formats."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PillarKey(models.TextChoices):
    SCENARIO = "scenario", _("Scenario cooperation")
    DATA_SHARING = "data_sharing", _("Customer-data sharing and consumer finance")
    SMART_BANKING = "smart_banking", _("Collaborative innovation for a smart bank")


class Role(models.TextChoices):
    """A user's role in one bank; each role can do what the one before it can."""

    VIEWER = "viewer", _("Viewer")
    ANALYST = "analyst", _("Analyst")
    MANAGER = "manager", _("Manager")


ROLE_RANK = {Role.VIEWER: 1, Role.ANALYST: 2, Role.MANAGER: 3}


class InitiativeStatus(models.TextChoices):
    IDEA = "idea", _("Idea")
    PROPOSED = "proposed", _("Proposed")
    PILOT = "pilot", _("Pilot")
    LIVE = "live", _("Live")
    SUSPENDED = "suspended", _("Suspended")
    RETIRED = "retired", _("Retired")


# idea → proposed → pilot → live → suspended / retired; a suspended initiative may resume or retire.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    InitiativeStatus.IDEA: frozenset({InitiativeStatus.PROPOSED, InitiativeStatus.RETIRED}),
    InitiativeStatus.PROPOSED: frozenset(
        {InitiativeStatus.IDEA, InitiativeStatus.PILOT, InitiativeStatus.RETIRED}
    ),
    InitiativeStatus.PILOT: frozenset(
        {InitiativeStatus.LIVE, InitiativeStatus.SUSPENDED, InitiativeStatus.RETIRED}
    ),
    InitiativeStatus.LIVE: frozenset({InitiativeStatus.SUSPENDED, InitiativeStatus.RETIRED}),
    InitiativeStatus.SUSPENDED: frozenset(
        {InitiativeStatus.PILOT, InitiativeStatus.LIVE, InitiativeStatus.RETIRED}
    ),
    InitiativeStatus.RETIRED: frozenset(),
}


class PartnerRole(models.TextChoices):
    LEAD = "lead", _("Lead partner")
    SCENARIO = "scenario", _("Scenario / traffic provider")
    TECHNOLOGY = "technology", _("Technology provider")
    DATA = "data", _("Data provider")
    CHANNEL = "channel", _("Channel / distribution")


class ScenarioGroup(models.TextChoices):
    FRONT_END = "front_end", _("Front end")
    BACK_END = "back_end", _("Back end")
    GENERAL = "general", _("General")


class MetricUnit(models.TextChoices):
    YI_YUAN = "亿元", _("100 million yuan (亿元)")
    PERCENT = "%", _("Percent (%)")
    PERCENT_POINT = "个百分点", _("Percentage points (个百分点)")
    WAN = "万", _("10 thousand (万)")
    YI_USD = "亿美元", _("100 million US dollars (亿美元)")
    WAN_UNITS = "万台", _("10 thousand units (万台)")
    WAN_VEHICLES = "万辆", _("10 thousand vehicles (万辆)")
    PERSONS = "人", _("Persons (人)")
    RANK = "名", _("Rank (名)")
    USD = "美元", _("US dollars (美元)")


class CostDriver(models.TextChoices):
    """The four bank costs that technology changes (seed, 第二节), plus revenue-side KPIs."""

    ACQUISITION = "acquisition", _("Customer-acquisition cost")
    RISK_SCREENING = "risk_screening", _("Risk-screening cost")
    OPERATIONS = "operations", _("Operating cost")
    FUNDING = "funding", _("Funding cost")
    GROWTH = "growth", _("Business growth")


class PersonalDataCategory(models.TextChoices):
    IDENTITY = "identity", _("Identity data")
    CONTACT = "contact", _("Contact data")
    FINANCIAL = "financial", _("Financial and account data")
    CREDIT = "credit", _("Credit data")
    TRANSACTION = "transaction", _("Transaction and consumption data")
    LOCATION = "location", _("Location data")
    BIOMETRIC = "biometric", _("Biometric data")
    BEHAVIOUR = "behaviour", _("Online behaviour data")


class LawfulBasis(models.TextChoices):
    NONE = "", _("Not recorded")
    SEPARATE_CONSENT = "separate_consent", _("Separate consent (PIPL Art. 23)")
    CONTRACT = "contract", _("Necessary for a contract (PIPL Art. 13(2))")
    LEGAL_DUTY = "legal_duty", _("Legal duty (PIPL Art. 13(3))")
    OTHER = "other", _("Other basis under PIPL Art. 13")


class TransferMechanism(models.TextChoices):
    NONE = "", _("Not recorded")
    CAC_ASSESSMENT = "cac_assessment", _("CAC security assessment")
    STANDARD_CONTRACT = "standard_contract", _("Standard contract filed")
    CERTIFICATION = "certification", _("Personal-information protection certification")
    EXEMPTION = "exemption", _("Exempted under the 2024 cross-border data provisions")


class EvidenceKind(models.TextChoices):
    FILE = "file", _("File")
    LINK = "link", _("Link")


# -- Issue 12: the partner register, scenario-type status, personal data as facts ---------------------------


class PartnerKind(models.TextChoices):
    LISTED_PLATFORM = "listed_platform", _("Listed internet platform")
    FINTECH = "fintech", _("Fintech company")
    CREDIT_REPORTING = "credit_reporting", _("Credit-reporting agency")
    GUARANTEE = "guarantee", _("Financing guarantee company")
    INSURANCE = "insurance", _("Insurance company")
    PLATFORM_OPERATOR = "platform_operator", _("Platform operator")
    CLOUD_IT = "cloud_it", _("Cloud or IT provider")


class LicenceType(models.TextChoices):
    FINANCING_GUARANTEE = "financing_guarantee", _("Financing guarantee licence")
    INSURANCE = "insurance", _("Insurance licence")
    CREDIT_REPORTING = "credit_reporting", _("Personal credit-reporting licence")
    PAYMENT = "payment", _("Payment licence")
    MICROLENDING = "microlending", _("Online microlending licence")
    CONSUMER_FINANCE = "consumer_finance", _("Consumer finance company licence")


class RiskTier(models.TextChoices):
    LOW = "low", pgettext_lazy("risk tier", "Low")
    MEDIUM = "medium", pgettext_lazy("risk tier", "Medium")
    HIGH = "high", pgettext_lazy("risk tier", "High")


class ScenarioStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("scenario type status", "Active")
    RESTRICTED = "restricted", pgettext_lazy("scenario type status", "Restricted")
    PROHIBITED = "prohibited", pgettext_lazy("scenario type status", "Prohibited")


class PartnerService(models.TextChoices):
    """What a partner does in an initiative that a licence may be needed for (the 2025 助贷 notice, 断直连)."""

    CREDIT_ENHANCEMENT = "credit_enhancement", _("Credit enhancement (guarantee or insurance)")
    CREDIT_DATA = "credit_data", _("Credit-related data for credit decisions")
    PAYMENT = "payment", _("Payment services")
    LENDING = "lending", _("Lending (joint or on its own book)")


# The licences that let a partner provide a service; any one of them suffices.
SERVICE_LICENCES: dict[str, frozenset[str]] = {
    PartnerService.CREDIT_ENHANCEMENT: frozenset({LicenceType.FINANCING_GUARANTEE, LicenceType.INSURANCE}),
    PartnerService.CREDIT_DATA: frozenset({LicenceType.CREDIT_REPORTING}),
    PartnerService.PAYMENT: frozenset({LicenceType.PAYMENT}),
    PartnerService.LENDING: frozenset({LicenceType.MICROLENDING, LicenceType.CONSUMER_FINANCE}),
}
