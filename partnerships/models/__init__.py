"""Models of the partnerships app, one idea a module."""

# Sign-on's models live in partnerships.signon (issue 18); imported here so the app registers them.
from ..signon.models import DirectoryAccount, GroupMapping, MappedMembership, SecondFactor, SignOnEvent
from .bank import Bank, Membership
from .evidence import Evidence
from .exposure import BankPeriodFigures, LimitBreach, LimitRule, PartnerExposure
from .idempotency import IdempotencyRecord
from .initiative import Initiative, InitiativeDataCategory, InitiativePartner
from .kpi import KPI, KPIObservation
from .lifecycle import MonitoringEvent, PartnershipContract, ReassessmentPolicy, ReassessmentReminder
from .partner import PartnerDueDiligence, PartnerLicence, PartnerMetric, TechPartner
from .taxonomy import Pillar, ScenarioType
from .webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "KPI",
    "Bank",
    "BankPeriodFigures",
    "DirectoryAccount",
    "Evidence",
    "GroupMapping",
    "IdempotencyRecord",
    "Initiative",
    "InitiativeDataCategory",
    "InitiativePartner",
    "KPIObservation",
    "LimitBreach",
    "LimitRule",
    "MappedMembership",
    "Membership",
    "MonitoringEvent",
    "PartnerDueDiligence",
    "PartnerExposure",
    "PartnerLicence",
    "PartnerMetric",
    "PartnershipContract",
    "Pillar",
    "ReassessmentPolicy",
    "ReassessmentReminder",
    "ScenarioType",
    "SecondFactor",
    "SignOnEvent",
    "TechPartner",
    "WebhookDelivery",
    "WebhookEndpoint",
]
