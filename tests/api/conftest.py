"""API fixtures: token-authenticated clients per user, published rubrics, and a small two-bank portfolio.

Clients send a real token (``Authorization: Token …``), so each request loads its user and memberships the way
an integrator's would — the tenancy checks and the query counts are the real ones.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partnerships.models import PartnerMetric
from scoring.choices import VersionStatus
from scoring.models import Assessment, RubricVersion
from scoring.services.assessments import assessment_create, assessment_set_ratings, assessment_submit
from scoring.services.compute import score_initiatives
from scoring.services.rubrics import rubrics_load
from tests.factories import (
    InitiativeFactory,
    InitiativePartnerFactory,
    TechPartnerFactory,
    UserFactory,
)

API = "/api/v1/"


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_as():
    """A fresh client signed in with the user's token (None: an anonymous client), in English by default."""

    def _client(user=None, language: str = "en") -> APIClient:
        client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
        if user is not None:
            token, _created = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return _client


@pytest.fixture
def rubrics(db, taxonomy):
    """The default rubrics, published (the queued re-score jobs are harmless: no worker runs)."""
    rubrics_load(versions={1})


def published_version(pillar: str) -> RubricVersion:
    return RubricVersion.objects.select_related("rubric").get(
        rubric__pillar_id=pillar, rubric__is_default=True, status=VersionStatus.PUBLISHED
    )


@dataclass
class World:
    banks: dict
    users: dict
    partners: dict = field(default_factory=dict)
    initiatives: dict = field(default_factory=dict)

    def user(self, label: str):
        return self.users[label]


@pytest.fixture
def world(two_banks, rubrics):
    """Banks A and B with a viewer, analyst and manager each, a superuser, partners and one initiative per bank.

    ``users`` keys: "viewer", "analyst", "manager" (bank A), "other" (bank B's manager), "superuser".
    """
    banks, by_role = two_banks
    users = {
        "viewer": by_role[("A", "viewer")],
        "analyst": by_role[("A", "analyst")],
        "manager": by_role[("A", "manager")],
        "other": by_role[("B", "manager")],
        "other_analyst": by_role[("B", "analyst")],
        "superuser": UserFactory(username="root", is_superuser=True),
    }
    tencent = TechPartnerFactory(key="tencent", name_zh_hans="腾讯", name_en="Tencent")
    alibaba = TechPartnerFactory(key="alibaba", name_zh_hans="阿里巴巴", name_en="Alibaba")
    PartnerMetric.objects.create(
        partner=tencent,
        metric="market_cap_change_pct",
        period="2024",
        period_end=datetime.date(2024, 12, 31),
        value=43,
        unit="%",
        source="seed 第一节",
    )
    a1 = InitiativeFactory(
        bank=banks["A"], code="a1", title="微信支付场景联名卡", pillar_id="scenario", status="pilot"
    )
    InitiativePartnerFactory(initiative=a1, partner=tencent, role="lead")
    b1 = InitiativeFactory(
        bank=banks["B"], code="b1", title="乙行京东供应链", pillar_id="scenario", status="live"
    )
    InitiativePartnerFactory(initiative=b1, partner=alibaba, role="lead")
    return World(
        banks=banks,
        users=users,
        partners={"tencent": tencent, "alibaba": alibaba},
        initiatives={"A": a1, "B": b1},
    )


def rate_all(assessment: Assessment, user, value: int = 3) -> None:
    """Rate every rated criterion of the assessment's version ``value``."""
    criteria = assessment.rubric_version.criteria.filter(source="rated")
    assessment_set_ratings(
        assessment=assessment, user=user, ratings=[{"criterion": c.key, "value": value} for c in criteria]
    )


@pytest.fixture
def draft(world) -> Assessment:
    """A draft assessment of bank A's initiative, by bank A's analyst, fully rated."""
    assessment = assessment_create(user=world.user("analyst"), initiative=world.initiatives["A"])
    rate_all(assessment, world.user("analyst"))
    return assessment


@pytest.fixture
def submitted(draft, world) -> Assessment:
    return assessment_submit(assessment=draft, user=world.user("analyst"))


def score_now(*initiatives) -> None:
    """Score initiatives synchronously (the service a worker runs), so they have a current score."""
    for initiative in initiatives:
        score_initiatives(bank_id=initiative.bank_id, initiative_ids=[initiative.pk])
