"""Models of the partnerships app, one idea a module."""

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
    "Evidence",
    "Initiative",
    "InitiativeDataCategory",
    "InitiativePartner",
    "KPIObservation",
    "LimitBreach",
    "LimitRule",
    "Membership",
    "PartnerDueDiligence",
    "PartnerExposure",
    "PartnerLicence",
    "PartnerMetric",
    "Pillar",
    "ScenarioType",
    "TechPartner",
]
