"""Each list endpoint runs a fixed number of queries, whatever the page size (5 or 50) and pagination mode.

The counts include the request's own: the token lookup, the user's memberships, and the savepoint that
ATOMIC_REQUESTS opens inside the test's transaction.
"""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partnerships.models import (
    KPI,
    Bank,
    InitiativePartner,
    KPIObservation,
    Membership,
    PartnerDueDiligence,
    PartnerLicence,
    PartnerMetric,
    ScenarioType,
    TechPartner,
)
from scoring.models import Assessment, Criterion, Rating, Report, Score, ScoreJob
from scoring.services.compute import score_initiatives
from scoring.services.rubrics import rubric_version_clone
from tests.api.conftest import API, published_version
from tests.factories import InitiativeFactory

pytestmark = pytest.mark.django_db

N = 60

# path → (who asks, the most queries allowed — the same at page size 5 and 50). Bank A's analyst pays one query
# more than a superuser: their memberships.
BUDGETS = {
    "banks/": ("superuser", 6),
    "partners/": ("analyst", 8),  # partners, their licences, their figures
    "due-diligence/": ("analyst", 6),
    "pillars/": ("analyst", 6),
    # the rows with their partners, scenario types and data categories in one query (+ the count of a page)
    "initiatives/": ("analyst", 2),
    "initiatives/?search=项目&ordering=-score_total&tier=D": ("analyst", 2),
    "initiatives/{first}/scores/": ("analyst", 7),
    "kpis/": ("analyst", 7),
    "assessments/": ("analyst", 7),
    "rubrics/": ("analyst", 7),
    "rubric-versions/": ("analyst", 7),
    "criteria/": ("analyst", 6),
    "score-jobs/": ("analyst", 6),
    "reports/": ("analyst", 6),
}
FEW_ROWS = {"pillars/", "rubrics/"}  # three of each, whatever the page size


@pytest.fixture
def big(world):
    """N of everything in bank A (and N banks, N partners) so that a page of 50 is full."""
    bank = world.banks["A"]
    analyst = world.user("analyst")
    superuser = world.user("superuser")
    partners = TechPartner.objects.bulk_create(
        TechPartner(key=f"p{i:03d}", name_zh_hans=f"合作方{i}", name_en=f"Partner {i}") for i in range(N)
    )
    PartnerMetric.objects.bulk_create(
        PartnerMetric(
            partner=p,
            metric=metric,
            period="2024",
            period_end=datetime.date(2024, 12, 31),
            value=i,
            unit="%",
            source="seed",
        )
        for i, (p, metric) in enumerate(
            itertools.product(partners, ["market_cap_change_pct", "revenue_growth_pct"])
        )
    )
    PartnerLicence.objects.bulk_create(
        PartnerLicence(partner=p, licence_type=t, issuer="演示", source="seed")
        for p in partners
        for t in ("payment", "financing_guarantee")
    )
    PartnerDueDiligence.objects.bulk_create(
        PartnerDueDiligence(
            bank=bank,
            partner=p,
            performed_by=analyst,
            inherent_risk_tier="low",
            performed_on=datetime.date(2024, 1, 1),
            next_due=datetime.date(2025, 1, 1),
        )
        for p in partners
    )
    banks = Bank.objects.bulk_create(
        Bank(code=f"bank-{i:03d}", name_zh_hans=f"银行{i}", name_en=f"Bank {i}") for i in range(N)
    )
    Membership.objects.bulk_create(Membership(user=superuser, bank=b, role="manager") for b in banks)
    types = list(ScenarioType.objects.filter(pillar_id="scenario")[:2])
    initiatives = [
        InitiativeFactory(bank=bank, code=f"big-{i:03d}", title=f"项目 {i:03d}", pillar_id="scenario")
        for i in range(N)
    ]
    InitiativePartner.objects.bulk_create(
        InitiativePartner(initiative=i, partner=p, role=role)
        for i in initiatives
        for p, role in ((partners[0], "lead"), (partners[1], "data"))
    )
    through = type(initiatives[0]).scenario_types.through
    through.objects.bulk_create(
        through(initiative_id=i.pk, scenariotype_id=t.pk) for i in initiatives for t in types
    )
    version = published_version("scenario")
    assessments = Assessment.objects.bulk_create(
        Assessment(initiative=i, rubric_version=version, author=analyst) for i in initiatives
    )
    criteria = list(version.criteria.filter(source="rated")[:5])
    Rating.objects.bulk_create(
        Rating(assessment=a, criterion=c, value=2) for a in assessments for c in criteria
    )
    score_initiatives(bank_id=bank.pk, initiative_ids=[i.pk for i in initiatives])
    first = initiatives[0]
    template = Score.objects.get(initiative=first)
    Score.objects.bulk_create(
        Score(
            initiative=first,
            rubric_version_id=template.rubric_version_id,
            total=template.total,
            tier=template.tier,
            gate_passed=template.gate_passed,
            failed_gates=template.failed_gates,
            confidence=template.confidence,
            provisional=template.provisional,
            breakdown=template.breakdown,
            inputs_hash=f"{i:064d}",
        )
        for i in range(N)
    )
    kpis = KPI.objects.bulk_create(
        KPI(initiative=i, name="获客成本", baseline=100, target=50) for i in initiatives
    )
    KPIObservation.objects.bulk_create(
        KPIObservation(kpi=k, observed_on=datetime.date(2024, month, 1), value=90 - month)
        for k in kpis
        for month in (3, 6)
    )
    ScoreJob.objects.bulk_create(
        ScoreJob(bank=bank, requested_by=analyst, initiative_ids=[first.pk], total=1) for _ in range(N)
    )
    Report.objects.bulk_create(
        Report(
            bank=bank,
            period_start=datetime.date(2023, 1, 2) + datetime.timedelta(weeks=i),
            period_end=datetime.date(2023, 1, 8) + datetime.timedelta(weeks=i),
            status="ready",
        )
        for i in range(N)
    )
    for _ in range(3):
        rubric_version_clone(version)
    assert Criterion.objects.count() > 50
    return {"first": first.pk}


def _count(client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    return len(ctx.captured_queries), len(body["results"] if isinstance(body, dict) else body)


@pytest.mark.parametrize("mode", ["page", "cursor"])
@pytest.mark.parametrize("path", list(BUDGETS))
def test_list_queries_do_not_grow_with_the_page(
    path, mode, big, world, client_as, django_assert_max_num_queries
):
    who, budget = BUDGETS[path]
    client = client_as(world.user(who))
    url = API + path.format(**big)
    sep = "&" if "?" in url else "?"
    counts = {}
    client.get(f"{url}{sep}page_size=1")  # warm the process caches (compiled rubric versions, content types)
    for size in (5, 50):
        with django_assert_max_num_queries(budget):
            counts[size] = _count(client, f"{url}{sep}page_size={size}&pagination={mode}")
    queries = {size: c[0] for size, c in counts.items()}
    rows = {size: c[1] for size, c in counts.items()}
    assert queries[5] == queries[50], (path, mode, queries)
    if path not in FEW_ROWS:
        assert rows[5] == 5 and rows[50] > 5, rows
    print(f"\nQUERIES {mode:6} {who:9} {path:55} {queries[50]}")
