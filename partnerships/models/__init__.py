"""Models of the partnerships app, one idea a module."""

from .bank import Bank, Membership
from .evidence import Evidence
from .initiative import Initiative, InitiativePartner
from .kpi import KPI, KPIObservation
from .partner import PartnerMetric, TechPartner
from .taxonomy import Pillar, ScenarioType

__all__ = [
    "KPI",
    "Bank",
    "Evidence",
    "Initiative",
    "InitiativePartner",
    "KPIObservation",
    "Membership",
    "PartnerMetric",
    "Pillar",
    "ScenarioType",
    "TechPartner",
]
