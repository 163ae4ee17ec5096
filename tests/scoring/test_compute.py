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


_ROW_TEXT = """
SELECT s.initiative_id, s.rubric_version_id, s.assessment_id, s.total::text, s.tier, s.gate_passed,
       s.failed_gates::text, s.confidence::text, s.provisional, s.breakdown::text, s.inputs_hash,
       c.total::text, c.tier, c.gate_passed, c.provisional, c.confidence::text, c.score_id = s.id
FROM scoring_score s JOIN scoring_currentscore c ON c.initiative_id = s.initiative_id
WHERE s.initiative_id = %s
"""


def _stored(initiative_id):
    with connection.cursor() as cursor:
        cursor.execute(_ROW_TEXT, [initiative_id])
        return cursor.fetchall()


def test_one_row_and_the_copy_path_store_the_same_bytes(rubrics):
    # A single initiative is stored with plain INSERTs, a chunk of more through the staging table and COPY
    # (compute._store): the same Score and CurrentScore, down to the text of every column.
    gated = make_rated_initiative(rating=4, compliance=1)
    other = make_rated_initiative(bank=gated.bank, contract=False)
    one = score_initiatives(bank_id=gated.bank_id, initiative_ids=[gated.pk])
    assert (one.scored, one.created) == (1, 1)
    alone = _stored(gated.pk)
    assert len(alone) == 1 and alone[0][-1] is True and alone[0][6] != "[]"  # a failed gate among the columns

    CurrentScore.objects.all().delete()
    Score.objects.all().delete()
    both = score_initiatives(bank_id=gated.bank_id, initiative_ids=[gated.pk, other.pk])
    assert (both.scored, both.created) == (2, 2)
    assert _stored(gated.pk) == alone

    # And across the paths a repeat writes nothing new, and points CurrentScore at the one Score.
    again = score_initiatives(bank_id=gated.bank_id, initiative_ids=[gated.pk])
    assert (again.scored, again.created) == (1, 0)
    assert _stored(gated.pk) == alone and Score.objects.count() == 2


def test_the_assessment_picked_and_its_ratings_read_in_one_statement_match_the_two_reads(rubrics):
    # compute._assessments_and_ratings (PostgreSQL: one DISTINCT ON statement) against the two reads it replaces
    # (_pick_assessments ranks in Python, _rating_rows reads the ratings): the latest approved assessment, else the
    # latest of any status; the same update time goes to the higher id; another version's assessment never.
    import datetime

    from scoring.choices import AssessmentStatus
    from scoring.models import Assessment, Rating, RubricVersion
    from scoring.services.compute import (
        _assessments_and_ratings,
        _pick_assessments,
        _rating_rows,
        published_version_ids_by_pillar,
        version_bundle,
    )
    from tests.factories import InitiativeFactory, UserFactory

    rated = make_rated_initiative()  # one approved assessment on the published version, every criterion rated
    version = Assessment.objects.get(initiative=rated).rubric_version
    other_version = RubricVersion.objects.exclude(pk=version.pk).first()
    when = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)

    def assessment(initiative, status, *, at, on=version, rate=2):
        approved = status == AssessmentStatus.APPROVED
        a = Assessment.objects.create(
            initiative=initiative,
            rubric_version=on,
            status=status,
            author=UserFactory(),
            approved_by=UserFactory() if approved else None,
            approved_at=at if approved else None,
        )
        Assessment.objects.filter(pk=a.pk).update(updated_at=at)  # auto_now otherwise
        Rating.objects.bulk_create(
            Rating(assessment=a, criterion=c, value=rate, rationale=f"{status} {a.pk}")
            for c in on.criteria.filter(source="rated")[:3]
        )
        return a

    # rated: a newer draft and a newer approved one on another version change nothing (the approved one wins).
    assessment(rated, AssessmentStatus.DRAFT, at=when + datetime.timedelta(days=900))
    assessment(rated, AssessmentStatus.APPROVED, at=when + datetime.timedelta(days=900), on=other_version)
    # tied: two approved assessments updated at the same moment (the higher id wins), an older approved one.
    tied = InitiativeFactory(bank=rated.bank, pillar_id="scenario")
    assessment(tied, AssessmentStatus.APPROVED, at=when - datetime.timedelta(days=1), rate=1)
    assessment(tied, AssessmentStatus.APPROVED, at=when, rate=2)
    assessment(tied, AssessmentStatus.APPROVED, at=when, rate=3)
    # drafts only: the latest; and one with no assessment at all.
    drafts = InitiativeFactory(bank=rated.bank, pillar_id="scenario")
    assessment(drafts, AssessmentStatus.DRAFT, at=when)
    assessment(drafts, AssessmentStatus.SUBMITTED, at=when + datetime.timedelta(hours=1))
    bare = InitiativeFactory(bank=rated.bank, pillar_id="scenario")

    vid = published_version_ids_by_pillar()["scenario"]
    assert vid == version.pk
    keys_by_id = version_bundle(version).criterion_ids
    wanted = {rated.pk: vid, tied.pk: vid, drafts.pk: vid, bare.pk: vid}
    expected_chosen = _pick_assessments(wanted)
    expected_ratings: dict = {}
    for aid, cid, value, rationale in _rating_rows([aid for aid, _s in expected_chosen.values()]):
        if cid in keys_by_id:
            expected_ratings.setdefault(aid, {})[keys_by_id[cid]] = (value, rationale)
    with CaptureQueriesContext(connection) as ctx:
        chosen, ratings = _assessments_and_ratings(wanted, keys_by_id)
    assert len(ctx) == 1
    assert chosen == expected_chosen and ratings == expected_ratings
    assert (
        set(chosen) == {rated.pk, tied.pk, drafts.pk} and chosen[drafts.pk][1] == AssessmentStatus.SUBMITTED
    )
    tied_ids = sorted(
        Assessment.objects.filter(initiative=tied, updated_at=when).values_list("pk", flat=True)
    )
    assert chosen[tied.pk][0] == tied_ids[-1]
