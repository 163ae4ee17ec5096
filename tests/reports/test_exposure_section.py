"""The report's exposure section (issue 13): its figures equal an independent SQL computation over the same rows,
it shows every limit's utilisation with the 12-month trends, and the page and exports carry it in one language.

The independent computation is plain SQL written here from the rules' text (the bank's own part of joint loans
over tier-1 net capital per related-party group; all balances per partner; HHI as the sum of squared shares), not
the report's or the limit check's code.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from partnerships.models import BankPeriodFigures, PartnerExposure
from partnerships.services.limit_register import limits_load
from scoring.reports.build import report_payload_build
from scoring.reports.export import report_tables
from scoring.reports.exposure import month_ends
from scoring.reports.render import report_render
from tests.factories import BankFactory, TechPartnerFactory

WEEK = datetime.date(2026, 11, 23)
WEEK_END = datetime.date(2026, 11, 29)
MONTHS = month_ends(datetime.date(2026, 10, 31), 13)  # one month more than the trend shows


@pytest.fixture
def lending(db, taxonomy):
    """Bank E lends with four partners for 13 months; two (ant, ant-credit) are one related-party group.

    October 2026 (the report's month): the group's own part is 500 + 300 - 150 - 90 = 560 of capital 2,000 →
    28 %: a breach of 25 %; jd's partner-funded share is 20 % (< 30 %): a breach; baidu has no partner-funded
    balance and no lowest share: unknown. Bank F lends too, and bank E's report must not count it.
    """
    limits_load()
    bank = BankFactory(code="bank-e", bank_type="joint_stock", home_region="31")
    other = BankFactory(code="bank-f", bank_type="joint_stock", home_region="44")
    ant = TechPartnerFactory(key="ant", related_party_group="蚂蚁集团")
    ant_credit = TechPartnerFactory(key="ant-credit", related_party_group="蚂蚁集团")
    jd = TechPartnerFactory(key="jd-x")
    baidu = TechPartnerFactory(key="baidu-x")
    for i, month in enumerate(MONTHS):
        grow = Decimal(i)  # balances grow by one a month, so each month of the trend differs
        rows = [
            (ant, Decimal(500) + grow, Decimal(150), Decimal(30)),
            (ant_credit, Decimal(300) + grow, Decimal(90), Decimal(30)),
            (jd, Decimal(200) + grow, Decimal(40) + grow / 5, None),
            (baidu, Decimal(100) + grow, None, None),
        ]
        for partner, balance, funded, lowest in rows:
            PartnerExposure.objects.create(
                bank=bank,
                partner=partner,
                period_end=month,
                balance=balance,
                partner_funded_balance=funded,
                lowest_partner_share_percent=lowest,
                out_of_region_balance=Decimal(0),
            )
        PartnerExposure.objects.create(
            bank=other,
            partner=jd,
            period_end=month,
            balance=Decimal(9999),
            partner_funded_balance=Decimal(5000),
        )
        if month.month in (3, 6, 9, 12):
            BankPeriodFigures.objects.create(
                bank=bank, period_end=month, tier1_net_capital=Decimal(2000), total_loans=Decimal(100000)
            )
    return bank


def _sql(query: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def _payload(bank):
    return report_payload_build(kind="weekly_portfolio", bank=bank, period_start=WEEK, period_end=WEEK_END)


def test_balances_groups_and_hhi_equal_an_independent_sql_computation(lending):
    exposure = _payload(lending)["exposure"]
    month = MONTHS[-1]
    assert exposure["present"] and exposure["month"] == month.isoformat()

    per_partner = dict(
        _sql(
            "SELECT p.key, SUM(e.balance) FROM partnerships_partnerexposure e "
            "JOIN partnerships_techpartner p ON p.id = e.partner_id "
            "WHERE e.bank_id = %s AND e.period_end = %s GROUP BY p.key",
            [lending.pk, month],
        )
    )
    assert {p["key"]: Decimal(str(p["balance"])) for p in exposure["partners"]["items"]} == per_partner
    total = sum(per_partner.values())
    assert Decimal(str(exposure["total_balance"])) == total

    (hhi,) = _sql(
        "SELECT SUM(POWER(b * 100.0 / t, 2)) FROM ("
        "  SELECT SUM(balance) AS b, SUM(SUM(balance)) OVER () AS t FROM partnerships_partnerexposure"
        "  WHERE bank_id = %s AND period_end = %s GROUP BY partner_id) s",
        [lending.pk, month],
    )[0]
    assert exposure["hhi"]["balances"] == pytest.approx(float(hhi), abs=0.05)

    per_group = dict(
        _sql(
            "SELECT COALESCE(NULLIF(p.related_party_group, ''), p.key), SUM(e.balance) "
            "FROM partnerships_partnerexposure e JOIN partnerships_techpartner p ON p.id = e.partner_id "
            "WHERE e.bank_id = %s AND e.period_end = %s GROUP BY 1",
            [lending.pk, month],
        )
    )
    assert {g["group"]: Decimal(str(g["balance"])) for g in exposure["groups"]["items"]} == per_group

    trend = dict(
        _sql(
            "SELECT period_end, SUM(balance) FROM partnerships_partnerexposure WHERE bank_id = %s "
            "AND period_end >= %s AND period_end <= %s GROUP BY period_end",
            [lending.pk, MONTHS[1], month],
        )
    )
    assert exposure["trend"]["months"] == [m.isoformat() for m in MONTHS[1:]]
    assert [Decimal(str(v)) for v in exposure["trend"]["total"]] == [trend[m] for m in MONTHS[1:]]


def test_limit_utilisation_equals_an_independent_sql_computation(lending):
    exposure = _payload(lending)["exposure"]
    month = MONTHS[-1]
    rows = {(r["kind"], r["subject"]): r for r in exposure["limits"]["items"]}

    # The bank's own part of joint loans with each related-party group, over the latest capital figure.
    capital = _sql(
        "SELECT tier1_net_capital FROM partnerships_bankperiodfigures WHERE bank_id = %s AND period_end <= %s "
        "ORDER BY period_end DESC LIMIT 1",
        [lending.pk, month],
    )[0][0]
    (own_group,) = _sql(
        "SELECT SUM(e.balance - e.partner_funded_balance) FROM partnerships_partnerexposure e "
        "JOIN partnerships_techpartner p ON p.id = e.partner_id "
        "WHERE e.bank_id = %s AND e.period_end = %s AND p.related_party_group = %s",
        [lending.pk, month, "蚂蚁集团"],
    )[0]
    group_row = rows[("partner_capital_share", "蚂蚁集团")]
    assert Decimal(group_row["value_percent"]) == (own_group * 100 / capital).quantize(Decimal("0.0001"))
    assert group_row["status"] == "breach"
    assert sorted(group_row["partners"]) == ["ant", "ant-credit"]

    (jd_share,) = _sql(
        "SELECT SUM(partner_funded_balance) * 100 / SUM(balance) FROM partnerships_partnerexposure "
        "WHERE bank_id = %s AND period_end = %s AND partner_id = (SELECT id FROM partnerships_techpartner "
        "WHERE key = 'jd-x')",
        [lending.pk, month],
    )[0]
    jd_row = rows[("partner_funded_share", "jd-x")]
    assert jd_row["status"] == "breach"
    assert Decimal(jd_row["value_percent"]) == jd_share.quantize(Decimal("0.0001"))
    assert rows[("partner_funded_share", "baidu-x")]["status"] == "unknown"

    # Worst first: breaches, then unknowns, then warnings and the rest; counts cover every row.
    order = [r["status"] for r in exposure["limits"]["items"]]
    rank = {"breach": 0, "unknown": 1, "warning": 2, "within": 3}
    assert order == sorted(order, key=rank.get)
    assert sum(exposure["limits"]["counts"].values()) == exposure["limits"]["count"] == len(order)

    # The trend: twelve months per kind; the group's capital share grows with its balance.
    series = {s["kind"]: s["values"] for s in exposure["limit_trend"]["series"]}
    assert len(series["partner_capital_share"]) == 12
    known = [v for v in series["partner_capital_share"] if v is not None]
    assert known == sorted(known) and known[-1] == pytest.approx(float(group_row["utilisation_percent"]))


def test_a_month_without_capital_is_unknown_in_the_trend_never_within(lending):
    BankPeriodFigures.objects.filter(bank=lending).update(tier1_net_capital=None)
    exposure = _payload(lending)["exposure"]
    capital_rows = [r for r in exposure["limits"]["items"] if r["kind"] == "partner_capital_share"]
    assert capital_rows and {r["status"] for r in capital_rows} == {"unknown"}
    series = {s["kind"]: s["values"] for s in exposure["limit_trend"]["series"]}
    assert series["partner_capital_share"] == [None] * 12


def test_no_exposure_means_no_rows_and_a_sentence(db, taxonomy):
    bank = BankFactory(code="bank-g")
    exposure = _payload(bank)["exposure"]
    assert exposure == {"present": False, "month": None}
    html = report_render(_payload(bank), language="en")
    assert "No lending with partners is recorded" in html


def test_page_and_exports_carry_the_section_in_one_language(lending):
    payload = _payload(lending)
    zh = report_render(payload, language="zh-hans")
    assert 'id="exposure"' in zh and "蚂蚁集团" in zh and 'id="chart-exposure-balances"' in zh
    assert 'id="chart-exposure-limits"' in zh and "<polyline" in zh
    assert "Joint-lending exposure" not in zh and "Breached" not in zh
    en = report_render(payload, language="en")
    assert "Joint-lending exposure and limits" in en and "Breached" in en
    from django.utils import translation

    with translation.override("zh-hans"):
        tables = {t.key: t for t in report_tables(payload)}
    limits = tables["exposure_limits"]
    assert len(limits.rows) == payload["exposure"]["limits"]["count"]
    statuses = {row[4] for row in limits.rows}
    assert statuses and not statuses & {"Breached", "Unknown", "Within", "Approaching"}


def test_a_report_built_before_the_section_still_renders(lending):
    payload = _payload(lending)
    del payload["exposure"]
    html = report_render(payload, language="en")
    assert 'id="exposure"' not in html
    with_tables = {t.key for t in report_tables(payload)}
    assert "exposure_limits" not in with_tables


def test_the_section_reads_a_fixed_number_of_queries_whatever_the_partners(lending):
    """The month, then the year read once (exposures, their partners, the banks, their figures, the rules)."""
    from django.test.utils import CaptureQueriesContext

    from scoring.reports.exposure import exposure_section

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            exposure_section(bank_id=lending.pk, period_end=WEEK_END, participation_hhi=None, limit=1000)
        return len(queries.captured_queries)

    before = count()
    for n in range(15):
        partner = TechPartnerFactory(key=f"extra-{n}", related_party_group="" if n % 2 else "extra-group")
        for month in MONTHS:
            PartnerExposure.objects.create(
                bank=lending, partner=partner, period_end=month, balance=Decimal(10), out_of_region_balance=0
            )
    assert (
        count() == before == 1 + 5
    )  # the month, then limit_history: exposures, partners, banks, figures, rules


@pytest.mark.parametrize("scope", ["bank", "all banks"])
def test_the_trend_is_the_peak_of_each_months_full_check(lending, scope):
    """The trend's earlier months come from ``limit_trend`` (peaks only, read once); they must equal the highest
    ``utilisation_percent`` of the rows ``limit_utilisation`` returns month by month — for a bank and for all."""
    from partnerships.models import Bank
    from partnerships.services.limits import limit_utilisation
    from scoring.reports.exposure import exposure_section

    BankPeriodFigures.objects.create(  # bank F: a figure for one quarter only, so some months are unknown
        bank=Bank.objects.get(code="bank-f"), period_end=MONTHS[6], tier1_net_capital=Decimal(90000)
    )
    bank_id = lending.pk if scope == "bank" else None
    section = exposure_section(bank_id=bank_id, period_end=WEEK_END, participation_hhi=None, limit=1000)
    months = [datetime.date.fromisoformat(m) for m in section["limit_trend"]["months"]]
    bank_ids = [lending.pk] if bank_id else list(Bank.objects.values_list("pk", flat=True))
    expected: dict[str, list] = {}
    for i, month in enumerate(months):
        for result in limit_utilisation(bank_ids, as_of=month, period=month).values():
            for row in result.rows:
                values = expected.setdefault(row.rule.kind, [None] * len(months))
                if row.utilisation_percent is not None:
                    values[i] = max(values[i] or 0.0, float(row.utilisation_percent))
    got = {s["kind"]: s["values"] for s in section["limit_trend"]["series"]}
    assert got == expected
    assert any(v is None for values in got.values() for v in values) or scope == "bank"
    assert len({tuple(v) for v in got.values()}) > 1  # the series differ: the test can tell kinds apart
