"""``GET /api/v1/banks/{id}/limits/`` and ``GET /api/v1/limit-rules/``: current utilisation with its filters, bad
filters as field errors, tenancy (another bank's is 404), and the limits a user may read."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from partnerships.services.limit_register import limit_rule_create
from tests.api.conftest import API
from tests.partnerships.limit_data import bank_figures, expose, load_regulatory_limits, partner

pytestmark = pytest.mark.django_db
MONTH = datetime.date(2025, 6, 30)


@pytest.fixture
def limits(world):
    """Bank A (a city commercial bank of Zhejiang) lends jointly with Tencent and two partners of one group."""
    load_regulatory_limits()
    bank = world.banks["A"]
    bank.bank_type, bank.home_region = "city_commercial", "33"
    bank.save(update_fields=["bank_type", "home_region"])
    bank_figures(bank)  # capital 1,000 万元
    ant, mybank = partner("ant", group="蚂蚁集团"), partner("mybank", group="蚂蚁集团")
    expose(bank, world.partners["tencent"], balance="300", funded="90")  # own 210: 21 %, a warning
    expose(bank, ant, balance="250", funded="100")
    expose(bank, mybank, balance="200", funded="80")  # the group's 270: 27 %, a breach
    expose(bank, ant, month=datetime.date(2025, 5, 31), balance="10", funded="5")
    own = limit_rule_create(
        user=world.user("manager"),
        data={
            "bank": bank.pk,
            "key": "own-capital",
            "version": 1,
            "kind": "partner_capital_share",
            "threshold_percent": "20",
            "products": ["joint_lending"],
            "name_zh_hans": "单一合作方不超过一级资本净额的20%",
            "name_en": "One partner at most 20% of capital",
            "source_zh_hans": "本行风险偏好",
            "source_en": "Risk appetite",
            "valid_from": "2025-01-01",
        },
    )
    return bank, own


def _rows(body, **match):
    return [r for r in body["results"] if all(r[k] == v for k, v in match.items())]


def test_a_member_reads_the_current_utilisation_of_every_limit(limits, world, client_as):
    bank, _own = limits
    response = client_as(world.user("viewer")).get(f"{API}banks/{bank.pk}/limits/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["bank"], body["period_end"], body["as_of"]) == (
        bank.pk,
        "2025-06-30",
        timezone.localdate().isoformat(),
    )
    assert body["figures"]["tier1_net_capital"] == {
        "value": "1000.00",
        "period_end": "2025-03-31",
        "problem": None,
    }
    group = _rows(body, rule="cn_2021_partner_capital_share", subject="蚂蚁集团")[0]
    assert (group["status"], group["value_percent"], group["threshold_percent"]) == ("breach", "27", "25")
    assert (group["subject_kind"], group["partners"], group["regulatory"]) == (
        "group",
        ["ant", "mybank"],
        True,
    )
    assert group["figures"]["own_balance"] == "270.00" and group["utilisation_percent"] == "108"
    tencent = _rows(body, rule="cn_2021_partner_capital_share", subject="tencent")[0]
    assert (tencent["status"], tencent["utilisation_percent"], tencent["warning_percent"]) == (
        "warning",
        "84",
        "80",
    )
    own = _rows(body, rule="own-capital", subject="tencent")[0]
    assert (own["status"], own["regulatory"]) == ("breach", False)  # 21 % over the bank's own 20 %
    assert body["counts"]["breach"] == len(_rows(body, status="breach")) >= 3
    assert sum(body["counts"].values()) == len(body["results"])


def test_filters_by_partner_group_and_month(limits, world, client_as):
    bank, _own = limits
    client = client_as(world.user("analyst"))
    by_partner = client.get(f"{API}banks/{bank.pk}/limits/?partner=mybank").json()
    assert {r["subject"] for r in by_partner["results"]} == {"mybank", "蚂蚁集团"}
    by_group = client.get(f"{API}banks/{bank.pk}/limits/", {"group": "蚂蚁集团"}).json()
    assert {r["subject"] for r in by_group["results"]} == {"ant", "mybank", "蚂蚁集团"}
    may = client.get(f"{API}banks/{bank.pk}/limits/?period=2025-05").json()
    assert may["period_end"] == "2025-05-31" and {r["subject"] for r in may["results"]} >= {"ant"}
    empty = client.get(f"{API}banks/{bank.pk}/limits/?period=2020-01").json()
    assert (empty["period_end"], empty["results"]) == ("2020-01-31", [])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=2025-13", "period"),
        ("period=June", "period"),
        ("partner=nobody", "partner"),
        ("period=2025-6", "period"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(limits, world, client_as, query, field):
    bank, _own = limits
    response = client_as(world.user("viewer")).get(f"{API}banks/{bank.pk}/limits/?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_another_banks_limits_are_not_found_and_anonymous_callers_sign_in(limits, world, client_as):
    bank, _own = limits
    assert client_as(world.user("other")).get(f"{API}banks/{bank.pk}/limits/").status_code == 404
    assert client_as(None).get(f"{API}banks/{bank.pk}/limits/").status_code == 401
    assert client_as(world.user("superuser")).get(f"{API}banks/{bank.pk}/limits/").status_code == 200
    other = world.banks["B"]
    response = client_as(world.user("other")).get(f"{API}banks/{other.pk}/limits/")
    assert response.status_code == 200 and response.json()["period_end"] is None  # no exposure recorded


def test_the_body_reads_the_same_in_chinese(limits, world, client_as):
    bank, _own = limits
    body = client_as(world.user("viewer"), language="zh-hans").get(f"{API}banks/{bank.pk}/limits/").json()
    group = _rows(body, subject="蚂蚁集团", rule="cn_2021_partner_capital_share")[0]
    assert group["name_zh_hans"].startswith("与单一合作方（含其关联方）")


def test_limit_rules_lists_the_regulators_and_the_users_banks_own(limits, world, client_as):
    _bank, own = limits
    mine = client_as(world.user("viewer")).get(f"{API}limit-rules/").json()
    keys = {r["key"] for r in mine["results"]}
    assert keys == {
        "cn_2021_out_of_region",
        "cn_2021_partner_capital_share",
        "cn_2021_partner_funded_share",
        "cn_2021_total_loans_share",
        "own-capital",
    }
    theirs = client_as(world.user("other")).get(f"{API}limit-rules/").json()
    assert "own-capital" not in {r["key"] for r in theirs["results"]}
    assert client_as(world.user("other")).get(f"{API}limit-rules/{own.pk}/").status_code == 404
    regulatory = (
        client_as(world.user("viewer")).get(f"{API}limit-rules/?regulatory=true&kind=out_of_region").json()
    )
    [rule] = regulatory["results"]
    assert rule["regulatory"] and rule["threshold_percent"] == 0 and "city_commercial" in rule["bank_types"]
    assert client_as(world.user("viewer")).get(f"{API}limit-rules/?regulatory=maybe").status_code == 400
    assert (
        client_as(world.user("viewer")).get(f"{API}limit-rules/?bank=99999999999999999999").status_code == 400
    )


def test_limit_rules_are_read_only(limits, world, client_as):
    _bank, own = limits
    client = client_as(world.user("manager"))
    assert client.post(f"{API}limit-rules/", {}, format="json").status_code == 405
    assert client.patch(f"{API}limit-rules/{own.pk}/", {}, format="json").status_code == 405


def test_the_limits_read_takes_a_fixed_number_of_queries(
    limits, world, client_as, django_assert_max_num_queries
):
    bank, _own = limits
    client = client_as(world.user("viewer"))
    client.get(f"{API}banks/{bank.pk}/limits/")  # warm
    with django_assert_max_num_queries(9) as few:
        client.get(f"{API}banks/{bank.pk}/limits/")
    for i in range(30):
        expose(bank, partner(f"extra{i}"), balance="1", funded="0.5")
    with django_assert_max_num_queries(len(few)):
        response = client.get(f"{API}banks/{bank.pk}/limits/")
    assert len(response.json()["results"]) > 90


def test_the_schema_documents_both_routes_with_their_filters_and_errors(client):
    schema = client.get(f"{API}schema/?format=json", HTTP_ACCEPT_LANGUAGE="en").json()
    limits = schema["paths"]["/api/v1/banks/{id}/limits/"]["get"]
    assert {p["name"] for p in limits["parameters"]} >= {"id", "partner", "group", "period"}
    assert {"200", "400", "401", "403", "404", "429"} <= set(limits["responses"])
    rules = schema["paths"]["/api/v1/limit-rules/"]["get"]
    assert {p["name"] for p in rules["parameters"]} >= {"kind", "bank", "regulatory"}
