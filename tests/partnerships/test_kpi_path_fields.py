"""A KPI's path facts (rubric version 2): its baseline date and weight are written through the KPI services from
the initiative page's KPI rows, read by the API, and refused by field when they cannot hold."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partnerships.errors import Invalid
from partnerships.models import KPI
from partnerships.services.kpis import kpi_create, kpi_update
from tests.factories import InitiativeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def initiative(two_banks):
    banks, _users = two_banks
    return InitiativeFactory(bank=banks["A"], code="k-1", title="获客", pillar_id="scenario", status="pilot")


def _page(initiative, kpi_rows: list[dict]) -> dict:
    data = {
        "bank": str(initiative.bank_id),
        "code": initiative.code,
        "title": initiative.title,
        "status": initiative.status,
        "pillar": initiative.pillar_id,
        "cross_border_transfer": "unknown",
        "provided_to_partner": "unknown",
        "credit_use": "unknown",
    }
    for prefix, rows in (
        ("partner_links", []),
        ("data_categories", []),
        ("kpis", kpi_rows),
        ("evidence", []),
    ):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(len(rows)),
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
        for i, row in enumerate(rows):
            data.update({f"{prefix}-{i}-{k}": v for k, v in row.items()})
    return data


def _row(**overrides) -> dict:
    return {
        "name": "获客成本",
        "cost_driver": "acquisition",
        "unit": "元",
        "baseline": "320",
        "baseline_date": "2025-01-01",
        "target": "200",
        "target_date": "2025-12-31",
        "weight": "2.5",
        **overrides,
    }


def test_the_initiative_page_records_the_path_and_the_api_reads_it(initiative, two_banks, client_for):
    _banks, users = two_banks
    analyst = users[("A", "analyst")]
    url = reverse("admin:partnerships_initiative_change", args=[initiative.pk])
    response = client_for(analyst).post(url, _page(initiative, [_row()]))
    assert response.status_code == 302, response.context and response.context["inline_admin_formsets"]
    kpi = KPI.objects.get(initiative=initiative)
    assert (kpi.baseline_date, kpi.weight) == (datetime.date(2025, 1, 1), Decimal("2.5"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=analyst)[0].key}")
    body = client.get(f"/api/v1/kpis/{kpi.pk}/").json()
    assert body["baseline_date"] == "2025-01-01" and Decimal(body["weight"]) == Decimal("2.5")


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"weight": "0"}, "weight", "greater than 0"),
        ({"baseline_date": "2026-01-01"}, "target_date", "after the baseline date"),
    ],
)
def test_a_path_that_cannot_hold_is_refused_by_field(
    initiative, two_banks, client_for, overrides, field, words
):
    _banks, users = two_banks
    url = reverse("admin:partnerships_initiative_change", args=[initiative.pk])
    response = client_for(users[("A", "analyst")]).post(
        url, _page(initiative, [_row(**overrides)]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    rows = response.context["inline_admin_formsets"][2].formset.forms
    assert any(words in m for m in rows[0].errors.get(field, [])), rows[0].errors
    assert not KPI.objects.filter(initiative=initiative).exists()
    with pytest.raises(Invalid) as refused:
        kpi_create(
            user=users[("A", "analyst")],
            initiative=initiative,
            data={k: v for k, v in _row(**overrides).items() if k != "unit"},
        )
    assert field in refused.value.fields


def test_a_weight_left_empty_is_1(initiative, two_banks):
    _banks, users = two_banks
    kpi = kpi_create(
        user=users[("A", "analyst")], initiative=initiative, data={"name": "x", "baseline": 1, "weight": None}
    )
    assert kpi.weight == 1
    kpi = kpi_update(user=users[("A", "analyst")], kpi=kpi, data={"weight": Decimal("3")})
    assert KPI.objects.get(pk=kpi.pk).weight == 3
