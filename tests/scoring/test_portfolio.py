"""The benchmarks' synthetic portfolio: written with COPY on PostgreSQL straight into the tables, so a test here
catches a new NOT NULL column or a drifted shape before the bench does."""

import pytest

from partnerships.models import Initiative
from partnerships.services.seed import seed_reference_data
from scoring.models import Assessment, Criterion, Score
from scoring.services.compute import score_initiatives
from scoring.services.portfolio import portfolio_generate

pytestmark = pytest.mark.django_db


def test_generated_portfolio_is_complete_and_scores(rubrics):
    seed_reference_data()
    result = portfolio_generate(initiatives=9, banks=1, prefix="t", seed=7)
    assert (result.banks, result.initiatives) == (1, 9)
    initiatives = Initiative.objects.filter(bank__code__startswith="t")
    assert initiatives.count() == 9
    for assessment in Assessment.objects.filter(initiative__in=initiatives).select_related("rubric_version"):
        assert assessment.status == "approved" and assessment.returned_reason == ""
        rated = Criterion.objects.filter(version=assessment.rubric_version, source="rated").count()
        assert assessment.ratings.count() == rated
    bank_id = initiatives.first().bank_id
    score_initiatives(bank_id=bank_id, initiative_ids=list(initiatives.values_list("pk", flat=True)))
    assert Score.objects.filter(initiative__in=initiatives).count() == 9
