"""The partner register: partners, licences and due diligence through their services, the licence check, and the
doors (admin, API, seed file) that reach them.

Every write goes through ``partnerships.services.partners`` (reference data: superusers; due diligence: the bank's
analysts, tenancy in the service); ``partnerships.compliance`` answers which partner lacks a licence its role in an
initiative needs, in a fixed number of queries.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partnerships.compliance import credit_agency_licensed, licence_problems
from partnerships.errors import Forbidden, Invalid, NotFound
from partnerships.models import (
    InitiativePartner,
    PartnerDueDiligence,
    PartnerLicence,
    PartnerMetric,
    TechPartner,
)
from partnerships.services.initiatives import initiative_update
from partnerships.services.partners import (
    due_diligence_create,
    due_diligence_update,
    licence_create,
    licence_delete,
    licence_update,
    metric_create,
    partner_create,
    partner_update,
)
from partnerships.services.seed import PARTNERS_FILE, SeedDataError, seed_reference_data
from tests.factories import InitiativeFactory, InitiativePartnerFactory, TechPartnerFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 1, 15)
API = "/api/v1/"


@pytest.fixture(autouse=True)
def english():
    """Messages compared in English (the services speak the active language, Chinese by default)."""
    with translation.override("en"):
        yield


@pytest.fixture
def root():
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def banks(two_banks):
    return two_banks


def dd_data(bank, **overrides) -> dict:
    data = {
        "bank": bank.pk,
        "partner": "tencent",
        "answers": {"是否持有所需牌照": "是", "近三年重大处罚": False},
        "inherent_risk_tier": "medium",
        "performed_on": datetime.date(2025, 6, 1),
        "next_due": datetime.date(2026, 6, 1),
    }
    data.update(overrides)
    return data


def licence(partner, licence_type, valid_until=None, **extra) -> PartnerLicence:
    return licence_create(
        user=None,
        partner=partner,
        data={
            "licence_type": licence_type,
            "issuer": extra.pop("issuer", "演示监管机构"),
            "valid_until": valid_until,
            "source": "测试数据",
            **extra,
        },
    )


def api_client(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def admin_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def posted(response) -> dict:
    """The admin page's forms (the object's and every inline's) as the browser would post them back unchanged."""
    data: dict = {}

    def put(form, name):
        field = form.fields[name]
        value = form[name].value()
        key = form.add_prefix(name)
        if field.disabled:
            return
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif value is None:
            data[key] = ""
        elif isinstance(value, list | tuple):
            data[key] = [str(v) for v in value]
        else:
            data[key] = str(value)

    form = response.context["adminform"].form
    for name in form.fields:
        put(form, name)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = str(management[name].value())
        for row in formset.forms:
            for name in row.fields:
                put(row, name)
    return data


# --- partner services --------------------------------------------------------------------------------------
def test_only_superusers_and_the_system_write_partners(banks, root):
    _banks, users = banks
    data = {"key": "acme", "name_zh_hans": "甲科技", "name_en": "Acme", "kind": "fintech"}
    for actor in (users[("A", "manager")], users[("A", "analyst")]):
        with pytest.raises(Forbidden):
            partner_create(user=actor, data=data)
    assert not TechPartner.objects.filter(key="acme").exists()
    partner = partner_create(user=root, data={**data, "related_party_group": "甲集团"})
    assert (partner.kind, partner.related_party_group, partner.is_illustrative) == (
        "fintech",
        "甲集团",
        False,
    )
    with pytest.raises(Forbidden):
        partner_update(user=users[("A", "manager")], partner=partner, data={"kind": "cloud_it"})
    assert partner_update(user=None, partner=partner, data={"kind": "cloud_it"}).kind == "cloud_it"


def test_partner_input_is_checked_field_by_field(root):
    TechPartnerFactory(key="taken")
    with pytest.raises(Invalid) as excinfo:
        partner_create(
            user=root,
            data={"key": "taken", "name_zh_hans": "", "name_en": "X", "kind": "bank", "colour": "red"},
        )
    fields = excinfo.value.fields
    assert set(fields) == {"key", "name_zh_hans", "kind", "non_field_errors"}, fields
    assert fields["key"] == ["Another partner already has this key."]
    assert "colour" in fields["non_field_errors"][0]


def test_an_illustrative_partner_is_named_as_one(root):
    data = {"key": "demo-x", "name_zh_hans": "某担保公司", "name_en": "X (illustrative)", "kind": "guarantee"}
    with pytest.raises(Invalid) as excinfo:
        partner_create(user=root, data={**data, "is_illustrative": True})
    assert (
        list(excinfo.value.fields) == ["name_zh_hans"] and "演示" in excinfo.value.fields["name_zh_hans"][0]
    )
    assert partner_create(
        user=root, data={**data, "name_zh_hans": "演示担保公司", "is_illustrative": True}
    ).pk


def test_a_partners_key_does_not_change(root):
    partner = TechPartnerFactory(key="stays")
    with pytest.raises(Invalid) as excinfo:
        partner_update(user=root, partner=partner, data={"key": "moved"})
    assert list(excinfo.value.fields) == ["key"]
    assert TechPartner.objects.filter(key="stays").exists()


def test_licences_are_checked_and_written_by_superusers_only(banks, root):
    _banks, users = banks
    partner = TechPartnerFactory(key="guarantor", kind="guarantee")
    with pytest.raises(Invalid) as excinfo:
        licence_create(
            user=root,
            partner=partner,
            data={"licence_type": "magic", "issuer": "", "source": "", "valid_until": "not a date"},
        )
    assert set(excinfo.value.fields) == {"licence_type", "issuer", "source", "valid_until"}
    with pytest.raises(Forbidden):
        licence_create(
            user=users[("A", "manager")],
            partner=partner,
            data={"licence_type": "financing_guarantee", "issuer": "甲", "source": "乙"},
        )
    assert not PartnerLicence.objects.exists()

    held = licence(partner, "financing_guarantee", datetime.date(2027, 1, 1), number="No.1")
    with pytest.raises(Invalid) as excinfo:  # the very same licence again
        licence(partner, "financing_guarantee", datetime.date(2027, 1, 1), number="No.1")
    assert list(excinfo.value.fields) == ["licence_type"]
    renewed = licence_update(user=root, licence=held, data={"valid_until": "2030-12-31"})
    assert renewed.valid_until == datetime.date(2030, 12, 31)
    with pytest.raises(Forbidden):
        licence_delete(user=users[("A", "analyst")], licence=held)
    licence_delete(user=root, licence=held)
    assert not PartnerLicence.objects.exists()


def test_a_segment_is_part_of_another_segment_only(root):
    partner = TechPartnerFactory(key="seg")
    base = {"metric": "revenue", "period": "2024Q3", "period_end": "2024-09-30", "value": 1, "unit": "亿元"}
    for data, message in (
        ({**base, "segment": "", "part_of": "增值服务"}, "Only a segment"),
        ({**base, "segment": "游戏", "part_of": "游戏"}, "part of itself"),
    ):
        with pytest.raises(Invalid) as excinfo:
            metric_create(user=root, partner=partner, data={**data, "source": "s"})
        assert message in excinfo.value.fields["part_of"][0]
    row = metric_create(
        user=root, partner=partner, data={**base, "segment": "游戏", "part_of": "增值服务", "source": "s"}
    )
    assert row.part_of == "增值服务"


# --- due diligence -----------------------------------------------------------------------------------------
def test_an_analyst_records_due_diligence_in_their_bank(banks):
    bank_map, users = banks
    TechPartnerFactory(key="tencent")
    analyst = users[("A", "analyst")]
    record = due_diligence_create(user=analyst, data=dd_data(bank_map["A"]))
    assert (record.bank_id, record.partner.key, record.performed_by) == (bank_map["A"].pk, "tencent", analyst)
    assert record.answers == {"是否持有所需牌照": "是", "近三年重大处罚": False}
    updated = due_diligence_update(
        user=users[("A", "manager")], record=record, data={"inherent_risk_tier": "high"}
    )
    assert updated.inherent_risk_tier == "high" and updated.performed_by == analyst


def test_due_diligence_tenancy_is_the_services(banks):
    bank_map, users = banks
    TechPartnerFactory(key="tencent")
    # A viewer is told about their role; another bank's member and a bank that does not exist read alike.
    with pytest.raises(Invalid) as excinfo:
        due_diligence_create(user=users[("A", "viewer")], data=dd_data(bank_map["A"]))
    assert excinfo.value.fields == {
        "bank": ["You need the analyst role in this bank to record its due diligence."]
    }
    refusals = []
    for bank_id in (bank_map["A"].pk, 10**9):
        with pytest.raises(Invalid) as excinfo:
            due_diligence_create(
                user=users[("B", "manager")], data={**dd_data(bank_map["A"]), "bank": bank_id}
            )
        refusals.append(excinfo.value.fields)
    assert refusals[0] == refusals[1] == {"bank": ["Choose one of your banks."]}
    assert not PartnerDueDiligence.objects.exists()

    record = due_diligence_create(user=users[("A", "analyst")], data=dd_data(bank_map["A"]))
    with pytest.raises(NotFound):
        due_diligence_update(user=users[("B", "manager")], record=record, data={"inherent_risk_tier": "low"})
    with pytest.raises(Forbidden):
        due_diligence_update(user=users[("A", "viewer")], record=record, data={"inherent_risk_tier": "low"})
    with pytest.raises(Invalid) as excinfo:  # a record stays with its bank
        due_diligence_update(user=users[("A", "analyst")], record=record, data={"bank": bank_map["B"].pk})
    assert "non_field_errors" in excinfo.value.fields
    record.refresh_from_db()
    assert (record.bank_id, record.inherent_risk_tier) == (bank_map["A"].pk, "medium")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"next_due": datetime.date(2025, 6, 1)}, "next_due"),  # not after performed_on
        ({"next_due": datetime.date(2025, 1, 1)}, "next_due"),
        ({"performed_on": datetime.date(2999, 1, 1), "next_due": datetime.date(2999, 2, 1)}, "performed_on"),
        ({"answers": ["是"]}, "answers"),
        ({"answers": {"问题": ["a", "list"]}}, "answers"),
        ({"answers": {"": "空问题"}}, "answers"),
        ({"inherent_risk_tier": "extreme"}, "inherent_risk_tier"),
        ({"inherent_risk_tier": None}, "inherent_risk_tier"),
        ({"partner": "no-such-partner"}, "partner"),
        ({"performed_on": "yesterday"}, "performed_on"),
    ],
)
def test_due_diligence_input_is_checked(banks, overrides, field):
    bank_map, users = banks
    TechPartnerFactory(key="tencent")
    with pytest.raises(Invalid) as excinfo:
        due_diligence_create(user=users[("A", "analyst")], data=dd_data(bank_map["A"], **overrides))
    assert field in excinfo.value.fields, excinfo.value.fields
    assert not PartnerDueDiligence.objects.exists()


# --- the licence check -------------------------------------------------------------------------------------
@pytest.fixture
def register(banks):
    """Partners with and without the licences their services need, linked to one initiative."""
    bank_map, _users = banks
    partners = {
        "guarantor": TechPartnerFactory(key="guarantor", name_zh_hans="甲担保", kind="guarantee"),
        "lapsed": TechPartnerFactory(key="lapsed", name_zh_hans="乙担保", kind="guarantee"),
        "insurer": TechPartnerFactory(key="insurer", name_zh_hans="丙保险", kind="insurance"),
        "fintech": TechPartnerFactory(key="fintech", name_zh_hans="丁科技", kind="fintech"),
        "platform": TechPartnerFactory(key="platform", name_zh_hans="戊平台", kind="listed_platform"),
        "agency": TechPartnerFactory(key="agency", name_zh_hans="己征信", kind="credit_reporting"),
    }
    licence(partners["guarantor"], "financing_guarantee", TODAY)  # valid through today
    licence(partners["lapsed"], "financing_guarantee", datetime.date(2024, 6, 30), number="A")
    licence(partners["lapsed"], "financing_guarantee", datetime.date(2025, 6, 30), number="B")
    licence(partners["insurer"], "insurance")  # no expiry: the second of the two licences enhancement accepts
    licence(partners["agency"], "credit_reporting")
    initiative = InitiativeFactory(bank=bank_map["A"], code="cx-1")
    services = {
        "guarantor": ["credit_enhancement"],
        "lapsed": ["credit_enhancement"],
        "insurer": ["credit_enhancement"],
        "fintech": ["credit_enhancement", "lending"],
        "platform": ["credit_data"],
        "agency": ["credit_data"],
    }
    for index, (key, wanted) in enumerate(services.items()):
        InitiativePartnerFactory(
            initiative=initiative,
            partner=partners[key],
            role="lead" if index == 0 else "data",
            services=wanted,
        )
    return initiative, partners


def test_licence_problems_name_the_missing_and_the_expired(register):
    initiative, _partners = register
    plain = InitiativeFactory(bank=initiative.bank, code="cx-2")
    InitiativePartnerFactory(initiative=plain, partner=TechPartnerFactory(key="nolicence"), services=[])
    problems = licence_problems([initiative.pk, plain.pk, 10**9], as_of=TODAY)
    assert set(problems) == {initiative.pk, plain.pk, 10**9}
    assert problems[plain.pk] == [] and problems[10**9] == []
    assert problems[initiative.pk] == [
        {
            "partner": "fintech",
            "partner_name": "丁科技",
            "service": "credit_enhancement",
            "needs": ["financing_guarantee", "insurance"],
            "reason": "missing",
            "expired_on": None,
        },
        {
            "partner": "fintech",
            "partner_name": "丁科技",
            "service": "lending",
            "needs": ["consumer_finance", "microlending"],
            "reason": "missing",
            "expired_on": None,
        },
        {
            "partner": "lapsed",
            "partner_name": "乙担保",
            "service": "credit_enhancement",
            "needs": ["financing_guarantee", "insurance"],
            "reason": "expired",
            "expired_on": datetime.date(2025, 6, 30),  # the latest of its two expired licences
        },
        {
            "partner": "platform",
            "partner_name": "戊平台",
            "service": "credit_data",
            "needs": ["credit_reporting"],
            "reason": "missing",
            "expired_on": None,
        },
    ]


def test_a_licence_is_valid_through_its_last_day(register):
    initiative, _partners = register
    tomorrow = TODAY + datetime.timedelta(days=1)
    today_keys = {p["partner"] for p in licence_problems([initiative.pk], as_of=TODAY)[initiative.pk]}
    tomorrow_rows = licence_problems([initiative.pk], as_of=tomorrow)[initiative.pk]
    assert "guarantor" not in today_keys
    assert {"partner": "guarantor", "reason": "expired", "expired_on": TODAY} in [
        {k: row[k] for k in ("partner", "reason", "expired_on")} for row in tomorrow_rows
    ]


def test_licence_problems_take_a_fixed_number_of_queries(register, django_assert_max_num_queries):
    initiative, partners = register
    many = [initiative.pk]
    for i in range(25):
        other = InitiativeFactory(bank=initiative.bank, code=f"many-{i}")
        InitiativePartnerFactory(initiative=other, partner=partners["fintech"], services=["payment"])
        InitiativePartnerFactory(
            initiative=other, partner=partners["lapsed"], role="data", services=["credit_enhancement"]
        )
        many.append(other.pk)
    with django_assert_max_num_queries(2):
        few = licence_problems([initiative.pk], as_of=TODAY)
    with django_assert_max_num_queries(2):
        lots = licence_problems(many, as_of=TODAY)
    assert lots[initiative.pk] == few[initiative.pk]
    assert all(len(lots[pk]) == 2 for pk in many[1:])


def test_credit_agency_licensed_wants_an_agency_with_a_valid_licence(register, django_assert_max_num_queries):
    _initiative, partners = register
    lapsed_agency = TechPartnerFactory(key="old-agency", kind="credit_reporting")
    licence(lapsed_agency, "credit_reporting", datetime.date(2020, 1, 1))
    licence(partners["platform"], "credit_reporting")  # a licence, but not an agency
    ids = [p.pk for p in (*partners.values(), lapsed_agency)]
    with django_assert_max_num_queries(1):
        licensed = credit_agency_licensed(ids, as_of=TODAY)
    assert licensed == {partners["agency"].pk}
    assert credit_agency_licensed([], as_of=TODAY) == set()


# --- the admin ---------------------------------------------------------------------------------------------
def test_a_superuser_adds_a_licence_in_the_partner_admin(root):
    partner = TechPartnerFactory(
        key="guarantor", name_zh_hans="甲担保", name_en="Guarantor A", kind="guarantee"
    )
    client = admin_client(root)
    url = reverse("admin:partnerships_techpartner_change", args=[partner.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = posted(page)
    prefix = next(
        f.formset.prefix for f in page.context["inline_admin_formsets"] if f.formset.model is PartnerLicence
    )
    row = {"licence_type": "financing_guarantee", "issuer": "", "valid_until": "2028-12-31", "source": "测试"}
    bad = {**data, f"{prefix}-TOTAL_FORMS": "1", **{f"{prefix}-0-{k}": v for k, v in row.items()}}
    refused = client.post(url, bad)
    assert refused.status_code == 200 and not PartnerLicence.objects.exists()
    inline = next(
        f.formset for f in refused.context["inline_admin_formsets"] if f.formset.model is PartnerLicence
    )
    assert "issuer" in inline.forms[0].errors
    good = {**bad, f"{prefix}-0-issuer": "某省地方金融管理局", "related_party_group": "甲集团"}
    assert client.post(url, good).status_code == 302
    held = PartnerLicence.objects.get(partner=partner)
    assert (held.licence_type, held.valid_until) == ("financing_guarantee", datetime.date(2028, 12, 31))
    partner.refresh_from_db()
    assert partner.related_party_group == "甲集团"


def test_a_superuser_creates_a_partner_with_its_licence_in_one_page(root):
    client = admin_client(root)
    url = reverse("admin:partnerships_techpartner_add")
    page = client.get(url)
    data = posted(page)
    prefix = next(
        f.formset.prefix for f in page.context["inline_admin_formsets"] if f.formset.model is PartnerLicence
    )
    data.update(
        {
            "key": "demo-insurer",
            "name_zh_hans": "演示保险股份有限公司",
            "name_en": "Demo Insurance (illustrative)",
            "kind": "insurance",
            "is_illustrative": "on",
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-0-licence_type": "insurance",
            f"{prefix}-0-issuer": "演示监管机构",
            f"{prefix}-0-source": "演示数据",
        }
    )
    misnamed = client.post(url, {**data, "name_zh_hans": "某保险公司"})
    assert misnamed.status_code == 200 and "name_zh_hans" in misnamed.context["adminform"].form.errors
    assert not TechPartner.objects.exists()
    assert client.post(url, data).status_code == 302
    partner = TechPartner.objects.get(key="demo-insurer")
    assert partner.is_illustrative and list(partner.licences.values_list("licence_type", "valid_until")) == [
        ("insurance", None)
    ]


def test_members_read_the_partner_register_but_do_not_write_it(banks):
    _banks, users = banks
    partner = TechPartnerFactory(key="guarantor", kind="guarantee")
    licence(partner, "financing_guarantee")
    client = admin_client(users[("A", "manager")])
    url = reverse("admin:partnerships_techpartner_change", args=[partner.pk])
    page = client.get(url)
    assert page.status_code == 200 and "演示监管机构" in page.content.decode()  # the licence, read-only
    assert client.post(url, {"kind": "fintech"}).status_code == 403
    partner.refresh_from_db()
    assert partner.kind == "guarantee"


def test_due_diligence_admin_is_scoped_to_the_users_banks(banks):
    bank_map, users = banks
    TechPartnerFactory(key="tencent")
    record = due_diligence_create(user=users[("A", "analyst")], data=dd_data(bank_map["A"]))
    outsider = admin_client(users[("B", "analyst")])
    listing = outsider.get(reverse("admin:partnerships_partnerduediligence_changelist"))
    assert listing.status_code == 200 and record.pk not in {r.pk for r in listing.context["cl"].result_list}
    change = outsider.get(reverse("admin:partnerships_partnerduediligence_change", args=[record.pk]))
    assert change.status_code == 302 and change["Location"] == reverse("admin:index")
    insider = admin_client(users[("A", "viewer")])
    listing = insider.get(reverse("admin:partnerships_partnerduediligence_changelist"))
    assert record.pk in {r.pk for r in listing.context["cl"].result_list}


def test_an_analyst_records_due_diligence_in_the_admin_for_their_bank_only(banks):
    bank_map, users = banks
    tencent = TechPartnerFactory(key="tencent")
    client = admin_client(users[("A", "analyst")])
    url = reverse("admin:partnerships_partnerduediligence_add")
    form = {
        "bank": bank_map["B"].pk,
        "partner": tencent.pk,
        "inherent_risk_tier": "low",
        "performed_on": "2025-03-01",
        "next_due": "2025-02-01",
        "answers": '{"是否持牌": "是"}',
    }
    for bad, field in ((form, "bank"), ({**form, "bank": bank_map["A"].pk}, "next_due")):
        refused = client.post(url, bad)
        assert refused.status_code == 200 and not PartnerDueDiligence.objects.exists()
        assert field in refused.context["adminform"].form.errors
    assert client.post(url, {**form, "bank": bank_map["A"].pk, "next_due": "2026-03-01"}).status_code == 302
    record = PartnerDueDiligence.objects.get()
    assert (record.bank_id, record.performed_by, record.answers) == (
        bank_map["A"].pk,
        users[("A", "analyst")],
        {"是否持牌": "是"},
    )


def test_initiative_partner_rows_take_services_from_checkboxes(banks):
    bank_map, users = banks
    initiative = InitiativeFactory(bank=bank_map["A"], code="adm-1", status="pilot")
    InitiativePartnerFactory(initiative=initiative, partner=TechPartnerFactory(key="guarantor"), role="lead")
    client = admin_client(users[("A", "analyst")])
    url = reverse("admin:partnerships_initiative_change", args=[initiative.pk])
    page = client.get(url)
    data = posted(page)
    prefix = next(
        f.formset.prefix
        for f in page.context["inline_admin_formsets"]
        if f.formset.model is InitiativePartner
    )
    tampered = client.post(url, {**data, f"{prefix}-0-services": ["credit_enhancement", "bogus"]})
    assert tampered.status_code == 200
    assert InitiativePartner.objects.get(initiative=initiative).services == []
    response = client.post(url, {**data, f"{prefix}-0-services": ["lending", "credit_enhancement"]})
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert InitiativePartner.objects.get(initiative=initiative).services == ["credit_enhancement", "lending"]
    # A viewer reads the services by their labels.
    viewer_page = admin_client(users[("A", "viewer")]).get(url)
    assert "Credit enhancement (guarantee or insurance)" in viewer_page.content.decode()


# --- the API -----------------------------------------------------------------------------------------------
def test_the_api_shows_a_partners_kind_group_and_licences(banks):
    _banks, users = banks
    partner = TechPartnerFactory(key="guarantor", kind="guarantee", related_party_group="甲集团")
    licence(
        partner,
        "financing_guarantee",
        datetime.date(2028, 12, 31),
        number="No.7",
        issuer="某省地方金融管理局",
    )
    body = api_client(users[("B", "viewer")]).get(f"{API}partners/guarantor/").json()
    assert (body["kind"], body["related_party_group"], body["is_illustrative"]) == (
        "guarantee",
        "甲集团",
        False,
    )
    assert body["licences"] == [
        {
            "licence_type": "financing_guarantee",
            "number": "No.7",
            "issuer": "某省地方金融管理局",
            "valid_until": "2028-12-31",
            "source": "测试数据",
        }
    ]
    listed = api_client(users[("A", "viewer")]).get(f"{API}partners/?kind=guarantee").json()["results"]
    assert [row["key"] for row in listed] == ["guarantor"]


def test_due_diligence_api_keeps_to_the_users_banks(banks):
    bank_map, users = banks
    TechPartnerFactory(key="tencent")
    body = {**dd_data(bank_map["A"]), "performed_on": "2025-06-01", "next_due": "2026-06-01"}
    created = api_client(users[("A", "analyst")]).post(f"{API}due-diligence/", body, format="json")
    assert created.status_code == 201, created.json()
    record = created.json()
    assert (record["partner"], record["performed_by"], record["answers"]) == (
        "tencent",
        "analyst_a",
        {"是否持有所需牌照": "是", "近三年重大处罚": False},
    )
    outsider = api_client(users[("B", "analyst")])
    assert outsider.get(f"{API}due-diligence/{record['id']}/").status_code == 404
    assert outsider.get(f"{API}due-diligence/").json()["results"] == []
    refused = outsider.post(f"{API}due-diligence/", body, format="json")
    assert refused.status_code == 400 and set(refused.json()["error"]["fields"]) == {"bank"}
    late = api_client(users[("A", "analyst")]).patch(
        f"{API}due-diligence/{record['id']}/", {"next_due": "2025-01-01"}, format="json"
    )
    assert late.status_code == 400 and set(late.json()["error"]["fields"]) == {"next_due"}
    assert (
        api_client(users[("A", "viewer")]).get(f"{API}due-diligence/").json()["results"][0]["id"]
        == record["id"]
    )


def test_initiative_partner_links_take_and_show_services(banks):
    bank_map, users = banks
    TechPartnerFactory(key="guarantor")
    initiative = InitiativeFactory(bank=bank_map["A"], code="api-1")
    client = api_client(users[("A", "analyst")])
    url = f"{API}initiatives/{initiative.pk}/"
    bad = client.patch(url, {"partners": [{"partner": "guarantor", "services": ["bogus"]}]}, format="json")
    assert bad.status_code == 400
    assert list(bad.json()["error"]["fields"]) == ["partners[0].services"]
    assert "bogus" in bad.json()["error"]["fields"]["partners[0].services"][0]
    ok = client.patch(
        url,
        {
            "partners": [
                {"partner": "guarantor", "role": "lead", "services": ["payment", "credit_enhancement"]}
            ]
        },
        format="json",
    )
    assert ok.status_code == 200, ok.json()
    assert ok.json()["partners"][0]["services"] == ["credit_enhancement", "payment"]
    # A row that leaves its services out keeps them (a recorded licensed service is never dropped by omission).
    kept = client.patch(
        url, {"partners": [{"partner": "guarantor", "role": "lead", "note": "改"}]}, format="json"
    )
    assert kept.json()["partners"][0]["services"] == ["credit_enhancement", "payment"]
    listed = client.get(f"{API}initiatives/?bank={bank_map['A'].pk}").json()["results"]
    assert listed[0]["partners"][0]["services"] == ["credit_enhancement", "payment"]


def test_the_initiative_service_validates_services_for_every_door(banks):
    bank_map, _users = banks
    TechPartnerFactory(key="guarantor")
    initiative = InitiativeFactory(bank=bank_map["A"], code="svc-1")
    with pytest.raises(Invalid) as excinfo:
        initiative_update(
            user=None,
            initiative=initiative,
            data={"partners": [{"partner": "guarantor", "services": "lending"}]},
        )
    assert list(excinfo.value.fields) == ["partners[0].services"]


# --- the fixture -------------------------------------------------------------------------------------------
def _snapshot() -> dict:
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_app_config("partnerships").get_models(include_auto_created=True)
    }


def test_the_partner_file_loads_the_register_and_a_reload_changes_nothing(taxonomy):
    first = seed_reference_data()
    assert first.changed
    partners = {p.key: p for p in TechPartner.objects.all()}
    assert sum(p.kind == "listed_platform" for p in partners.values()) == 12
    assert {k for k, p in partners.items() if p.kind == "credit_reporting"} == {
        "baihang-credit",
        "pudao-credit",
        "qiantang-credit",
    }
    demo = {k for k, p in partners.items() if p.is_illustrative}
    assert demo == {"demo-guarantor", "demo-guarantor-expired", "demo-fintech", "demo-cloud"}
    assert all(
        partners[k].name_zh_hans.startswith("演示") and "(illustrative)" in partners[k].name_en for k in demo
    )
    assert (
        partners["demo-guarantor"].related_party_group == partners["demo-fintech"].related_party_group != ""
    )
    # Segments inside another are marked; the figures themselves are the report's, unchanged.
    games = PartnerMetric.objects.filter(partner__key="tencent", segment__in=["本土市场游戏", "国际市场游戏"])
    assert games.count() == 4 and set(games.values_list("part_of", flat=True)) == {"增值服务"}
    assert set(
        PartnerMetric.objects.filter(partner__key="alibaba")
        .exclude(part_of="")
        .values_list("segment", "part_of")
        .distinct()
    ) == {("客户管理收入", "淘天集团"), ("直营及其他", "淘天集团"), ("中国批发商业（1688）", "淘天集团")}
    assert (
        not PartnerMetric.objects.filter(partner__key="tencent", segment="增值服务")
        .exclude(part_of="")
        .exists()
    )
    assert (
        PartnerMetric.objects.get(partner__key="tencent", metric="revenue", segment="本土市场游戏").value
        == 373
    )
    # Real agencies: a PBOC licence with its public source, no invented number or expiry.
    agencies = PartnerLicence.objects.filter(partner__kind="credit_reporting")
    assert agencies.count() == 3
    assert all(
        (lic.licence_type, lic.issuer, lic.number, lic.valid_until)
        == ("credit_reporting", "中国人民银行", "", None)
        and "新华社" in lic.source
        for lic in agencies
    )
    assert not PartnerLicence.objects.filter(partner__kind="listed_platform").exists()
    expiry = dict(
        PartnerLicence.objects.filter(partner__is_illustrative=True).values_list(
            "partner__key", "valid_until"
        )
    )
    assert expiry == {
        "demo-guarantor": datetime.date(2029, 12, 31),
        "demo-guarantor-expired": datetime.date(2024, 6, 30),
    }
    licensed = credit_agency_licensed([p.pk for p in partners.values()], as_of=TODAY)
    assert licensed == {partners[k].pk for k in ("baihang-credit", "pudao-credit", "qiantang-credit")}

    before = _snapshot()
    second = seed_reference_data()
    assert not second.changed
    assert _snapshot() == before


def test_the_licence_check_on_the_demo_partners(taxonomy, banks):
    bank_map, _users = banks
    seed_reference_data()
    initiative = InitiativeFactory(bank=bank_map["A"], code="demo-1")
    for key, role in (
        ("demo-guarantor", "lead"),
        ("demo-guarantor-expired", "data"),
        ("demo-fintech", "data"),
    ):
        InitiativePartnerFactory(
            initiative=initiative,
            partner=TechPartner.objects.get(key=key),
            role=role,
            services=["credit_enhancement"],
        )
    rows = licence_problems([initiative.pk], as_of=TODAY)[initiative.pk]
    assert [(r["partner"], r["reason"], r["expired_on"]) for r in rows] == [
        ("demo-fintech", "missing", None),
        ("demo-guarantor-expired", "expired", datetime.date(2024, 6, 30)),
    ]


def test_a_bad_partner_file_names_file_entry_and_field_and_writes_nothing(tmp_path, taxonomy):
    text = PARTNERS_FILE.read_text(encoding="utf-8")
    replacements = [
        (
            'segment: 本土市场游戏, part_of: 增值服务, period: "2024Q3"',
            'segment: 本土市场游戏, part_of: 增值业务, period: "2024Q3"',
        ),
        ("name: {zh-hans: 演示云计算有限公司,", "name: {zh-hans: 云计算有限公司,"),
        (
            "        issuer: 演示省地方金融管理局（虚构）\n        valid_until: 2029-12-31\n",
            "        valid_until: 2029-12-31\n",
        ),
        ("    kind: credit_reporting\n", "    kind: credit_bureau\n"),
    ]
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    broken = tmp_path / "partners.yaml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(SeedDataError) as excinfo:
        seed_reference_data(partners_path=broken)
    found = {
        (Path(i.file).name, i.entry.split(" ")[0] + " " + i.entry.split(" ")[1], i.field)
        for i in excinfo.value.issues
    }
    assert found == {
        ("partners.yaml", "partners[0] (tencent)", "part_of"),
        ("partners.yaml", "partners[18] (demo-cloud)", "name.zh-hans"),
        ("partners.yaml", "partners[15] (demo-guarantor)", "issuer"),
        ("partners.yaml", "partners[12] (baihang-credit)", "kind"),
    }, excinfo.value.issues
    assert not TechPartner.objects.exists() and not PartnerLicence.objects.exists()
