"""The payload is built with a fixed number of queries: the same for 3 initiatives as for 60."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partnerships.models import ScenarioType
from scoring.reports.build import report_payload_build
from scoring.reports.services import report_generate
from tests.factories import (
    BankFactory,
    InitiativeFactory,
    InitiativePartnerFactory,
    KPIFactory,
    KPIObservationFactory,
)
from tests.reports.conftest import COMPLIANCE_UNRATED, older_version, set_score

pytestmark = pytest.mark.django_db

PILLARS = ["scenario", "data_sharing", "smart_banking"]
STATUSES = ["live", "pilot", "idea", "live", "retired"]
FIRST_WEEK = datetime.date(2024, 11, 4)
SECOND_WEEK = datetime.date(2024, 11, 11)
# Pillars, pillar × status, totals map, score aggregate, top five, bottom five, previous report, movers'
# details, gate names, failed gates' counts, failed gates' list, published versions, stale counts, stale list,
# scenario coverage, KPI figures, listed KPIs' details, partner participations, the latest exposure month (none
# here, so the exposure section stops there; with exposure its count is pinned in test_exposure_section.py), the
# open monitoring events' counts and their list (scoring.reports.lifecycle).
EXPECTED_QUERIES = 21


def _portfolio(code: str, size: int, partners) -> object:
    bank = BankFactory(code=code)
    types = list(ScenarioType.objects.all())
    initiatives = []
    for n in range(size):
        pillar = PILLARS[n % 3]
        initiative = InitiativeFactory(
            bank=bank, code=f"{code}-{n}", pillar_id=pillar, status=STATUSES[n % 5]
        )
        initiative.scenario_types.set([t for t in types if t.pillar_id == pillar][: 1 + n % 3])
        InitiativePartnerFactory(initiative=initiative, partner=partners[n % len(partners)], role="lead")
        kpi = KPIFactory(initiative=initiative, baseline=100, target=200)
        KPIObservationFactory(kpi=kpi, value=100 + n)
        if n % 7 == 6:
            continue  # never scored
        if n % 4 == 3:
            set_score(initiative, 20 + n % 50, "D", failed_gates=[COMPLIANCE_UNRATED])
        elif n % 6 == 5:
            set_score(initiative, 50 + n % 40, "C", version=older_version(pillar))
        else:
            set_score(initiative, 40 + n % 60, "B")
        initiatives.append(initiative)
    return bank, initiatives


def _count_second_report(bank, initiatives) -> int:
    report_generate(bank_id=bank.pk, period_start=FIRST_WEEK, deliver=False)
    set_score(initiatives[0], 1.0, "D", failed_gates=[COMPLIANCE_UNRATED])  # at least one mover
    with CaptureQueriesContext(connection) as queries:
        payload = report_payload_build(
            kind="weekly_portfolio",
            bank=bank,
            period_start=SECOND_WEEK,
            period_end=SECOND_WEEK + datetime.timedelta(days=6),
        )
    assert payload["movers"]["items"], "the comparison must include the movers' query"
    return len(queries.captured_queries)


def test_query_count_does_not_grow_with_the_portfolio(rubrics, partners):
    partner_list = list(partners.values())
    small = _count_second_report(
        *_portfolio("small", 3, partner_list),
    )
    large = _count_second_report(*_portfolio("large", 60, partner_list))
    assert small == large == EXPECTED_QUERIES


def test_all_banks_payload_has_the_same_query_count(rubrics, partners):
    partner_list = list(partners.values())
    _portfolio("one", 10, partner_list)
    _portfolio("two", 30, partner_list)
    with CaptureQueriesContext(connection) as queries:
        report_payload_build(
            kind="weekly_portfolio", bank=None, period_start=SECOND_WEEK, period_end=SECOND_WEEK
        )
    assert len(queries.captured_queries) == EXPECTED_QUERIES - 1  # no previous report, so no movers' query


def test_long_lists_keep_the_most_urgent_items_and_every_count(rubrics, partners, settings):
    """Past SCORECARD_REPORT_LIST_LIMIT the lists keep their most urgent items; counts cover every item."""
    bank, _initiatives = _portfolio("cap", 40, list(partners.values()))
    full = report_payload_build(
        kind="weekly_portfolio", bank=bank, period_start=SECOND_WEEK, period_end=SECOND_WEEK
    )
    settings.SCORECARD_REPORT_LIST_LIMIT = 3
    capped = report_payload_build(
        kind="weekly_portfolio", bank=bank, period_start=SECOND_WEEK, period_end=SECOND_WEEK
    )
    for section in ("failed_gates", "stale", "kpis"):
        assert len(full[section]["items"]) > 3, section  # the portfolio really is longer than the limit
        assert capped[section]["items"] == full[section]["items"][:3], section
        assert capped[section]["count"] == full[section]["count"] == len(full[section]["items"]), section
    assert capped["failed_gates"]["by_gate"] == full["failed_gates"]["by_gate"]
    assert capped["stale"]["by_reason"] == full["stale"]["by_reason"]
    assert capped["kpis"]["by_pillar"] == full["kpis"]["by_pillar"]
    # Most urgent first: the lowest totals among failed gates, the lowest attainment among KPIs.
    totals = [item["total"] for item in full["failed_gates"]["items"]]
    assert totals == sorted(totals)
    attainments = [item["attainment"] for item in full["kpis"]["items"] if item["attainment"] is not None]
    assert attainments == sorted(attainments)


def test_the_page_says_what_the_lists_leave_out(rubrics, partners, settings):
    from django.utils import translation

    from scoring.reports.render import report_render

    settings.SCORECARD_REPORT_LIST_LIMIT = 2
    bank, _initiatives = _portfolio("note", 40, list(partners.values()))
    payload = report_payload_build(
        kind="weekly_portfolio", bank=bank, period_start=SECOND_WEEK, period_end=SECOND_WEEK
    )
    with translation.override("en"):
        html = report_render(payload, language="en")
    count = payload["failed_gates"]["count"]
    assert f"The first 2 of {count} are listed here; the CSV and XLSX downloads list the first 2." in html
