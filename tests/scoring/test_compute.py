"""The scoring service in-process: bulk reads and writes, constant queries per chunk, idempotency, gates."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partnerships.models import Initiative
from scoring.models import CurrentScore, Score
from scoring.services.compute import score_initiatives
from tests.factories import BankFactory
from tests.scoring.conftest import make_rated_initiative

pytestmark = pytest.mark.django_db


def _bulk(bank, n):
    Initiative.objects.bulk_create(
        Initiative(bank=bank, code=f"q-{bank.code}-{i}", title="t", pillar_id="data_sharing")
        for i in range(n)
    )
    return list(Initiative.objects.filter(bank=bank).values_list("id", flat=True))


def test_query_count_does_not_grow_with_the_chunk(rubrics):
    small, large = BankFactory(), BankFactory()
    small_ids, large_ids = _bulk(small, 10), _bulk(large, 300)
    warm = BankFactory()  # the first call compiles the rubric version once per process; leave it out
    score_initiatives(bank_id=warm.pk, initiative_ids=_bulk(warm, 1))
    with CaptureQueriesContext(connection) as few:
        score_initiatives(bank_id=small.pk, initiative_ids=small_ids)
    with CaptureQueriesContext(connection) as many:
        score_initiatives(bank_id=large.pk, initiative_ids=large_ids)
    assert len(many) == len(few), [q["sql"][:80] for q in many.captured_queries]
    assert Score.objects.count() == 311 and CurrentScore.objects.count() == 311


def test_rescoring_unchanged_inputs_writes_nothing_new(rubrics):
    initiative = make_rated_initiative()
    first = score_initiatives(bank_id=initiative.bank_id, initiative_ids=[initiative.pk])
    second = score_initiatives(bank_id=initiative.bank_id, initiative_ids=[initiative.pk])
    assert (first.created, second.created) == (1, 0)
    assert first.score_ids == second.score_ids


def test_failed_gate_gives_tier_d_with_reason(rubrics):
    initiative = make_rated_initiative(rating=4, compliance=1)
    score_initiatives(bank_id=initiative.bank_id, initiative_ids=[initiative.pk])
    score = Score.objects.get(initiative=initiative)
    assert score.tier == "D" and not score.gate_passed
    assert score.failed_gates == [
        {
            "key": "compliance_readiness",
            "name": "合规就绪",
            "rating": 1.0,
            "threshold": 2.0,
            "reason": "below threshold",
        }
    ]
    assert float(score.total) > 75  # the total is still shown


def test_another_banks_initiative_is_not_scored_in_this_banks_chunk(rubrics):
    initiative = make_rated_initiative()
    outcome = score_initiatives(bank_id=BankFactory().pk, initiative_ids=[initiative.pk])
    assert outcome.scored == 0 and outcome.failed == 1
    assert not Score.objects.exists()
