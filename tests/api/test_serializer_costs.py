"""A score job's answer (POST score/, score-jobs/) builds its serializer's fields once per process, not per answer.

``ScoreJobSerializer`` is a ModelSerializer: DRF introspects the model and builds every field for each instance.
``FieldsBuiltOnceMixin`` builds them once per class and gives each instance a deep copy; the answer must stay
what a freshly built serializer answers.
"""

from __future__ import annotations

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.utils import model_meta

from scoring.api.serializers import ScoreJobDetailSerializer, ScoreJobSerializer
from scoring.models import ScoreJob

from .conftest import API

pytestmark = pytest.mark.django_db


class FreshScoreJobSerializer(serializers.ModelSerializer):
    """ScoreJobSerializer without the mixin: DRF's own field building on every instance."""

    requested_by = ScoreJobSerializer._declared_fields["requested_by"]
    initiatives = ScoreJobSerializer._declared_fields["initiatives"]

    class Meta(ScoreJobSerializer.Meta):
        pass


def test_the_score_answer_is_a_freshly_built_serializers_and_fields_are_built_once(
    world, client_as, monkeypatch
):
    client = client_as(world.user("analyst"))
    first = client.post(f"{API}initiatives/{world.initiatives['A'].pk}/score/")
    assert first.status_code == 202
    calls = []
    original = model_meta.get_field_info
    monkeypatch.setattr(model_meta, "get_field_info", lambda model: calls.append(model) or original(model))
    second = client.post(f"{API}initiatives/{world.initiatives['A'].pk}/score/")
    assert second.status_code == 202
    assert calls == []  # the second answer built no field from the model
    job = ScoreJob.objects.get(pk=second.json()["id"])
    assert second.content == JSONRenderer().render(FreshScoreJobSerializer(job).data)
    assert len(calls) == 1  # the fresh serializer, for comparison, did


def test_each_instance_gets_its_own_fields_and_the_detail_class_its_own_set(world, client_as):
    client = client_as(world.user("analyst"))
    job = ScoreJob.objects.get(
        pk=client.post(f"{API}initiatives/{world.initiatives['A'].pk}/score/").json()["id"]
    )
    one, two = ScoreJobSerializer(job), ScoreJobSerializer(job)
    assert one.data == two.data
    assert one.fields["status"] is not two.fields["status"] and one.fields["status"].parent is one
    assert "scores" in ScoreJobDetailSerializer(job, context={"job_scores": []}).fields
    assert "scores" not in ScoreJobSerializer(job).fields
