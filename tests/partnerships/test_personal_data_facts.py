"""Personal data as facts (issue 12): one service decides, the API, the admin and the import only ask it.

Each rule is tried through the API and the admin form and refused alike, by field, writing nothing; the categories
are a set that a write replaces whole (rows kept, changed, added and removed, each in the history); version 1's
fields stay read-only in the admin; the import carries the scalar facts through the same service; migration 0005
carries version 1's facts forward.
"""

from __future__ import annotations

import datetime
import importlib

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partnerships.models import Initiative, InitiativeDataCategory
from partnerships.services.initiatives import initiative_update
from tests.factories import InitiativeFactory, KPIFactory, TechPartnerFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/initiatives/"


@pytest.fixture
def world(two_banks):
    banks, users = two_banks
    agency = TechPartnerFactory(
        key="demo_credit_agency", name_zh_hans="演示征信", name_en="Demo Credit", kind="credit_reporting"
    )
    platform = TechPartnerFactory(key="tencent", name_zh_hans="腾讯", name_en="Tencent")
    initiative = InitiativeFactory(
        bank=banks["A"], code="ds-1", title="消费信贷数据共享", pillar_id="data_sharing", status="pilot"
    )
    return {
        "banks": banks,
        "analyst": users[("A", "analyst")],
        "agency": agency,
        "platform": platform,
        "initiative": initiative,
    }


def api(user, language: str = "en") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    token, _created = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _api_errors(response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content[:500]
    return response.json()["error"]["fields"]


def _inline(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{k}": v for k, v in row.items()})
    return data


def admin_form(initiative: Initiative, categories: list[dict] | None = None, **facts) -> dict:
    """The change form as the admin posts it: the initiative's own fields, the facts, the category rows."""
    existing = list(initiative.data_categories.order_by("category"))
    rows = [
        {
            "id": str(c.pk),
            "initiative": str(initiative.pk),
            "category": c.category,
            "lawful_basis": c.lawful_basis,
            "separate_consent": "on" if c.separate_consent else "",
        }
        for c in existing
    ]
    if categories is not None:  # replace what the page shows: existing rows deleted, the given ones added
        rows = [{**r, "DELETE": "on"} for r in rows] + [
            {
                "category": c["category"],
                "lawful_basis": c.get("lawful_basis", ""),
                "separate_consent": "on" if c.get("separate_consent") else "",
            }
            for c in categories
        ]
    data = {
        "bank": str(initiative.bank_id),
        "code": initiative.code,
        "title": initiative.title,
        "description": initiative.description,
        "status": initiative.status,
        "owner": "",
        "pillar": initiative.pillar_id,
        "start_date": "",
        "end_date": "",
        "transfer_mechanism": initiative.transfer_mechanism,
        "cross_border_destination": initiative.cross_border_destination,
        "impact_assessment_on": "",
        **_inline("partner_links", []),
        **_inline("data_categories", rows, initial=len(existing)),
        **_inline("kpis", []),
        **_inline("evidence", []),
    }
    for name in ("provided_to_partner", "cross_border_transfer", "credit_use"):  # null booleans: a select
        value = getattr(initiative, name)
        data[name] = "unknown" if value is None else ("true" if value else "false")
    for name in ("no_personal_data", "provision_separate_consent", "cross_border_separate_consent"):
        if getattr(initiative, name):
            data[name] = "on"
    for name, value in facts.items():
        if isinstance(value, bool) and name in ("provided_to_partner", "cross_border_transfer", "credit_use"):
            data[name] = "true" if value else "false"
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
            else:
                data.pop(name, None)
        else:
            data[name] = value
    return data


def _admin_post(client, initiative, data):
    return client.post(
        reverse("admin:partnerships_initiative_change", args=[initiative.pk]), data, HTTP_ACCEPT_LANGUAGE="en"
    )


def _admin_errors(response) -> list[str]:
    assert response.status_code == 200, "the admin accepted the form"
    form = response.context["adminform"].form
    texts = [f"{name}: {m}" for name, ms in form.errors.items() for m in ms]
    for formset in response.context["inline_admin_formsets"]:
        texts += [str(e) for e in formset.formset.non_form_errors()]
        texts += [f"{n}: {m}" for f in formset.formset.forms for n, ms in f.errors.items() for m in ms]
    return texts


def _snapshot(initiative: Initiative) -> tuple:
    row = Initiative.objects.get(pk=initiative.pk)
    return (
        row.updated_at,
        row.no_personal_data,
        row.provided_to_partner,
        row.cross_border_transfer,
        row.cross_border_destination,
        row.credit_use,
        row.credit_route_agency_id,
        row.impact_assessment_on,
        sorted(row.data_categories.values_list("category", "lawful_basis", "separate_consent")),
    )


# --- the API reads and writes the facts ---------------------------------------------------------------------
def test_the_api_records_the_facts_and_reads_them_back(world):
    assessed = timezone.localdate() - datetime.timedelta(days=30)
    payload = {
        "bank": world["banks"]["A"].pk,
        "title": "授信数据合作",
        "pillar": "data_sharing",
        "data_categories": [
            {"category": "credit", "lawful_basis": "separate_consent", "separate_consent": True},
            {"category": "contact", "lawful_basis": "contract"},
        ],
        "provided_to_partner": True,
        "provision_separate_consent": True,
        "cross_border_transfer": False,
        "credit_use": True,
        "credit_route_agency": "demo_credit_agency",
        "impact_assessment_on": assessed.isoformat(),
        "processing_agreement": True,
    }
    created = api(world["analyst"]).post(API, payload, format="json")
    assert created.status_code == 201, created.content[:500]
    initiative = Initiative.objects.get(pk=created.json()["id"])
    assert initiative.credit_route_agency == world["agency"] and initiative.credit_use is True
    assert sorted(initiative.data_categories.values_list("category", "lawful_basis", "separate_consent")) == [
        ("contact", "contract", False),
        ("credit", "separate_consent", True),
    ]
    detail = api(world["analyst"], "zh-hans").get(f"{API}{initiative.pk}/").json()
    assert detail["credit_route_agency"] == "demo_credit_agency"
    assert detail["no_personal_data"] is False and detail["cross_border_transfer"] is False
    assert detail["impact_assessment_on"] == assessed.isoformat()
    assert detail["data_categories"] == [
        {
            "category": "contact",
            "category_name": "联系方式信息",
            "lawful_basis": "contract",
            "separate_consent": False,
        },
        {
            "category": "credit",
            "category_name": "信用信息",
            "lawful_basis": "separate_consent",
            "separate_consent": True,
        },
    ]
    listed = api(world["analyst"]).get(API, {"search": "授信数据合作"}).json()["results"]
    assert listed[0]["data_categories"][1]["category_name"] == "Credit data"
    # the write's answer (the serializer) and the reads (the reader) agree, field for field
    written = {k: v for k, v in created.json().items() if k != "warnings"}  # a write may add warnings
    assert written == api(world["analyst"]).get(f"{API}{initiative.pk}/").json()


def test_a_fact_left_out_is_not_recorded_never_no(world):
    created = api(world["analyst"]).post(
        API, {"bank": world["banks"]["A"].pk, "title": "空白", "pillar": "data_sharing"}, format="json"
    )
    body = created.json()
    assert (body["provided_to_partner"], body["cross_border_transfer"], body["credit_use"]) == (
        None,
        None,
        None,
    )
    assert body["data_categories"] == [] and body["credit_route_agency"] is None


# --- categories: a set, replaced whole -----------------------------------------------------------------------
def test_categories_replace_the_set_row_by_row(world):
    initiative, client = world["initiative"], api(world["analyst"])
    url = f"{API}{initiative.pk}/"
    first = client.patch(
        url,
        {
            "data_categories": [
                {"category": "identity", "lawful_basis": "contract"},
                {"category": "credit", "lawful_basis": "contract", "separate_consent": False},
            ]
        },
        format="json",
    )
    assert first.status_code == 200, first.content[:300]
    kept = InitiativeDataCategory.objects.get(initiative=initiative, category="credit")
    second = client.patch(
        url,
        {
            "data_categories": [
                {"category": "credit", "lawful_basis": "separate_consent", "separate_consent": True},
                {"category": "location", "lawful_basis": "legal_duty", "separate_consent": False},
            ]
        },
        format="json",
    )
    assert second.status_code == 200
    rows = {c.category: c for c in InitiativeDataCategory.objects.filter(initiative=initiative)}
    assert set(rows) == {"credit", "location"}  # identity removed, location added
    assert (
        rows["credit"].pk == kept.pk and rows["credit"].lawful_basis == "separate_consent"
    )  # changed in place
    history = InitiativeDataCategory.history.filter(initiative_id=initiative.pk)
    assert sorted(history.values_list("category", "history_type")) == [
        ("credit", "+"),
        ("credit", "~"),
        ("identity", "+"),
        ("identity", "-"),
        ("location", "+"),
    ]
    assert {h.history_user for h in history} == {world["analyst"]}
    # Left out: the set stays; an empty list: the set is emptied.
    assert client.patch(url, {"title": "改名"}, format="json").status_code == 200
    assert initiative.data_categories.count() == 2
    assert client.patch(url, {"data_categories": []}, format="json").status_code == 200
    assert not initiative.data_categories.exists()


def test_a_refused_category_set_writes_nothing(world):
    initiative, client = world["initiative"], api(world["analyst"])
    url = f"{API}{initiative.pk}/"
    client.patch(
        url, {"data_categories": [{"category": "contact", "lawful_basis": "contract"}]}, format="json"
    )
    before = _snapshot(initiative)
    refused = client.patch(
        url,
        {
            "title": "不该保存",
            "data_categories": [
                {"category": "identity", "lawful_basis": "contract"},
                {"category": "identity", "lawful_basis": "legal_duty"},
            ],
        },
        format="json",
    )
    assert "data_categories[1].category" in _api_errors(refused)
    assert _snapshot(initiative) == before and Initiative.objects.get(pk=initiative.pk).title != "不该保存"


# --- every rule, refused alike by the API and the admin -----------------------------------------------------
RULES = [
    # (name, facts as the API sends them, categories, field named, words of the refusal)
    (
        "no personal data with categories",
        {"no_personal_data": True},
        [{"category": "contact", "lawful_basis": "contract"}],
        "no_personal_data",
        "Personal-data categories are recorded",
    ),
    (
        "no personal data yet provided to the partner",
        {"no_personal_data": True, "provided_to_partner": True},
        [],
        "provided_to_partner",
        "cannot be provided to the partner when none is shared",
    ),
    (
        "no personal data yet credit use",
        {"no_personal_data": True, "credit_use": True},
        [],
        "credit_use",
        "personal data about borrowers",
    ),
    (
        "destination without a cross-border transfer",
        {"cross_border_transfer": False, "cross_border_destination": "新加坡"},
        None,
        "cross_border_destination",
        "A destination applies only to a cross-border transfer",
    ),
    (
        "mechanism without a cross-border transfer",
        {"transfer_mechanism": "standard_contract"},
        None,
        "transfer_mechanism",
        "A transfer mechanism applies only to a cross-border transfer",
    ),
    (
        "cross-border consent without the transfer",
        {"cross_border_separate_consent": True},
        None,
        "cross_border_separate_consent",
        "needs the transfer recorded",
    ),
    (
        "a domestic destination",
        {"cross_border_transfer": True, "cross_border_destination": "中国大陆"},
        None,
        "cross_border_destination",
        "outside mainland China",
    ),
    (
        "provision consent without the provision",
        {"provided_to_partner": False, "provision_separate_consent": True},
        None,
        "provision_separate_consent",
        "needs the provision to the partner recorded",
    ),
    (
        "an agency without credit use",
        {"credit_use": False, "credit_route_agency": "demo_credit_agency"},
        None,
        "credit_route_agency",
        "applies only when credit-related data is used for credit decisions",
    ),
    (
        "an impact assessment dated tomorrow",
        {"impact_assessment_on": "tomorrow"},
        None,
        "impact_assessment_on",
        "cannot be dated in the future",
    ),
    (
        "separate consent as the basis, not given",
        {},
        [{"category": "biometric", "lawful_basis": "separate_consent", "separate_consent": False}],
        "data_categories[0].separate_consent",
        "separate consent must be recorded as given",
    ),
    (
        "a category twice",
        {},
        [
            {"category": "location", "lawful_basis": "contract"},
            {"category": "location", "lawful_basis": "legal_duty"},
        ],
        "data_categories[1].category",
        "Each category is listed once",
    ),
]


def _resolve(facts: dict) -> dict:
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    return {k: (tomorrow if v == "tomorrow" else v) for k, v in facts.items()}


@pytest.mark.parametrize(
    ("facts", "categories", "field", "words"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_each_rule_is_refused_alike_by_the_api_and_the_admin(
    world, client_for, facts, categories, field, words
):
    initiative = world["initiative"]
    before = _snapshot(initiative)
    facts = _resolve(facts)
    payload = dict(facts)
    if categories is not None:
        payload["data_categories"] = categories
    errors = _api_errors(api(world["analyst"]).patch(f"{API}{initiative.pk}/", payload, format="json"))
    assert field in errors and any(words in m for m in errors[field]), errors

    admin_facts = {k: v for k, v in facts.items() if k != "credit_route_agency"}
    if "credit_route_agency" in facts:
        admin_facts["credit_route_agency"] = str(world["agency"].pk)
    response = _admin_post(
        client_for(world["analyst"]), initiative, admin_form(initiative, categories, **admin_facts)
    )
    texts = _admin_errors(response)
    assert any(words in t for t in texts), texts
    assert _snapshot(initiative) == before


def test_the_agency_must_be_a_credit_reporting_agency(world, client_for):
    initiative = world["initiative"]
    before = _snapshot(initiative)
    payload = {"credit_use": True, "credit_route_agency": "tencent"}
    errors = _api_errors(api(world["analyst"]).patch(f"{API}{initiative.pk}/", payload, format="json"))
    assert any(
        "腾讯" not in m and "is not a credit-reporting agency" in m for m in errors["credit_route_agency"]
    )
    unknown = _api_errors(
        api(world["analyst"]).patch(
            f"{API}{initiative.pk}/", {"credit_use": True, "credit_route_agency": "nobody"}, format="json"
        )
    )
    assert "credit_route_agency" in unknown
    # The admin offers only credit-reporting agencies; another partner posted is refused in the same terms.
    client = client_for(world["analyst"])
    page = client.get(reverse("admin:partnerships_initiative_change", args=[initiative.pk]))
    field = page.context["adminform"].form.fields["credit_route_agency"]
    assert list(field.queryset) == [world["agency"]]
    texts = _admin_errors(
        _admin_post(
            client,
            initiative,
            admin_form(initiative, credit_use=True, credit_route_agency=str(world["platform"].pk)),
        )
    )
    assert any("credit_route_agency" in t and "断直连" in t for t in texts), texts
    assert _snapshot(initiative) == before


def test_the_service_refuses_what_a_direct_caller_sends_badly(world):
    initiative = world["initiative"]
    with pytest.raises(Exception) as refused:
        initiative_update(
            user=world["analyst"],
            initiative=initiative,
            data={
                "data_categories": [
                    {"category": "dna", "lawful_basis": "whim", "separate_consent": "yes", "extra": 1},
                    "identity",
                ]
            },
        )
    assert set(refused.value.fields) == {"data_categories"}
    with pytest.raises(Exception) as refused:
        initiative_update(
            user=world["analyst"],
            initiative=initiative,
            data={
                "data_categories": [{"category": "dna", "lawful_basis": "whim", "separate_consent": "yes"}]
            },
        )
    assert set(refused.value.fields) == {
        "data_categories[0].category",
        "data_categories[0].lawful_basis",
        "data_categories[0].separate_consent",
    }
    assert not initiative.data_categories.exists()


# --- the admin door ------------------------------------------------------------------------------------------
def test_the_admin_saves_facts_and_categories_through_the_service(world, client_for):
    initiative, client = world["initiative"], client_for(world["analyst"])
    response = _admin_post(
        client,
        initiative,
        admin_form(
            initiative,
            [
                {"category": "credit", "lawful_basis": "separate_consent", "separate_consent": True},
                {"category": "contact", "lawful_basis": "contract"},
            ],
            provided_to_partner=True,
            provision_separate_consent=True,
            cross_border_transfer=True,
            cross_border_destination="新加坡",
            transfer_mechanism="standard_contract",
            cross_border_separate_consent=True,
            credit_use=True,
            credit_route_agency=str(world["agency"].pk),
            impact_assessment_on="2026-01-15",
            processing_agreement=True,
        ),
    )
    assert response.status_code == 302, _admin_errors(response)
    initiative.refresh_from_db()
    assert (initiative.cross_border_destination, initiative.credit_route_agency) == (
        "新加坡",
        world["agency"],
    )
    assert initiative.impact_assessment_on == datetime.date(2026, 1, 15) and initiative.processing_agreement
    assert sorted(initiative.data_categories.values_list("category", flat=True)) == ["contact", "credit"]
    assert initiative.history.latest().history_user == world["analyst"]
    # The page posts its rows again: the unchanged set stays; one row deleted: the set loses it.
    form = admin_form(initiative)
    assert _admin_post(client, initiative, form).status_code == 302
    assert initiative.data_categories.count() == 2
    form = admin_form(initiative)
    contact = next(k for k, v in form.items() if v == "contact").rsplit("-", 1)[0]
    form[f"{contact}-DELETE"] = "on"
    assert _admin_post(client, initiative, form).status_code == 302
    assert list(initiative.data_categories.values_list("category", flat=True)) == ["credit"]


def test_the_admin_shows_the_pipl_facts_and_version_1_read_only(world, client_for):
    initiative = world["initiative"]
    Initiative.objects.filter(pk=initiative.pk).update(
        personal_data_categories=["identity", "financial"],
        lawful_basis="contract",
        security_assessment_done=True,
    )
    initiative.refresh_from_db()
    client = client_for(world["analyst"])
    url = reverse("admin:partnerships_initiative_change", args=[initiative.pk])
    zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = zh.content.decode()
    assert "个人信息（个人信息保护法）" in html and "第 1 版字段" in html
    assert "身份信息、财产与账户信息" in html  # version 1's categories by their labels, read-only
    form = zh.context["adminform"].form
    assert {"personal_data_categories", "lawful_basis", "security_assessment_done"}.isdisjoint(form.fields)
    assert {"no_personal_data", "credit_route_agency", "impact_assessment_on"} <= set(form.fields)
    assert 'id="data_categories-group"' in html
    fieldsets = {str(name): opts for name, opts in zh.context["adminform"].model_admin.fieldsets}
    assert "collapse" in fieldsets["第 1 版字段"]["classes"]
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Personal data (PIPL)" in en and "Version 1 fields" in en
    # Posting version 1's fields changes nothing: they are not the form's.
    posted = admin_form(initiative, personal_data_categories=[], lawful_basis="", security_assessment_done="")
    assert _admin_post(client, initiative, posted).status_code == 302
    initiative.refresh_from_db()
    assert (
        initiative.personal_data_categories,
        initiative.lawful_basis,
        initiative.security_assessment_done,
    ) == (
        ["identity", "financial"],
        "contract",
        True,
    )


def test_a_viewer_sees_the_categories_but_cannot_add_them(world, client_for, two_banks):
    _banks, users = two_banks
    InitiativeDataCategory.objects.create(
        initiative=world["initiative"], category="credit", lawful_basis="contract"
    )
    page = client_for(users[("A", "viewer")]).get(
        reverse("admin:partnerships_initiative_change", args=[world["initiative"].pk])
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="data_categories-group"' in html and "信用信息" in html
    assert 'name="data_categories-0-category"' not in html  # shown, not editable


# --- the import door -----------------------------------------------------------------------------------------
HEADER = (
    "bank,code,title,pillar,status,no_personal_data,provided_to_partner,provision_separate_consent,"
    "cross_border_transfer,cross_border_destination,transfer_mechanism,cross_border_separate_consent,"
    "credit_use,credit_route_agency,impact_assessment_on,processing_agreement\n"
)


def _import(client, rows: list[str]):
    upload = SimpleUploadedFile("i.csv", (HEADER + "\n".join(rows) + "\n").encode(), "text/csv")
    return client.post(
        reverse("admin:partnerships_initiative_import"),
        {"resource": "0", "format": "0", "import_file": upload},
    )


def test_the_import_carries_the_scalar_facts_through_the_service(world, client_for):
    client = client_for(world["analyst"])
    response = _import(
        client,
        [
            "bank-a,imp-1,导入授信,data_sharing,idea,否,是,是,是,新加坡,standard_contract,是,是,demo_credit_agency,"
            "2026-02-01,是",
            "bank-a,imp-2,导入空白,data_sharing,idea,,,,,,,,,,,",
        ],
    )
    result = response.context["result"]
    assert not result.has_errors() and not result.has_validation_errors(), (
        [e.error for e in result.base_errors],
        [r.error.message_dict for r in result.invalid_rows],
    )
    confirm = response.context["confirm_form"]
    assert (
        client.post(reverse("admin:partnerships_initiative_process_import"), confirm.initial).status_code
        == 302
    )
    full, blank = Initiative.objects.get(code="imp-1"), Initiative.objects.get(code="imp-2")
    assert (full.provided_to_partner, full.cross_border_transfer, full.credit_use) == (True, True, True)
    assert (full.transfer_mechanism, full.cross_border_destination) == ("standard_contract", "新加坡")
    assert full.credit_route_agency == world["agency"] and full.impact_assessment_on == datetime.date(
        2026, 2, 1
    )
    assert full.processing_agreement and full.cross_border_separate_consent and not full.no_personal_data
    # Empty cells: "not recorded" where a fact may be unknown, "no" for the tick boxes.
    assert (blank.provided_to_partner, blank.cross_border_transfer, blank.credit_use) == (None, None, None)
    assert (blank.no_personal_data, blank.processing_agreement, blank.credit_route_agency) == (
        False,
        False,
        None,
    )


def test_the_import_refuses_the_rules_by_row_and_field(world, client_for):
    response = _import(
        client_for(world["analyst"]),
        [
            "bank-a,imp-3,非征信机构,data_sharing,idea,否,,,,,,,是,tencent,,",
            "bank-a,imp-4,无跨境却有去向,data_sharing,idea,否,,,否,新加坡,,,,,,",
        ],
    )
    invalid = {row.number: row.error.message_dict for row in response.context["result"].invalid_rows}
    assert "credit_route_agency" in invalid[1] and "cross_border_destination" in invalid[2]
    assert not Initiative.objects.filter(code__in=["imp-3", "imp-4"]).exists()


def test_the_export_names_the_agency_and_the_import_reads_it_back(world, client_for):
    initiative = world["initiative"]
    initiative_update(
        user=world["analyst"],
        initiative=initiative,
        data={"credit_use": True, "credit_route_agency": "demo_credit_agency", "provided_to_partner": False},
    )
    from partnerships.resources import InitiativeResource

    with timezone.override("Asia/Shanghai"):
        dataset = InitiativeResource(user=world["analyst"]).export(
            Initiative.objects.filter(pk=initiative.pk)
        )
    row = dict(zip(dataset.headers, dataset[0], strict=True))
    values = list(row.values())
    assert "demo_credit_agency" in values
    assert values[values.index("demo_credit_agency") + 1] in {"演示征信", "Demo Credit"}


# --- migration 0005: version 1's facts carried forward -------------------------------------------------------
def test_the_migration_carries_version_1_forward(world):
    forward = importlib.import_module("partnerships.migrations.0005_carry_personal_data_forward").forward
    bank = world["banks"]["A"]
    with_data = InitiativeFactory(
        bank=bank,
        personal_data_categories=["identity", "credit", "identity", "bogus"],
        lawful_basis="separate_consent",
        cross_border_transfer=False,
        start_date=datetime.date(2024, 1, 1),
    )
    without = InitiativeFactory(bank=bank, personal_data_categories=[], cross_border_transfer=False)
    kpi = KPIFactory(initiative=with_data, target_date=datetime.date(2025, 1, 1))
    late = KPIFactory(initiative=with_data, target_date=datetime.date(2023, 6, 1))
    forward(django_apps, None)
    rows = sorted(with_data.data_categories.values_list("category", "lawful_basis", "separate_consent"))
    assert rows == [("credit", "separate_consent", True), ("identity", "separate_consent", True)]
    with_data.refresh_from_db()
    without.refresh_from_db()
    assert with_data.cross_border_transfer is False  # an answer given next to recorded categories stays
    assert without.cross_border_transfer is None  # the old default, never an answer: not recorded
    kpi.refresh_from_db()
    late.refresh_from_db()
    assert kpi.baseline_date == datetime.date(2024, 1, 1) and late.baseline_date is None
    forward(django_apps, None)  # run again: nothing doubles
    assert with_data.data_categories.count() == 2
