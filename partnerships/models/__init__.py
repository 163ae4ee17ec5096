"""Models of the partnerships app, one idea a module."""

from .bank import Bank, Membership
from .evidence import Evidence
from .initiative import Initiative, InitiativeDataCategory, InitiativePartner
from .kpi import KPI, KPIObservation
from .partner import PartnerDueDiligence, PartnerLicence, PartnerMetric, TechPartner
from .taxonomy import Pillar, ScenarioType

__all__ = [
    "KPI",
    "Bank",
    "Evidence",
    "Initiative",
    "InitiativeDataCategory",
    "InitiativePartner",
    "KPIObservation",
    "Membership",
    "PartnerDueDiligence",
    "PartnerLicence",
    "PartnerMetric",
    "Pillar",
    "ScenarioType",
    "TechPartner",
]
