"""The exposure register's admin pages: lists scoped to the reader's banks with money formatted, filters, forms that
write through the services, and the bank's lending profile changed by its managers."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from partnerships.models import Bank, BankPeriodFigures, PartnerExposure
from partnerships.services.exposure import bank_figures_create, exposure_create
from tests.factories import TechPartnerFactory

pytestmark = pytest.mark.django_db


def admin(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.fixture
def world(two_banks):
    banks, users = two_banks
    tencent = TechPartnerFactory(key="tencent", name_zh_hans="腾讯", name_en="Tencent")
    fintech = TechPartnerFactory(key="demo-fintech", name_zh_hans="演示金融科技", name_en="Demo Fintech")
    analyst = users[("A", "analyst")]
    rows = {
        "a-june": exposure_create(
            user=analyst,
            data={
                "bank": banks["A"].pk,
                "partner": "tencent",
                "period_end": "2025-06-30",
                "balance": "1234567.5",
                "partner_funded_balance": "432098.63",
            },
        ),
        "a-may": exposure_create(
            user=analyst,
            data={
                "bank": banks["A"].pk,
                "partner": "demo-fintech",
                "period_end": "2025-05-31",
                "product": "facilitation",
                "balance": "80",
            },
        ),
        "b-june": exposure_create(
            user=users[("B", "analyst")],
            data={"bank": banks["B"].pk, "partner": "tencent", "period_end": "2025-06-30", "balance": "9"},
        ),
    }
    return banks, users, rows, {"tencent": tencent, "fintech": fintech}


def listed(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def test_the_list_shows_the_readers_banks_with_money_formatted(world):
    _banks, users, rows, _partners = world
    response = admin(users[("A", "viewer")]).get(reverse("admin:partnerships_partnerexposure_changelist"))
    assert response.status_code == 200
    assert listed(response) == {rows["a-june"].pk, rows["a-may"].pk}
    page = response.content.decode()
    assert "1,234,567.5" in page and "432,098.63" in page
    assert "35%" in page  # the partner-funded share of the balance
    chinese = admin(users[("A", "viewer")], "zh-hans").get(
        reverse("admin:partnerships_partnerexposure_changelist")
    )
    assert "余额（万元）" in chinese.content.decode() and "助贷" in chinese.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("product__exact=facilitation", {"a-may"}),
        ("period=2025-06-30", {"a-june"}),
        ("period=not-a-date", set()),
    ],
)
def test_the_filters_narrow_the_list(world, query, expected):
    _banks, users, rows, _partners = world
    url = reverse("admin:partnerships_partnerexposure_changelist")
    response = admin(users[("A", "analyst")]).get(f"{url}?{query}")
    assert response.status_code == 200
    assert listed(response) == {rows[name].pk for name in expected}


def test_the_bank_and_partner_filters(world):
    banks, users, rows, partners = world
    url = reverse("admin:partnerships_partnerexposure_changelist")
    client = admin(users[("A", "analyst")])
    assert listed(client.get(f"{url}?bank__id__exact={banks['A'].pk}")) == {
        rows["a-june"].pk,
        rows["a-may"].pk,
    }
    assert listed(client.get(f"{url}?partner__id__exact={partners['tencent'].pk}")) == {rows["a-june"].pk}
    page = client.get(url).content.decode()
    assert "Bank B" not in page  # the bank filter offers only the reader's banks


def test_another_banks_record_is_not_found_and_viewers_do_not_write(world):
    _banks, users, rows, _partners = world
    change = reverse("admin:partnerships_partnerexposure_change", args=[rows["a-june"].pk])
    other = admin(users[("B", "manager")]).get(change)
    assert other.status_code == 302 and other["Location"] == reverse("admin:index")
    viewer = admin(users[("A", "viewer")])
    assert viewer.get(reverse("admin:partnerships_partnerexposure_add")).status_code == 403
    assert viewer.post(change, {"balance": "1"}).status_code == 403
    assert PartnerExposure.objects.get(pk=rows["a-june"].pk).balance == rows["a-june"].balance


def test_the_add_form_writes_through_the_service_and_records_the_author(world):
    banks, users, _rows, partners = world
    analyst = users[("A", "analyst")]
    response = admin(analyst).post(
        reverse("admin:partnerships_partnerexposure_add"),
        {
            "bank": banks["A"].pk,
            "partner": partners["fintech"].pk,
            "period_end": "2025-06-30",
            "product": "joint_lending",
            "balance": "500",
            "partner_funded_balance": "150",
            "lowest_partner_share_percent": "30",
            "customers": "20",
            "new_loans": "",
            "out_of_region_balance": "",
            "source": "月报",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    saved = PartnerExposure.objects.get(partner=partners["fintech"], period_end=datetime.date(2025, 6, 30))
    assert saved.history.latest().history_user == analyst
    # The change page keeps the bank; a change goes through the service's checks again.
    change = reverse("admin:partnerships_partnerexposure_change", args=[saved.pk])
    refused = admin(analyst).post(
        change,
        {
            "partner": partners["fintech"].pk,
            "period_end": "2025-06-30",
            "product": "joint_lending",
            "balance": "100",
            "partner_funded_balance": "150",
            "source": "",
        },
    )
    assert refused.status_code == 200
    assert "partner_funded_balance" in refused.context["adminform"].form.errors
    assert PartnerExposure.objects.get(pk=saved.pk).balance == 500


def test_delete_goes_through_the_service(world):
    _banks, users, rows, _partners = world
    url = reverse("admin:partnerships_partnerexposure_delete", args=[rows["a-may"].pk])
    response = admin(users[("A", "analyst")]).post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not PartnerExposure.objects.filter(pk=rows["a-may"].pk).exists()
    assert (
        PartnerExposure.history.filter(id=rows["a-may"].pk, history_type="-").get().history_user
        == users[("A", "analyst")]
    )


def test_bank_figures_pages(world):
    banks, users, _rows, _partners = world
    figures = bank_figures_create(
        user=users[("A", "analyst")],
        data={"bank": banks["A"].pk, "period_end": "2025-06-30", "tier1_net_capital": "2040000"},
    )
    page = admin(users[("A", "viewer")]).get(reverse("admin:partnerships_bankperiodfigures_changelist"))
    assert "2,040,000" in page.content.decode()
    other = admin(users[("B", "manager")]).get(reverse("admin:partnerships_bankperiodfigures_changelist"))
    assert figures.pk not in listed(other)
    response = admin(users[("A", "analyst")]).post(
        reverse("admin:partnerships_bankperiodfigures_add"),
        {
            "bank": banks["A"].pk,
            "period_end": "2025-09-30",
            "tier1_net_capital": "",
            "total_loans": "",
            "source": "",
        },
    )
    assert response.status_code == 200
    assert "Give the tier-1 net capital, the total loans or both." in str(
        response.context["adminform"].form.errors
    )
    assert BankPeriodFigures.objects.count() == 1


# --- the bank's lending profile --------------------------------------------------------------------------------
def _profile_form(**values) -> dict:
    return {"bank_type": "", "home_region": "", "limit_warning_percent": "80", **values}


def test_a_manager_changes_the_profile_and_nothing_else(world):
    banks, users, _rows, _partners = world
    manager = users[("A", "manager")]
    url = reverse("admin:partnerships_bank_change", args=[banks["A"].pk])
    page = admin(manager).get(url)
    assert set(page.context["adminform"].form.fields) == {"bank_type", "home_region", "limit_warning_percent"}
    response = admin(manager).post(
        url,
        _profile_form(
            bank_type="city_commercial", home_region="32", limit_warning_percent="75", code="hijack"
        ),
    )
    assert response.status_code == 302
    bank = Bank.objects.get(pk=banks["A"].pk)
    assert (bank.bank_type, bank.home_region, bank.limit_warning_percent, bank.code) == (
        "city_commercial",
        "32",
        75,
        "bank-a",
    )
    assert bank.history.latest().history_user == manager


def test_analysts_and_other_banks_cannot_change_the_profile_nor_managers_add_banks(world):
    banks, users, _rows, _partners = world
    url = reverse("admin:partnerships_bank_change", args=[banks["A"].pk])
    assert admin(users[("A", "analyst")]).post(url, _profile_form(bank_type="joint_stock")).status_code == 403
    other = admin(users[("B", "manager")]).post(url, _profile_form(bank_type="joint_stock"))
    assert other.status_code == 302 and other["Location"] == reverse("admin:index")
    manager = admin(users[("A", "manager")])
    assert manager.get(reverse("admin:partnerships_bank_add")).status_code == 403
    assert (
        manager.post(
            reverse("admin:partnerships_bank_delete", args=[banks["A"].pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert Bank.objects.get(pk=banks["A"].pk).bank_type == ""


def test_a_superuser_edits_every_field_and_a_clashing_code_is_a_form_error(world):
    from tests.factories import UserFactory

    banks, _users, _rows, _partners = world
    root = UserFactory(username="root", is_superuser=True)
    url = reverse("admin:partnerships_bank_change", args=[banks["A"].pk])
    form = {
        "code": "bank-b",
        "name_zh_hans": "甲银行",
        "name_en": "Bank A",
        "is_illustrative": "",
        **_profile_form(bank_type="joint_stock"),
    }
    clash = admin(root).post(url, form)
    assert clash.status_code == 200 and "code" in clash.context["adminform"].form.errors
    done = admin(root).post(url, {**form, "code": "bank-a2", "name_en": "Bank A (renamed)"})
    assert done.status_code == 302
    bank = Bank.objects.get(pk=banks["A"].pk)
    assert (bank.code, bank.name_en, bank.bank_type) == ("bank-a2", "Bank A (renamed)", "joint_stock")
    created = admin(root).post(
        reverse("admin:partnerships_bank_add"),
        {
            "code": "bank-c",
            "name_zh_hans": "丙银行",
            "name_en": "Bank C",
            **_profile_form(bank_type="village", home_region="51"),
        },
    )
    assert created.status_code == 302
    assert Bank.objects.get(code="bank-c").home_region == "51"


def test_a_banks_delete_page_names_its_exposures_in_a_query_per_kind(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import UserFactory

    banks, _users, _rows, _partners = world
    for month in ("2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30"):
        exposure_create(
            user=None, data={"bank": banks["A"].pk, "partner": "tencent", "period_end": month, "balance": "1"}
        )
    client = admin(UserFactory(username="root", is_superuser=True))
    url = reverse("admin:partnerships_bank_delete", args=[banks["A"].pk])
    with CaptureQueriesContext(connection) as few:
        page = client.get(url)
    assert page.status_code == 200
    assert "Tencent · 2025-06" in page.content.decode()
    partner_reads = [q for q in few.captured_queries if 'FROM "partnerships_techpartner"' in q["sql"]]
    assert len(partner_reads) <= 1, len(partner_reads)
