"""On PostgreSQL the big sections (totals, failed gates, stale, KPIs) are worked out in SQL (``build.set_based``);
elsewhere row by row in Python. Both ways, on the same data, give the same payload to the byte — including the
edge cases of the attainment (a target equal to its baseline as floats, a KPI never observed, no progress on a falling
target, which Python's clip makes 0.0 and never -0.0), codes that sort differently under a linguistic collation
than by code point, gates no criterion names, and lists cut by the list limit.
"""

import datetime
import json

import pytest
from django.db import connection
from django.utils import timezone

from scoring.reports import build
from tests.factories import InitiativeFactory, KPIFactory, KPIObservationFactory
from tests.reports.conftest import COMPLIANCE_UNRATED, DATA_PROTECTION_LOW, set_score

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based way is PostgreSQL's"),
]

WEEK = datetime.date(2024, 11, 11)
AS_OF = timezone.make_aware(datetime.datetime(2024, 11, 18, 8, 0))
UNNAMED_GATE = {
    "key": "no_such_criterion",
    "name": "无此标准",
    "rating": 1.0,
    "threshold": 2.0,
    "reason": "x",
}
# baseline, target, latest observation (None: never observed)
KPI_CASES = [
    (320, 200, 320),  # no progress on a falling target: (0 / −120) is −0.0, clipped to 0.0
    (100, 200, 100),  # no progress on a rising one: 0.0
    (100, 200, 50),  # the wrong way: 0
    (100, 200, 250),  # beaten: 1
    (100, 200, 200),  # met exactly: 1
    (0, 3, 1),  # a third: a float that is not exact
    (0, 7, 2),
    (1.5, 2.25, 1.75),
    (10, 0, 7),  # falling, part way
    (0, 5, None),  # never observed
    # Equal as floats, not as decimals (a target equal to its baseline is refused): not counted either way.
    ("12345678901234.5678", "12345678901234.5679", "12345678901234.5678"),
]
# Under a linguistic collation "x-2" sorts after "x1" (punctuation ignored), by code point before it (a database
# created with the C collation, as this one may be, sorts them as Python does anyway).
CODES = ["x-2", "x1", "X3", "x_4", "y1", "Z9", "é1", "e2"]


def _payload(bank, *, set_based: bool, monkeypatch) -> str:
    with monkeypatch.context() as patched:
        if not set_based:
            patched.setattr(build, "set_based", lambda alias: False)
        payload = build.report_payload_build(
            kind="weekly_portfolio",
            bank=bank,
            period_start=WEEK,
            period_end=WEEK + datetime.timedelta(days=6),
            as_of=AS_OF,
        )
    # json.dumps tells -0.0 from 0.0 (== does not); sorted keys: the maps' order is not part of the payload.
    return json.dumps(payload, sort_keys=True, ensure_ascii=False)


@pytest.fixture
def edge_cases(portfolio):
    banks, _users, _by_code = portfolio
    bank = banks["A"]
    for n, code in enumerate(CODES):
        initiative = InitiativeFactory(bank=bank, code=code, pillar_id="scenario", status="live")
        if n % 4 == 0:
            set_score(initiative, 10.0 + n, "D", failed_gates=[UNNAMED_GATE, COMPLIANCE_UNRATED])
        elif n % 4 == 1:
            set_score(initiative, 10.0 + n, "D", failed_gates=[DATA_PROTECTION_LOW])
        elif n % 4 == 2:
            set_score(initiative, 50.0, "C")  # ties on the total: by initiative
        for baseline, target, latest in KPI_CASES:
            kpi = KPIFactory(initiative=initiative, baseline=baseline, target=target)
            if latest is not None:
                KPIObservationFactory(kpi=kpi, observed_on=datetime.date(2024, 1, 31), value=0)
                KPIObservationFactory(kpi=kpi, observed_on=datetime.date(2024, 2, 29), value=latest)
    return banks


def test_both_ways_give_the_same_payload(edge_cases, monkeypatch):
    bank = edge_cases["A"]
    set_based = _payload(bank, set_based=True, monkeypatch=monkeypatch)
    row_by_row = _payload(bank, set_based=False, monkeypatch=monkeypatch)
    assert set_based == row_by_row
    payload = json.loads(set_based)
    # The data really reaches the cases: an unnamed gate counted, -0.0 nowhere, KPIs unmeasured and measured.
    assert {
        "key": "no_such_criterion",
        "name_zh_hans": "无此标准",
        "name_en": "无此标准",
        "count": 2,
    } in payload["failed_gates"]["by_gate"]
    assert "-0.0" not in set_based
    attainments = [item["attainment"] for item in payload["kpis"]["items"]]
    assert None in attainments and 0.0 in attainments and 1.0 in attainments
    assert payload["stale"]["count"] > 0 and payload["totals"]


@pytest.mark.parametrize("limit", [1, 3, 7, 40])
def test_both_ways_keep_the_same_items_under_the_list_limit(edge_cases, monkeypatch, settings, limit):
    settings.SCORECARD_REPORT_LIST_LIMIT = limit
    bank = edge_cases["A"]
    assert _payload(bank, set_based=True, monkeypatch=monkeypatch) == _payload(
        bank, set_based=False, monkeypatch=monkeypatch
    )


def test_both_ways_agree_across_all_banks_and_for_an_empty_bank(edge_cases, monkeypatch):
    from tests.factories import BankFactory

    empty = BankFactory(code="empty")
    for bank in (None, empty):
        assert _payload(bank, set_based=True, monkeypatch=monkeypatch) == _payload(
            bank, set_based=False, monkeypatch=monkeypatch
        )


def test_stale_lists_the_same_rows_by_reassessment_date(edge_cases, monkeypatch, settings):
    """Approvals at various dates (the approval views joined): the same counts and the same most-overdue order."""
    from dateutil.relativedelta import relativedelta

    from partnerships.models import Initiative
    from tests.lifecycle.helpers import approve_on

    today = timezone.localdate(AS_OF)
    for n, initiative in enumerate(Initiative.objects.filter(bank=edge_cases["A"]).order_by("code")):
        if n % 3:
            approve_on(initiative, today - relativedelta(months=6 + 4 * n))
    settings.SCORECARD_REPORT_LIST_LIMIT = 4
    set_based = _payload(edge_cases["A"], set_based=True, monkeypatch=monkeypatch)
    assert set_based == _payload(edge_cases["A"], set_based=False, monkeypatch=monkeypatch)
    stale = json.loads(set_based)["stale"]
    assert stale["count"] > len(stale["items"]) == 4


def _sections_seen(monkeypatch) -> dict[str, tuple[str, bool]]:
    """{section: (the thread it ran in, whether the cyclic collector was on)}, recorded as the payload is built."""
    import gc
    import threading

    seen: dict[str, tuple[str, bool]] = {}
    for name in ("_failed_gates", "_stale", "_kpi_section", "_totals", "exposure_section"):
        original = getattr(build, name)

        def recorded(*args, _name=name, _original=original, **kwargs):
            seen[_name] = (threading.current_thread().name, gc.isenabled())
            return _original(*args, **kwargs)

        monkeypatch.setattr(build, name, recorded)
    return seen


def _backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_sections_worked_out_beside_give_the_same_payload(edge_cases, monkeypatch, settings):
    """Outside a transaction the failed gates, stale and KPI sections run in threads on connections of their own
    (closed after), with the collector paused: the payload is the same as built one section after another, here,
    and as the row-by-row way."""
    import gc

    from django.db import transaction

    bank = edge_cases["A"]
    settings.SCORECARD_REPORT_LIST_LIMIT = 3
    assert not transaction.get_connection().in_atomic_block and build.concurrent(connection.alias)
    seen = _sections_seen(monkeypatch)
    before = _backends()
    beside = _payload(bank, set_based=True, monkeypatch=monkeypatch)
    assert _backends() == before  # the threads' connections are closed
    assert gc.isenabled()
    assert {name for name, (thread, _gc) in seen.items() if thread.startswith("report-beside")} == {
        "_failed_gates",
        "_stale",
        "_kpi_section",
    }
    assert not any(collector_on for _thread, collector_on in seen.values())

    settings.SCORECARD_REPORT_CONCURRENT = False
    settings.SCORECARD_REPORT_PAUSE_GC = False
    seen.clear()
    one_by_one = _payload(bank, set_based=True, monkeypatch=monkeypatch)
    assert {thread for thread, _gc in seen.values()} == {"MainThread"}
    assert all(collector_on for _thread, collector_on in seen.values())
    assert beside == one_by_one == _payload(bank, set_based=False, monkeypatch=monkeypatch)
    settings.SCORECARD_REPORT_CONCURRENT = True  # every bank's report too
    across = _payload(None, set_based=True, monkeypatch=monkeypatch)
    settings.SCORECARD_REPORT_CONCURRENT = False
    assert across == _payload(None, set_based=True, monkeypatch=monkeypatch)


def test_in_a_transaction_every_section_is_built_here(edge_cases, monkeypatch):
    """A second connection would not see the transaction's rows: inside one, nothing runs beside."""
    seen = _sections_seen(monkeypatch)
    assert not build.concurrent(connection.alias)
    _payload(edge_cases["A"], set_based=True, monkeypatch=monkeypatch)
    assert {thread for thread, _gc in seen.values()} == {"MainThread"}


def test_the_collector_is_back_as_it_was_after_nested_and_failed_builds():
    import gc

    assert gc.isenabled()
    with build.collector_paused():
        with build.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), build.collector_paused():
        1 / 0  # noqa: B018
    assert gc.isenabled()
    gc.disable()
    try:
        with build.collector_paused():
            pass
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()


def test_a_generated_report_leaves_the_collector_on(edge_cases):
    import gc

    from scoring.models.report import ReportStatus
    from scoring.reports.services import report_generate

    report = report_generate(bank_id=edge_cases["A"].pk, period_start=WEEK, force=True, deliver=False)
    assert report.status == ReportStatus.READY and gc.isenabled()
