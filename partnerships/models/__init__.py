"""Models of the partnerships app, one idea a module."""

# Sign-on's models live in partnerships.signon (issue 18); imported here so the app registers them.
from ..signon.models import DirectoryAccount, GroupMapping, MappedMembership, SecondFactor, SignOnEvent
from .bank import Bank, Membership
from .evidence import Evidence
from .exposure import BankPeriodFigures, LimitBreach, LimitRule, PartnerExposure
from .initiative import Initiative, InitiativeDataCategory, InitiativePartner
from .kpi import KPI, KPIObservation
from .partner import PartnerDueDiligence, PartnerLicence, PartnerMetric, TechPartner
from .taxonomy import Pillar, ScenarioType

__all__ = [
    "KPI",
    "Bank",
    "BankPeriodFigures",
    "DirectoryAccount",
    "Evidence",
    "GroupMapping",
    "Initiative",
    "InitiativeDataCategory",
    "InitiativePartner",
    "KPIObservation",
    "LimitBreach",
    "LimitRule",
    "MappedMembership",
    "Membership",
    "PartnerDueDiligence",
    "PartnerExposure",
    "PartnerLicence",
    "PartnerMetric",
    "Pillar",
    "ScenarioType",
    "SecondFactor",
    "SignOnEvent",
    "TechPartner",
]
