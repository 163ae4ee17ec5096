"""The initiative reader (lists and details) answers exactly what the serializer would, in both languages.

The reader builds the JSON of initiative lists and details from ``values()`` rows for speed; the serializer still
defines the shape (and serves writes, forms and the schema). These tests render both for initiatives with every
kind of value — scored and not, with and without owner, dates, partners, scenario types, personal data — and
compare the rendered JSON byte for byte, then compare the API's own list and detail answers with the serializer.
"""

from __future__ import annotations

import datetime

import pytest
from django.db.models import DecimalField, F, Value
from django.db.models.functions import Coalesce
from django.utils import translation
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory

from partnerships.api.readers import InitiativeReader, Nested
from partnerships.api.serializers import InitiativeSerializer
from partnerships.models import Initiative, ScenarioType
from scoring.api.serializers import ScoredInitiativeSerializer
from scoring.api.views import ScoredInitiativeViewSet
from tests.factories import InitiativeFactory, InitiativePartnerFactory, TechPartnerFactory

from .conftest import API, score_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def varied(world):
    """Bank A's initiatives with every kind of value; one scored, one with nothing optional at all."""
    bank = world.banks["A"]
    owner = world.user("analyst")
    full = InitiativeFactory(
        bank=bank,
        code="full",
        title="全字段 ✨ initiative",
        description="说明\nwith a second line",
        pillar_id="data_sharing",
        status="live",
        start_date=datetime.date(2024, 1, 31),
        end_date=datetime.date(2025, 12, 1),
        owner=owner,
        personal_data_categories=["identity", "credit"],
        lawful_basis="separate_consent",
        security_assessment_done=True,
        cross_border_transfer=True,
        transfer_mechanism="standard_contract",
    )
    InitiativePartnerFactory(initiative=full, partner=world.partners["tencent"], role="lead", note="主导")
    InitiativePartnerFactory(initiative=full, partner=world.partners["alibaba"], role="technology")
    only_english = TechPartnerFactory(key="zz_only_en", name_zh_hans="", name_en="Only English")
    InitiativePartnerFactory(initiative=full, partner=only_english, role="channel")  # named in one language
    full.scenario_types.set(ScenarioType.objects.filter(pillar_id="data_sharing")[:3])
    bare = InitiativeFactory(bank=bank, code="bare", title="空", pillar_id="smart_banking", status="idea")
    score_now(world.initiatives["A"])
    return [world.initiatives["A"], full, bare]


def rendered(data) -> bytes:
    return JSONRenderer().render(data)


def serializer_output(serializer_class, initiatives, request):
    ids = [i.pk for i in initiatives]
    queryset = Initiative.objects.filter(pk__in=ids).order_by("id")
    return serializer_class(queryset, many=True, context={"request": request}).data


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_scored_reader_answers_what_the_serializer_answers(varied, language):
    request = APIRequestFactory().get("/")
    reader = ScoredInitiativeViewSet.reader
    total = Coalesce(
        F("current_score__total"), Value(-1), output_field=DecimalField(max_digits=4, decimal_places=1)
    )
    queryset = (
        Initiative.objects.filter(pk__in=[i.pk for i in varied]).annotate(score_total=total).order_by("id")
    )
    with translation.override(language):
        ours = reader.represent(reader.values(queryset))
        theirs = serializer_output(ScoredInitiativeSerializer, varied, request)
    assert ours[0]["current_score"] is not None  # the scored one really is scored
    assert ours[2]["owner"] is None and ours[2]["partners"] == [] and ours[2]["start_date"] is None
    assert rendered(ours) == rendered(theirs)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_plain_reader_answers_what_the_serializer_answers(varied, language):
    request = APIRequestFactory().get("/")
    reader = InitiativeReader(InitiativeSerializer)
    queryset = Initiative.objects.filter(pk__in=[i.pk for i in varied]).order_by("id")
    with translation.override(language):
        assert rendered(reader.represent(reader.values(queryset))) == rendered(
            serializer_output(InitiativeSerializer, varied, request)
        )


def test_a_field_the_reader_does_not_know_is_an_error_at_once():
    class Wider(InitiativeSerializer):
        bank_id_again = serializers.IntegerField(source="bank_id", read_only=True)

        class Meta(InitiativeSerializer.Meta):
            fields = [*InitiativeSerializer.Meta.fields, "bank_id_again"]

    with pytest.raises(RuntimeError, match="bank_id_again"):
        InitiativeReader(Wider).represent([{"id": 1}])
    with pytest.raises(RuntimeError, match="current_score"):
        InitiativeReader(ScoredInitiativeSerializer).represent([{"id": 1}])
    with pytest.raises(RuntimeError, match="current_score"):
        InitiativeReader(
            ScoredInitiativeSerializer,
            nested={"current_score": Nested("current_score__score", {"score": "x"})},
        ).represent([{"id": 1}])


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_api_list_and_detail_match_the_serializer(varied, world, client_as, language):
    client = client_as(world.user("viewer"), language=language)
    listed = client.get(f"{API}initiatives/", {"ordering": "id", "page_size": 50}).json()["results"]
    request = APIRequestFactory().get("/")
    with translation.override(language):
        expected = serializer_output(ScoredInitiativeSerializer, varied, request)
    assert [row["id"] for row in listed] == [row["id"] for row in expected]
    assert rendered(listed) == rendered(expected)
    for initiative, row in zip(varied, expected, strict=True):
        assert rendered(client.get(f"{API}initiatives/{initiative.pk}/").json()) == rendered(row)


def test_the_one_round_trip_children_are_the_orm_reads(varied):
    """PostgreSQL reads partners, scenario types and data categories in one round trip of written-out SQL:
    the same rows, values and orders as the ORM reads it replaces (which SQLite still uses)."""
    from django.db import connection

    from partnerships.models import InitiativeDataCategory, InitiativePartner

    assert connection.vendor == "postgresql"
    full = varied[1]
    InitiativePartner.objects.filter(initiative=full, role="lead").update(services=["支付", "risk"])
    InitiativeDataCategory.objects.create(
        initiative=full, category="identity", lawful_basis="separate_consent"
    )
    InitiativeDataCategory.objects.create(initiative=full, category="credit", lawful_basis="contract")
    ids = [i.pk for i in varied]
    partners, scenario_types, categories = InitiativeReader._children(ids)
    assert partners == InitiativeReader._partners(ids)
    assert scenario_types == InitiativeReader._scenario_types(ids)
    assert categories == InitiativeReader._data_categories(ids)
    assert len(partners[full.pk]) == 3 and ["支付", "risk"] in [p[-1] for p in partners[full.pk]]
    assert len(scenario_types[full.pk]) == 3 and [c[0] for c in categories[full.pk]] == ["credit", "identity"]


def test_postgresql_reads_a_detail_and_a_page_with_their_children_in_one_query(varied, world, client_as):
    """The partners, scenario types and data categories ride in the rows' own query (``_CHILD_COLUMNS``): a
    detail and a cursor page are one query each once the token is cached, and they still answer what the
    serializer answers, children in the ORM's orders."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from partnerships.models import InitiativeDataCategory, InitiativePartner

    assert connection.vendor == "postgresql"
    full = varied[1]
    InitiativePartner.objects.filter(initiative=full, role="lead").update(services=["支付", "risk"])
    InitiativeDataCategory.objects.create(
        initiative=full, category="identity", lawful_basis="separate_consent", separate_consent=True
    )
    InitiativeDataCategory.objects.create(initiative=full, category="credit", lawful_basis="contract")
    client = client_as(world.user("viewer"), language="zh-hans")
    client.get(f"{API}initiatives/{full.pk}/")  # the token is cached from here on
    with CaptureQueriesContext(connection) as detail:
        body = client.get(f"{API}initiatives/{full.pk}/").json()
    with CaptureQueriesContext(connection) as page:
        listed = client.get(f"{API}initiatives/", {"pagination": "cursor", "page_size": 50}).json()["results"]
    assert len(detail.captured_queries) == 1, [q["sql"][:80] for q in detail.captured_queries]
    assert len(page.captured_queries) == 1, [q["sql"][:80] for q in page.captured_queries]

    request = APIRequestFactory().get("/")
    with translation.override("zh-hans"):
        expected = serializer_output(ScoredInitiativeSerializer, [full], request)[0]
    assert rendered(body) == rendered(expected)
    assert [c["category"] for c in body["data_categories"]] == ["credit", "identity"]
    assert ["支付", "risk"] in [p["services"] for p in body["partners"]] and len(body["partners"]) == 3
    assert rendered(next(row for row in listed if row["id"] == full.pk)) == rendered(expected)
    bare = next(row for row in listed if not row["partners"])  # no child rows: empty lists, not null
    assert bare["data_categories"] == [] and isinstance(bare["scenario_types"], list)
