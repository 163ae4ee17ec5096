"""The analyst's admin journey and tenancy: bank A's users get nothing of bank B by any admin route."""

import json
import re

import pytest
from django.urls import reverse

from partnerships.models import KPI, Initiative, InitiativePartner, ScenarioType
from tests.factories import InitiativeFactory, InitiativePartnerFactory, KPIFactory, TechPartnerFactory

pytestmark = pytest.mark.django_db


def _inline_management(prefix: str, total: int = 0, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _add_payload(bank, partner, scenario_keys, **overrides) -> dict:
    data = {
        "bank": str(bank.pk),
        "code": "wechat-pay-card",
        "title": "微信支付场景联名卡",
        "description": "与腾讯合作的支付场景获客",
        "status": "idea",
        "is_illustrative": "",
        "pillar": "scenario",
        "scenario_types": [
            str(pk) for pk in ScenarioType.objects.filter(key__in=scenario_keys).values_list("pk", flat=True)
        ],
        "start_date": "2024-03-01",
        "end_date": "2025-02-28",
        "lawful_basis": "",
        "transfer_mechanism": "",
        **_inline_management("partner_links", total=1),
        "partner_links-0-partner": str(partner.pk),
        "partner_links-0-role": "lead",
        "partner_links-0-note": "",
        **_inline_management("data_categories"),
        **_inline_management("kpis", total=1),
        "kpis-0-name": "获客成本(元/户)",
        "kpis-0-cost_driver": "acquisition",
        "kpis-0-unit": "元",
        "kpis-0-baseline": "320",
        "kpis-0-target": "200",
        "kpis-0-target_date": "",
        **_inline_management("evidence"),
    }
    data.update(overrides)
    return data


def test_analyst_adds_initiative_with_partner_and_kpi(two_banks, client_for):
    banks, users = two_banks
    analyst = users[("A", "analyst")]
    tencent = TechPartnerFactory(key="tencent", name_zh_hans="腾讯", name_en="Tencent")
    client = client_for(analyst)
    assert client.get(reverse("admin:partnerships_initiative_add")).status_code == 200

    response = client.post(
        reverse("admin:partnerships_initiative_add"),
        _add_payload(banks["A"], tencent, ["payment", "ecommerce"]),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    initiative = Initiative.objects.get(code="wechat-pay-card")
    assert initiative.bank == banks["A"]
    assert initiative.owner == analyst
    assert sorted(initiative.scenario_types.values_list("key", flat=True)) == ["ecommerce", "payment"]
    assert InitiativePartner.objects.get(initiative=initiative).role == "lead"
    assert KPI.objects.get(initiative=initiative).target == 200
    created = initiative.history.earliest()
    assert created.history_user == analyst and created.history_type == "+"
    assert {r.history_user for r in initiative.history.all()} == {analyst}


def test_add_form_rejects_scenario_type_of_another_pillar(two_banks, client_for):
    banks, users = two_banks
    client = client_for(users[("A", "analyst")])
    response = client.post(
        reverse("admin:partnerships_initiative_add"),
        _add_payload(banks["A"], TechPartnerFactory(), ["omni_channel_integration"]),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "scenario_types" in errors
    assert not Initiative.objects.filter(code="wechat-pay-card").exists()


def test_analyst_cannot_create_in_another_bank(two_banks, client_for):
    banks, users = two_banks
    client = client_for(users[("A", "analyst")])
    response = client.post(
        reverse("admin:partnerships_initiative_add"),
        _add_payload(banks["B"], TechPartnerFactory(), ["payment"]),
    )
    assert response.status_code == 200
    assert "bank" in response.context["adminform"].form.errors
    assert not Initiative.objects.exists()


def test_status_transition_is_checked(two_banks, client_for):
    banks, users = two_banks
    initiative = InitiativeFactory(bank=banks["A"], status="idea")
    client = client_for(users[("A", "analyst")])
    url = reverse("admin:partnerships_initiative_change", args=[initiative.pk])
    payload = _add_payload(banks["A"], TechPartnerFactory(), ["payment"], code=initiative.code, status="live")
    response = client.post(url, payload)
    assert response.status_code == 200
    assert "status" in response.context["adminform"].form.errors
    initiative.refresh_from_db()
    assert initiative.status == "idea"


def test_viewer_sees_but_cannot_change(two_banks, client_for):
    banks, users = two_banks
    initiative = InitiativeFactory(bank=banks["A"])
    client = client_for(users[("A", "viewer")])
    assert client.get(reverse("admin:partnerships_initiative_changelist")).status_code == 200
    assert client.get(reverse("admin:partnerships_initiative_add")).status_code == 403
    page = client.get(reverse("admin:partnerships_initiative_change", args=[initiative.pk]))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    response = client.post(
        reverse("admin:partnerships_initiative_change", args=[initiative.pk]), {"title": "x"}
    )
    assert response.status_code == 403


@pytest.fixture
def b_initiative(two_banks):
    banks, _users = two_banks
    initiative = InitiativeFactory(bank=banks["B"], code="secret-b", title="乙银行机密项目 Secret B")
    InitiativePartnerFactory(initiative=initiative)
    KPIFactory(initiative=initiative, name="乙银行KPI")
    return initiative


@pytest.mark.parametrize("role", ["viewer", "analyst", "manager"])
def test_bank_a_user_gets_nothing_of_bank_b(two_banks, b_initiative, client_for, role):
    banks, users = two_banks
    mine = InitiativeFactory(bank=banks["A"], code="mine-a", title="甲银行项目 Mine A")
    client = client_for(users[("A", role)])

    changelist = client.get(reverse("admin:partnerships_initiative_changelist"))
    assert changelist.status_code == 200
    assert "Mine A" in changelist.content.decode()
    assert "Secret B" not in changelist.content.decode()
    # Filtering by bank B's id or searching for its title finds nothing either.
    for query in ({"bank__id__exact": banks["B"].pk}, {"q": "Secret"}):
        page = client.get(reverse("admin:partnerships_initiative_changelist"), query)
        assert "Secret B" not in page.content.decode()

    change = client.get(reverse("admin:partnerships_initiative_change", args=[b_initiative.pk]), follow=True)
    assert "Secret B" not in change.content.decode()
    assert change.redirect_chain and change.redirect_chain[-1][0] == reverse("admin:index")

    history = client.get(reverse("admin:partnerships_initiative_history", args=[b_initiative.pk]))
    assert history.status_code == 404
    kpi = b_initiative.kpis.get()
    assert client.get(reverse("admin:partnerships_kpi_history", args=[kpi.pk])).status_code == 404
    assert client.get(reverse("admin:partnerships_kpi_change", args=[kpi.pk])).status_code == 302

    autocomplete = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "partnerships", "model_name": "kpi", "field_name": "initiative", "term": ""},
    )
    assert autocomplete.status_code == 200
    ids = {int(r["id"]) for r in autocomplete.json()["results"]}
    assert mine.pk in ids and b_initiative.pk not in ids

    export = client.post(
        reverse("admin:partnerships_initiative_export"),
        {"format": "0", "resource": "0", "initiativeresource_code": "on", "initiativeresource_title": "on"},
    )
    assert export.status_code == 200
    body = export.content.decode("utf-8-sig")
    assert "mine-a" in body and "secret-b" not in body

    banks_page = client.get(reverse("admin:partnerships_bank_changelist"))
    assert "乙银行" not in banks_page.content.decode()


def test_superuser_sees_every_bank(two_banks, b_initiative, admin_client):
    page = admin_client.get(reverse("admin:partnerships_initiative_changelist"))
    assert "Secret B" in page.content.decode()


def test_admin_renders_in_both_languages(two_banks, client_for):
    _banks, users = two_banks
    client = client_for(users[("A", "analyst")])
    zh = client.get(
        reverse("admin:partnerships_initiative_changelist"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9"
    )
    en = client.get(
        reverse("admin:partnerships_initiative_changelist"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"
    )
    assert zh.status_code == en.status_code == 200
    assert "合作项目" in zh.content.decode() and 'lang="zh-hans"' in zh.content.decode()
    assert "Initiatives" in en.content.decode() and 'lang="en"' in en.content.decode()
    assert "合作项目" not in en.content.decode().split("<body", 1)[1].split("result_list", 1)[0]


def test_login_page_in_chinese_and_english(client):
    zh = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="zh-CN")
    en = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="en")
    assert "合作评分卡" in zh.content.decode() and "登录" in zh.content.decode()
    assert "Partnership Scorecard" in en.content.decode() and "Log in" in en.content.decode()
    assert 'id="language-switch"' in zh.content.decode()


def test_the_owner_autocomplete_offers_members_of_the_initiatives_bank_to_analysts_and_managers(
    two_banks, client_for
):
    banks, users = two_banks
    initiative = InitiativeFactory(bank=banks["A"])
    url = reverse("admin:autocomplete")
    params = {"app_label": "partnerships", "model_name": "initiative", "field_name": "owner", "term": ""}
    for role in ("analyst", "manager"):
        client = client_for(users[("A", role)])
        response = client.get(url, {**params, "bank": banks["A"].pk})
        assert response.status_code == 200
        offered = {r["text"] for r in response.json()["results"]}
        assert offered == {"viewer_a", "analyst_a", "manager_a"}
        # Another bank's members are never offered, whatever the page asks for.
        assert client.get(url, {**params, "bank": banks["B"].pk}).json()["results"] == []
        # The change page asks for its initiative's bank.
        page = client.get(
            reverse("admin:partnerships_initiative_change", args=[initiative.pk])
        ).content.decode()
        assert f"autocomplete/?bank={banks['A'].pk}" in page
    viewer = client_for(users[("A", "viewer")])
    assert viewer.get(url, params).status_code == 403
    # Users' own pages stay closed to bank staff.
    assert client_for(users[("A", "manager")]).get(reverse("admin:auth_user_changelist")).status_code == 403


def test_the_site_root_leads_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_the_admins_javascript_strings_are_in_chinese(two_banks, client_for):
    """Django 5.2's zh_Hans catalogue lacks the two-list picker's strings (SelectFilter2.js); ours adds them."""
    _banks, users = two_banks
    catalog = client_for(users[("A", "analyst")]).get("/admin/jsi18n/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert catalog.status_code == 200
    found = re.search(r"const newcatalog = (\{.*?\});", catalog.content.decode(), re.S)
    strings = json.loads(found.group(1))
    assert strings['Choose %s by selecting them and then select the "Choose" arrow button.'].startswith(
        "选中要添加的"
    )
    assert strings["Choose all %s"] == "全选%s" and strings["Remove all %s"] == "删除全部%s"
    assert strings["(click to clear)"] == "（点击清除）"


def test_decimals_are_shown_as_entered_not_with_the_columns_zeros(two_banks, client_for):
    banks, users = two_banks
    initiative = InitiativeFactory(bank=banks["A"])
    kpi = KPIFactory(initiative=initiative, baseline=350, target="412.5")
    html = (
        client_for(users[("A", "analyst")])
        .get(reverse("admin:partnerships_kpi_change", args=[kpi.pk]))
        .content.decode()
    )
    assert 'name="baseline" value="350"' in html and 'name="target" value="412.5"' in html
    assert "350.0000" not in html
