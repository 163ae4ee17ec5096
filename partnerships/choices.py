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


# -- Issue 13: joint-lending exposure and its limits ----------------------------------------------------------


class BankType(models.TextChoices):
    """The kinds of commercial bank the 2021 joint-lending rules tell apart (local banks lend in their region)."""

    LARGE_STATE = "large_state", _("Large state-owned commercial bank")
    JOINT_STOCK = "joint_stock", _("Joint-stock commercial bank")
    CITY_COMMERCIAL = "city_commercial", _("City commercial bank")
    RURAL_COMMERCIAL = "rural_commercial", _("Rural commercial bank")
    RURAL_COOPERATIVE = "rural_cooperative", _("Rural cooperative bank or credit union")
    VILLAGE = "village", _("Village or township bank")
    PRIVATE = "private", _("Private bank")
    FOREIGN = "foreign", _("Foreign-owned bank")
    OTHER = "other", pgettext_lazy("bank type", "Other")


# Locally incorporated banks: the 2021 notice (银保监办发〔2021〕24号) bars them from internet lending outside
# their home region (with an exception for those without branches outside it that operate nationally, which
# the regulator grants case by case — a bank with such an exception records an internal limit instead).
LOCAL_BANK_TYPES = frozenset(
    {
        BankType.CITY_COMMERCIAL,
        BankType.RURAL_COMMERCIAL,
        BankType.RURAL_COOPERATIVE,
        BankType.VILLAGE,
    }
)


class Province(models.TextChoices):
    """China's province-level divisions, by their GB/T 2260 code (the first two digits)."""

    BEIJING = "11", _("Beijing")
    TIANJIN = "12", _("Tianjin")
    HEBEI = "13", _("Hebei")
    SHANXI = "14", _("Shanxi")
    INNER_MONGOLIA = "15", _("Inner Mongolia")
    LIAONING = "21", _("Liaoning")
    JILIN = "22", _("Jilin")
    HEILONGJIANG = "23", _("Heilongjiang")
    SHANGHAI = "31", _("Shanghai")
    JIANGSU = "32", _("Jiangsu")
    ZHEJIANG = "33", _("Zhejiang")
    ANHUI = "34", _("Anhui")
    FUJIAN = "35", _("Fujian")
    JIANGXI = "36", _("Jiangxi")
    SHANDONG = "37", _("Shandong")
    HENAN = "41", _("Henan")
    HUBEI = "42", _("Hubei")
    HUNAN = "43", _("Hunan")
    GUANGDONG = "44", _("Guangdong")
    GUANGXI = "45", _("Guangxi")
    HAINAN = "46", _("Hainan")
    CHONGQING = "50", _("Chongqing")
    SICHUAN = "51", _("Sichuan")
    GUIZHOU = "52", _("Guizhou")
    YUNNAN = "53", _("Yunnan")
    TIBET = "54", _("Tibet")
    SHAANXI = "61", _("Shaanxi")
    GANSU = "62", _("Gansu")
    QINGHAI = "63", _("Qinghai")
    NINGXIA = "64", _("Ningxia")
    XINJIANG = "65", _("Xinjiang")
    HONG_KONG = "81", _("Hong Kong")
    MACAO = "82", _("Macao")
    TAIWAN = "71", _("Taiwan")


class LendingProduct(models.TextChoices):
    """How a bank lends with a partner: jointly (both fund each loan) or with the partner's help only."""

    JOINT_LENDING = "joint_lending", _("Joint lending")
    FACILITATION = "facilitation", _("Loan facilitation")


class LimitKind(models.TextChoices):
    """What a limit measures; each kind has one formula in ``partnerships.limit_rules``."""

    PARTNER_FUNDED_SHARE = "partner_funded_share", _("Partner's funded share of its joint loans (minimum)")
    PARTNER_CAPITAL_SHARE = (
        "partner_capital_share",
        _(
            "One partner's joint-lending balance with its related parties, share of tier-1 net capital (maximum)"
        ),
    )
    TOTAL_LOANS_SHARE = "total_loans_share", _("All joint-lending balances, share of total loans (maximum)")
    OUT_OF_REGION = "out_of_region", _("Joint lending outside the home region of a local bank (none allowed)")


class LimitStatus(models.TextChoices):
    """Where a figure stands against its limit. Unknown is never within."""

    WITHIN = "within", pgettext_lazy("limit status", "Within")
    WARNING = "warning", pgettext_lazy("limit status", "Approaching")
    BREACH = "breach", pgettext_lazy("limit status", "Breached")
    UNKNOWN = "unknown", pgettext_lazy("limit status", "Unknown")


class WebhookEventType(models.TextChoices):
    """The events a webhook endpoint can subscribe to (``docs/webhooks.md``); the keys are part of the API."""

    SCORE_CREATED = "score.created", _("Score created")
    ASSESSMENT_APPROVED = "assessment.approved", _("Assessment approved")
    LIMIT_BREACHED = "limit.breached", _("Limit breached")
    REASSESSMENT_OVERDUE = "reassessment.overdue", _("Re-assessment overdue")
    MONITORING_EVENT_CREATED = "monitoring_event.created", _("Monitoring event recorded")


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("webhook delivery", "Pending")
    RETRYING = "retrying", pgettext_lazy("webhook delivery", "Retrying")
    SUCCEEDED = "succeeded", pgettext_lazy("webhook delivery", "Succeeded")
    FAILED = "failed", pgettext_lazy("webhook delivery", "Failed")


# -- The partnership lifecycle (issue 14: docs/lifecycle.md) -----------------------------------------------------
class TriState(models.TextChoices):
    """A recorded fact that may not be known yet; unknown counts as no (never better than known)."""

    YES = "yes", pgettext_lazy("recorded fact", "Yes")
    NO = "no", pgettext_lazy("recorded fact", "No")
    UNKNOWN = "unknown", pgettext_lazy("recorded fact", "Unknown")


class MonitoringEventKind(models.TextChoices):
    INCIDENT = "incident", pgettext_lazy("monitoring event", "Incident")
    COMPLAINT = "complaint", pgettext_lazy("monitoring event", "Customer complaint")
    REGULATORY_FINDING = "regulatory_finding", pgettext_lazy("monitoring event", "Regulatory finding")
    DATA_BREACH = "data_breach", pgettext_lazy("monitoring event", "Data breach")
    LICENCE_CHANGE = "licence_change", pgettext_lazy("monitoring event", "Partner licence change")


class Severity(models.TextChoices):
    LOW = "low", pgettext_lazy("severity", "Low")
    MEDIUM = "medium", pgettext_lazy("severity", "Medium")
    HIGH = "high", pgettext_lazy("severity", "High")
    CRITICAL = "critical", pgettext_lazy("severity", "Critical")


# Severities that mark an initiative "re-assessment required" and cap its tier (scoring.lifecycle).
SEVERE = frozenset({Severity.HIGH, Severity.CRITICAL})


class MonitoringEventStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("monitoring event status", "Open")
    REMEDIATING = "remediating", pgettext_lazy("monitoring event status", "Remediating")
    CLOSED = "closed", pgettext_lazy("monitoring event status", "Closed")


class ReassessmentState(models.TextChoices):
    """Where an initiative stands against its next re-assessment date (admin filter, API, report)."""

    OVERDUE = "overdue", pgettext_lazy("re-assessment", "Overdue")
    DUE = "due", pgettext_lazy("re-assessment", "Due within 30 days")
    NOT_DUE = "not_due", pgettext_lazy("re-assessment", "Not due")
