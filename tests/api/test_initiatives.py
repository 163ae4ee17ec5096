"""Initiatives over the API: payloads, nested writes, the service's rules, filters, search, ordering, pagination."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from partnerships.models import Initiative, InitiativePartner
from tests.api.conftest import API, score_now
from tests.factories import InitiativeFactory, InitiativePartnerFactory, MembershipFactory

pytestmark = pytest.mark.django_db

URL = f"{API}initiatives/"


def payload(world, **overrides) -> dict:
    data = {
        "bank": world.banks["A"].pk,
        "code": "pay-2024-01",
        "title": "微信支付场景联名卡",
        "description": "与腾讯合作的支付场景获客 / payment-scenario acquisition with Tencent",
        "pillar": "scenario",
        "scenario_types": ["payment", "ecommerce"],
        "partners": [{"partner": "tencent", "role": "lead"}, {"partner": "alibaba", "role": "data"}],
        "status": "proposed",
        "start_date": "2024-03-01",
        "end_date": "2025-02-28",
    }
    data.update(overrides)
    return data


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


# --- Reading ---------------------------------------------------------------------------------------------
def test_list_shows_only_the_users_banks_with_pillar_partners_and_current_score(world, client_as):
    response = client_as(world.user("viewer")).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["id"] == world.initiatives["A"].pk
    assert row["pillar"] == "scenario"
    assert row["bank"] == world.banks["A"].pk and row["bank_code"] == "bank-a"
    assert row["partners"] == [
        {"partner": "tencent", "partner_name": "Tencent", "role": "lead", "note": "", "services": []}
    ]
    assert row["current_score"] is None


def test_current_score_appears_once_scored(world, client_as):
    score_now(world.initiatives["A"])
    row = client_as(world.user("viewer")).get(f"{URL}{world.initiatives['A'].pk}/").json()
    score = row["current_score"]
    assert set(score) == {
        "score",
        "total",
        "tier",
        "gate_passed",
        "provisional",
        "confidence",
        "rubric_version",
        "computed_at",
    }
    assert isinstance(score["total"], float) and score["tier"] in "ABCD"
    # Unrated compliance gate: the tier is D and the score provisional.
    assert score["gate_passed"] is False and score["tier"] == "D"


def test_superuser_sees_every_bank(world, client_as):
    response = client_as(world.user("superuser")).get(URL)
    assert sorted(ids(response)) == sorted(i.pk for i in world.initiatives.values())


# --- Creating --------------------------------------------------------------------------------------------
def test_analyst_creates_an_initiative_with_partners_and_scenario_types(world, client_as):
    response = client_as(world.user("analyst")).post(URL, payload(world), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"].endswith(f"{URL}{body['id']}/")
    assert body["title"] == "微信支付场景联名卡"
    assert sorted(body["scenario_types"]) == ["ecommerce", "payment"]
    assert {(p["partner"], p["role"]) for p in body["partners"]} == {("tencent", "lead"), ("alibaba", "data")}
    assert body["owner"] == "analyst_a"
    assert body["current_score"] is None
    initiative = Initiative.objects.get(pk=body["id"])
    assert initiative.bank == world.banks["A"] and initiative.pillar_id == "scenario"
    assert InitiativePartner.objects.filter(initiative=initiative).count() == 2


def test_a_new_initiative_without_a_code_gets_one_from_its_pillar_and_month(world, client_as):
    from django.utils import timezone

    client = client_as(world.user("analyst"))
    body = payload(world)
    body.pop("code", None)
    month = f"{timezone.localdate():%Y%m}"
    first = client.post(URL, body, format="json")
    second = client.post(URL, {**body, "pillar": "scenario"}, format="json")
    assert first.status_code == second.status_code == 201, (first.json(), second.json())
    assert first.json()["code"] == f"sc-{month}-001" and second.json()["code"] == f"sc-{month}-002"
    smart = client.post(URL, {**body, "pillar": "smart_banking", "scenario_types": []}, format="json")
    assert smart.status_code == 201 and smart.json()["code"] == f"sb-{month}-001"
    # A code given is kept; the same code twice is refused on the field.
    given = client.post(URL, {**body, "code": "wx-card"}, format="json")
    assert given.status_code == 201 and given.json()["code"] == "wx-card"
    again = client.post(URL, {**body, "code": "wx-card"}, format="json")
    assert again.status_code == 400 and "code" in again.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"scenario_types": ["omni_channel_integration"]}, "scenario_types"),  # a smart_banking type
        ({"scenario_types": ["no-such-type"]}, "scenario_types"),
        ({"partners": [{"partner": "no-such-partner"}]}, "partners"),
        (
            {"partners": [{"partner": "tencent", "role": "lead"}, {"partner": "alibaba", "role": "lead"}]},
            "partners",
        ),
        ({"partners": [{"partner": "tencent"}, {"partner": "tencent"}]}, "partners"),
        ({"code": "a1"}, "code"),  # taken in bank A
        ({"start_date": "2025-01-01", "end_date": "2024-01-01"}, "end_date"),
        ({"transfer_mechanism": "standard_contract", "cross_border_transfer": False}, "transfer_mechanism"),
        ({"owner": "manager_b"}, "owner"),  # not a member of bank A
        ({"owner": "nobody-at-all"}, "owner"),
    ],
)
def test_create_refuses_what_breaks_a_rule_naming_the_field(world, client_as, overrides, field):
    response = client_as(world.user("analyst")).post(URL, payload(world, **overrides), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert (
        not Initiative.objects.filter(code=payload(world, **overrides)["code"], bank=world.banks["A"])
        .exclude(code="a1")
        .exists()
    )


def test_a_bank_of_another_tenant_reads_like_one_that_does_not_exist(world, client_as):
    client = client_as(world.user("other"))  # manager of bank B
    foreign = client.post(URL, payload(world, bank=world.banks["A"].pk), format="json")
    missing = client.post(URL, payload(world, bank=987654), format="json")
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json()["error"]["fields"] == missing.json()["error"]["fields"]
    assert list(foreign.json()["error"]["fields"]) == ["bank"]


def test_a_viewer_in_the_target_bank_is_told_the_role_is_missing(world, client_as):
    viewer = world.user("viewer")
    MembershipFactory(user=viewer, bank=world.banks["B"], role="analyst")  # analyst elsewhere
    response = client_as(viewer).post(URL, payload(world), format="json")
    assert response.status_code == 400
    assert "analyst" in response.json()["error"]["fields"]["bank"][0]


# --- Changing --------------------------------------------------------------------------------------------
def test_patch_changes_fields_and_replaces_partners(world, client_as):
    a1 = world.initiatives["A"]
    client = client_as(world.user("analyst"))
    response = client.patch(
        f"{URL}{a1.pk}/",
        {
            "title": "新标题 New title",
            "partners": [{"partner": "alibaba", "role": "lead", "note": "换合作方"}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "新标题 New title"
    assert response.json()["partners"] == [
        {"partner": "alibaba", "partner_name": "Alibaba", "role": "lead", "note": "换合作方", "services": []}
    ]
    assert list(InitiativePartner.objects.filter(initiative=a1).values_list("partner__key", flat=True)) == [
        "alibaba"
    ]


def test_a_patched_partner_entry_still_needs_its_partner(world, client_as):
    """PATCH makes nested fields optional in DRF; the partner key of an entry stays required."""
    response = client_as(world.user("analyst")).patch(
        f"{URL}{world.initiatives['A'].pk}/", {"partners": [{"role": "lead"}]}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["partners[0].partner"]


def test_swapping_the_lead_partner_keeps_one_lead_at_every_step(world, client_as):
    a1 = world.initiatives["A"]  # tencent is lead
    InitiativePartnerFactory(initiative=a1, partner=world.partners["alibaba"], role="data")
    response = client_as(world.user("analyst")).patch(
        f"{URL}{a1.pk}/",
        {"partners": [{"partner": "tencent", "role": "data"}, {"partner": "alibaba", "role": "lead"}]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    roles = dict(InitiativePartner.objects.filter(initiative=a1).values_list("partner__key", "role"))
    assert roles == {"tencent": "data", "alibaba": "lead"}


def test_put_needs_the_required_fields(world, client_as):
    response = client_as(world.user("analyst")).put(
        f"{URL}{world.initiatives['A'].pk}/", {"title": "只有标题"}, format="json"
    )
    assert response.status_code == 400
    assert {"bank", "pillar"} <= set(response.json()["error"]["fields"])
    assert "code" not in response.json()["error"]["fields"]  # optional: a PUT without it keeps the code


def test_status_follows_the_allowed_transitions(world, client_as):
    a1 = world.initiatives["A"]  # pilot
    client = client_as(world.user("analyst"))
    refused = client.patch(f"{URL}{a1.pk}/", {"status": "idea"}, format="json")
    assert refused.status_code == 400 and "status" in refused.json()["error"]["fields"]
    assert client.patch(f"{URL}{a1.pk}/", {"status": "live"}, format="json").status_code == 200


def test_changing_the_pillar_needs_matching_scenario_types(world, client_as):
    a1 = world.initiatives["A"]
    client = client_as(world.user("analyst"))
    assert client.patch(f"{URL}{a1.pk}/", {"scenario_types": ["payment"]}, format="json").status_code == 200
    refused = client.patch(f"{URL}{a1.pk}/", {"pillar": "smart_banking"}, format="json")
    assert refused.status_code == 400 and "scenario_types" in refused.json()["error"]["fields"]
    moved = client.patch(
        f"{URL}{a1.pk}/",
        {"pillar": "smart_banking", "scenario_types": ["omni_channel_integration"]},
        format="json",
    )
    assert moved.status_code == 200 and moved.json()["pillar"] == "smart_banking"


def test_moving_to_another_bank_needs_the_analyst_role_there(world, client_as):
    a1 = world.initiatives["A"]
    analyst = world.user("analyst")
    refused = client_as(analyst).patch(f"{URL}{a1.pk}/", {"bank": world.banks["B"].pk}, format="json")
    assert refused.status_code == 400 and list(refused.json()["error"]["fields"]) == ["bank"]
    MembershipFactory(user=analyst, bank=world.banks["B"], role="analyst")
    moved = client_as(analyst).patch(f"{URL}{a1.pk}/", {"bank": world.banks["B"].pk}, format="json")
    assert moved.status_code == 200, moved.json()
    assert Initiative.objects.get(pk=a1.pk).bank == world.banks["B"]


def test_delete(world, client_as):
    a1 = world.initiatives["A"]
    assert client_as(world.user("analyst")).delete(f"{URL}{a1.pk}/").status_code == 204
    assert not Initiative.objects.filter(pk=a1.pk).exists()


# --- Filters, search, ordering ---------------------------------------------------------------------------
@pytest.fixture
def portfolio(world):
    """Bank A: a1 (scenario, pilot, tencent) plus a data-sharing and a smart-banking initiative, two scored."""
    bank = world.banks["A"]
    a2 = InitiativeFactory(
        bank=bank, code="a2", title="Consumer loans 消费贷", pillar_id="data_sharing", status="live"
    )
    InitiativePartnerFactory(initiative=a2, partner=world.partners["alibaba"], role="lead")
    a3 = InitiativeFactory(
        bank=bank, code="a3", title="全渠道 Omni", pillar_id="smart_banking", status="idea"
    )
    score_now(world.initiatives["A"], a2)
    return {"a1": world.initiatives["A"], "a2": a2, "a3": a3}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pillar=data_sharing", {"a2"}),
        ("status=live&status=idea", {"a2", "a3"}),
        ("partner=tencent", {"a1"}),
        ("partner=alibaba", {"a2"}),
        ("tier=D", {"a1", "a2"}),
        ("scored=false", {"a3"}),
        ("scored=true", {"a1", "a2"}),
        ("min_score=0&max_score=100", {"a1", "a2"}),
        ("min_score=100", set()),
        ("search=腾讯", {"a1"}),
        ("search=Tencent", {"a1"}),
        ("search=消费", {"a2"}),
        ("search=omni", {"a3"}),
        ("search=甲银行", {"a1", "a2", "a3"}),
        ("search=Bank A", {"a1", "a2", "a3"}),
        ("search=乙银行", set()),  # bank B's name: nothing of B leaks through search
    ],
)
def test_filters_and_search(portfolio, world, client_as, query, expected):
    response = client_as(world.user("viewer")).get(f"{URL}?{query}")
    assert response.status_code == 200, response.json()
    codes = {row["code"] for row in response.json()["results"]}
    assert codes == expected


def test_bank_filter_and_updated_since(portfolio, world, client_as):
    client = client_as(world.user("superuser"))
    only_b = client.get(f"{URL}?bank={world.banks['B'].pk}").json()["results"]
    assert [row["code"] for row in only_b] == ["b1"]
    Initiative.objects.filter(code="a3").update(updated_at=timezone.now() + datetime.timedelta(days=1))
    since = (timezone.now() + datetime.timedelta(hours=12)).isoformat()
    response = client.get(URL, {"updated_since": since})
    assert [row["code"] for row in response.json()["results"]] == ["a3"]


def test_ordering_by_title_and_score(portfolio, world, client_as):
    client = client_as(world.user("viewer"))
    by_title = [r["title"] for r in client.get(f"{URL}?ordering=title").json()["results"]]
    assert by_title == sorted(by_title)
    by_score = client.get(f"{URL}?ordering=-score_total").json()["results"]
    assert by_score[-1]["code"] == "a3"  # unscored last when descending
    totals = [r["current_score"]["total"] for r in by_score if r["current_score"]]
    assert totals == sorted(totals, reverse=True)


# --- Pagination ------------------------------------------------------------------------------------------
@pytest.fixture
def many(world):
    for i in range(23):
        InitiativeFactory(bank=world.banks["A"], code=f"m{i:02d}", title=f"项目 {i:02d}")
    return 24


def test_page_number_pagination(many, world, client_as):
    client = client_as(world.user("viewer"))
    first = client.get(f"{URL}?page_size=10").json()
    assert first["count"] == many and len(first["results"]) == 10 and first["previous"] is None
    third = client.get(f"{URL}?page_size=10&page=3").json()
    assert len(third["results"]) == 4 and third["next"] is None
    assert client.get(f"{URL}?page_size=10&page=4").status_code == 404


@pytest.mark.parametrize("ordering", ["", "title", "-title", "-score_total", "updated_at"])
def test_cursor_pagination_walks_every_row_once(many, world, client_as, ordering):
    client = client_as(world.user("viewer"))
    url = f"{URL}?pagination=cursor&page_size=7" + (f"&ordering={ordering}" if ordering else "")
    seen: list[int] = []
    pages = 0
    while url:
        body = client.get(url).json()
        assert "count" not in body
        seen += ids_of(body)
        url = body["next"]
        pages += 1
    assert pages == 4
    assert len(seen) == len(set(seen)) == many


def ids_of(body) -> list[int]:
    return [row["id"] for row in body["results"]]


def test_cursor_links_go_back_as_well(many, world, client_as):
    client = client_as(world.user("viewer"))
    first = client.get(f"{URL}?pagination=cursor&page_size=5").json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    assert ids_of(back) == ids_of(first)


def test_a_list_that_names_no_filter_builds_no_filterset(world, client_as, monkeypatch):
    """django-filter builds (and deep-copies) a FilterSet for every request; a page that names none of its
    filters skips it (partnerships/api/filters.py) and is the same page; a named filter, empty or not, still
    goes through the FilterSet."""
    from partnerships.api.filters import InitiativeFilter

    built = []
    original = InitiativeFilter.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(InitiativeFilter, "__init__", counting)
    client = client_as(world.user("viewer"))
    plain = client.get(f"{API}initiatives/?pagination=cursor&page_size=50&ordering=-updated_at")
    assert plain.status_code == 200 and built == []
    assert [row["id"] for row in plain.json()["results"]] == [world.initiatives["A"].pk]
    assert client.get(f"{API}initiatives/?bank=").status_code == 400
    bank = world.banks["A"].pk
    assert client.get(f"{API}initiatives/?bank={bank}").json()["count"] == 1
    assert client.get(f"{API}initiatives/?pillar=smart_banking").json()["count"] == 0
    assert len(built) == 3
