"""What the initiative reader (lists and details) does once per response or once per process, not once per value.

The outputs themselves are held equal to the serializer's in tests/api/test_readers.py; these tests hold the
per-request savings (docs/performance.md, HTTP rows): the active language and the current time zone are asked
for once per response, whatever the number of rows and names, and the values() query is resolved once per
process, each request getting its own copy scoped to the user's banks.
"""

from __future__ import annotations

import pytest
from django.db.models.sql.query import Query
from django.utils import timezone, translation

from partnerships.models import base as models_base
from scoring.api.views import ScoredInitiativeViewSet
from tests.factories import InitiativeFactory, InitiativePartnerFactory

from .conftest import API, score_now

pytestmark = pytest.mark.django_db


def _counting(monkeypatch, owner, name):
    calls = []
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


@pytest.fixture
def rows(world):
    """Bank A's initiatives, each with two partners, two of them scored: many names and date-times a page."""
    bank = world.banks["A"]
    made = [InitiativeFactory(bank=bank, code=f"cost-{i}") for i in range(6)]
    for initiative in made:
        InitiativePartnerFactory(initiative=initiative, partner=world.partners["tencent"], role="lead")
        InitiativePartnerFactory(initiative=initiative, partner=world.partners["alibaba"], role="technology")
    score_now(made[0], made[1])
    reader = ScoredInitiativeViewSet.reader
    template = reader.template(ScoredInitiativeViewSet().reader_rows)
    return reader, list(template.filter(pk__in=[i.pk for i in made]).order_by("id"))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_language_is_asked_for_once_per_response(rows, monkeypatch, language):
    reader, values = rows
    calls = _counting(monkeypatch, models_base, "get_language")
    with translation.override(language):
        out = reader.represent(values)
    assert len(out) == 6 and all(len(item["partners"]) == 2 for item in out)  # 6 × (bank, pillar, 2 partners)
    assert len(calls) == 1


def test_the_time_zone_is_asked_for_once_per_response(rows, monkeypatch):
    reader, values = rows
    calls = _counting(monkeypatch, timezone, "get_current_timezone")
    with timezone.override("Asia/Shanghai"):
        out = reader.represent(values)
    assert out[0]["current_score"]["computed_at"].endswith("+08:00")  # the zone of the request, as before
    assert out[0]["created_at"].endswith("+08:00") and out[5]["updated_at"].endswith("+08:00")
    assert len(calls) == 1  # 6 rows × created_at, updated_at (+ computed_at) would be ≥ 12


def test_the_values_query_is_resolved_once_per_process_and_copied_per_request(
    rows, world, client_as, monkeypatch
):
    viewer_a, viewer_b = world.user("viewer"), world.user("other")  # banks A and B
    client_as(viewer_a).get(f"{API}initiatives/")  # the template exists from here on
    calls = _counting(monkeypatch, Query, "set_values")
    listed_a = client_as(viewer_a).get(f"{API}initiatives/", {"page_size": 50}).json()["results"]
    listed_b = client_as(viewer_b).get(f"{API}initiatives/", {"page_size": 50}).json()["results"]
    detail = client_as(viewer_a).get(f"{API}initiatives/{listed_a[0]['id']}/")
    assert detail.status_code == 200 and detail.json() == listed_a[0]
    assert calls == []  # no request resolved values() again
    # Each request scoped its own copy: no rows of one user's page in another's.
    assert {row["bank_code"] for row in listed_a} == {world.banks["A"].code}
    assert {row["bank_code"] for row in listed_b} == {world.banks["B"].code}
    assert client_as(viewer_b).get(f"{API}initiatives/{listed_a[0]['id']}/").status_code == 404


def test_booleans_strings_and_choices_are_answered_without_asking_their_fields(rows, monkeypatch):
    """A bool, str or int column whose field (exactly DRF's BooleanField, CharField, IntegerField, ChoiceField)
    would answer it unchanged — or through its choices — is answered directly, once per row and such column
    fewer field calls than with every value handed to its field; the output is the same."""
    from rest_framework import serializers

    from partnerships.api import readers

    reader, values = rows
    kinds = (
        serializers.BooleanField,
        serializers.CharField,
        serializers.IntegerField,
        serializers.ChoiceField,
    )

    def represent():
        calls = []
        originals = {kind: kind.__dict__["to_representation"] for kind in kinds}

        def counting(original):
            def counted(self, value):
                calls.append(1)
                return original(self, value)

            return counted

        for kind, original in originals.items():
            kind.to_representation = counting(original)
        try:
            return reader.represent(values), len(calls)
        finally:
            for kind, original in originals.items():
                kind.to_representation = original

    monkeypatch.setattr(reader, "_plan", None)
    monkeypatch.setattr(reader, "_zoned", None)
    fast_columns = [spec[0] for kind, _name, spec in reader.plan if kind == "plain" and spec[2] is not None]
    assert len(fast_columns) >= 8  # status, pillar, code, title, … and the booleans
    answered_directly = sum(1 for row in values for column in fast_columns if row[column] is not None)
    fast, fast_calls = represent()
    monkeypatch.setattr(readers, "_identity", lambda field: (None, None))
    monkeypatch.setattr(reader, "_plan", None)
    monkeypatch.setattr(reader, "_zoned", None)
    slow, slow_calls = represent()
    assert fast == slow
    assert slow_calls - fast_calls == answered_directly  # a null never asks its field, either way
