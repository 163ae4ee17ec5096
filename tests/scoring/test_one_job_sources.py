"""Issue 17: the partners of a chunk's initiatives and their figures in one statement (scoring.sources
``links_and_figures``), held equal to the two reads other databases keep — rows, order and the partner-strength
results of both rubric versions."""

import datetime
import types

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scoring import sources
from scoring.sources import InitiativeFacts
from tests.factories import (
    BankFactory,
    InitiativeFactory,
    InitiativePartnerFactory,
    PartnerMetricFactory,
    TechPartnerFactory,
)

pytestmark = pytest.mark.django_db


def _metric(partner, metric, period, end, value, **rest):
    PartnerMetricFactory(partner=partner, metric=metric, period=period, period_end=end, value=value, **rest)


@pytest.fixture
def portfolio(db, taxonomy):
    bank = BankFactory()
    big = TechPartnerFactory(key="zz-big", name_zh_hans="大厂", name_en="Big")
    seg = TechPartnerFactory(key="aa-seg", name_zh_hans="", name_en="Segments Co")
    bare = TechPartnerFactory(key="mm-bare")  # no figures at all
    q3 = datetime.date(2024, 9, 30)
    _metric(big, "market_cap_change_pct", "2024", datetime.date(2024, 12, 31), 43)
    _metric(big, "market_cap_change_pct", "2023", datetime.date(2023, 12, 31), -10)
    _metric(big, "revenue_growth_pct", "2024Q3", q3, 8)
    _metric(big, "revenue_growth_pct", "2024-01~09", q3, 7)
    _metric(big, "employees", "2024", q3, 1000, unit="人")  # not a figure the sources read
    _metric(seg, "market_cap_change_pct", "2024", datetime.date(2024, 12, 31), 5)
    _metric(seg, "revenue", "2024Q3", q3, 300, segment="cloud", unit="亿元")
    _metric(seg, "revenue", "2024Q3", q3, 100, segment="ai", part_of="cloud", unit="亿元")
    _metric(seg, "revenue", "2024Q3", q3, 700, segment="games", unit="亿元")
    _metric(seg, "revenue_growth_pct", "2024Q3", q3, 12, segment="cloud")
    _metric(seg, "revenue_growth_pct", "2024Q3", q3, 30, segment="ai")
    _metric(seg, "revenue_growth_pct", "2024Q3", q3, -3, segment="games")
    _metric(seg, "revenue_growth_pct", "2024Q2", datetime.date(2024, 6, 30), 9, segment="games")
    one, two, alone, none = (InitiativeFactory(bank=bank) for _ in range(4))
    InitiativePartnerFactory(initiative=one, partner=big, role="lead")
    InitiativePartnerFactory(initiative=one, partner=seg, role="technology")
    InitiativePartnerFactory(initiative=two, partner=seg, role="lead")
    InitiativePartnerFactory(initiative=two, partner=bare, role="data")
    InitiativePartnerFactory(initiative=alone, partner=bare, role="lead")
    other = InitiativeFactory(bank=BankFactory())  # another chunk's: not read
    InitiativePartnerFactory(initiative=other, partner=big, role="lead")
    return [one.pk, two.pk, alone.pk, none.pk]


def _apart(monkeypatch, fn, *args):
    monkeypatch.setattr(sources, "connection", types.SimpleNamespace(vendor="sqlite"))
    try:
        return fn(*args)
    finally:
        monkeypatch.undo()


def test_the_links_and_figures_read_as_one_are_the_two_reads(portfolio, monkeypatch):
    with CaptureQueriesContext(connection) as ctx:
        together = sources.links_and_figures(portfolio)
    assert len(ctx) == 1
    apart = _apart(monkeypatch, sources.links_and_figures, portfolio)
    assert together[0] == apart[0]  # the links in the same order
    # The figures: the same rows; two of one partner, metric, segment and period end (a quarter and the nine
    # months to it) come in either order on either path, as they did from the ORM's read.
    assert sorted(together[1], key=repr) == sorted(apart[1], key=repr)
    links, figures = together
    assert len(links) == 5 and len(figures) == 12
    assert {row[1] for row in figures} <= set(sources.PARTNER_METRICS)


def test_partner_strength_of_both_versions_is_unchanged(portfolio, monkeypatch):
    facts = [InitiativeFacts(i, as_of=datetime.date(2025, 3, 1)) for i in portfolio]
    for source in (sources.partner_strength, sources.partner_strength_v2):
        together = source(facts)
        apart = _apart(monkeypatch, source, facts)
        assert together == apart
        assert together[portfolio[0]].value is not None
    assert sources.links_and_figures([]) == ([], [])


def test_a_chunk_reads_the_partner_links_once_for_the_sources_and_the_limits(taxonomy, rubrics):
    """The joint-lending limits take the links the partner sources read (scoring.services.compute): the same
    reasons as their own read, and one read of the links a chunk instead of two."""
    from partnerships.services.limits import joint_lending_breaches
    from tests.partnerships.limit_data import (
        AS_OF,
        bank_figures,
        expose,
        lending_bank,
        load_regulatory_limits,
    )
    from tests.partnerships.limit_data import partner as limit_partner

    load_regulatory_limits()
    bank = lending_bank("links-bank")
    bank_figures(bank)
    ant, jd = limit_partner("ant", group="蚂蚁集团"), limit_partner("jd")
    expose(bank, ant, balance="400", funded="100")  # own part 300: 30 % of capital, a breach
    expose(bank, jd, balance="300", funded="90", outside="5")
    with_ant, with_jd, with_both, without = (InitiativeFactory(bank=bank) for _ in range(4))
    InitiativePartnerFactory(initiative=with_ant, partner=ant, role="lead")
    InitiativePartnerFactory(initiative=with_jd, partner=jd, role="lead")
    InitiativePartnerFactory(initiative=with_both, partner=ant, role="lead")
    InitiativePartnerFactory(initiative=with_both, partner=jd, role="technology")
    ids = [with_ant.pk, with_jd.pk, with_both.pk, without.pk]

    links, _figures = sources.links_and_figures(ids)
    given = joint_lending_breaches(ids, as_of=AS_OF, links=[(i, b, p) for i, p, _r, _zh, _en, b in links])
    own = joint_lending_breaches(ids, as_of=AS_OF)
    assert own and set(own) == {with_ant.pk, with_jd.pk, with_both.pk}
    assert given == own
    assert {b for *_rest, b in links} == {bank.pk}  # each link carries its initiative's bank

    from scoring.services.compute import score_initiatives

    with CaptureQueriesContext(connection) as ctx:
        score_initiatives(bank_id=bank.pk, initiative_ids=ids, as_of=AS_OF)
    link_reads = [q["sql"] for q in ctx.captured_queries if "partnerships_initiativepartner" in q["sql"]]
    assert len(link_reads) == 1, link_reads
