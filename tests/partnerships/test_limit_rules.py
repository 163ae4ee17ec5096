"""The joint-lending limit check as pure maths (partnerships.limit_rules): every limit at, just below and just above
its threshold, related parties summed, unknown figures, the warning level, and properties over random months."""

from __future__ import annotations

import dataclasses
import datetime
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partnerships.limit_rules import (
    BankFigures,
    BankProfile,
    Exposure,
    Rule,
    check_limits,
    figures_for,
    peak_utilisation,
    rules_in_force,
)

ROOT = Path(__file__).resolve().parents[2]
MONTH = datetime.date(2025, 6, 30)
SINCE = datetime.date(2021, 2, 19)
LOCAL = ("city_commercial", "rural_commercial", "rural_cooperative", "village")

FUNDED = Rule("funded", 1, "partner_funded_share", D(30), SINCE, products=("joint_lending",), id=1)
CAPITAL = Rule("capital", 1, "partner_capital_share", D(25), SINCE, products=("joint_lending",), id=2)
TOTAL = Rule("total", 1, "total_loans_share", D(50), SINCE, products=("joint_lending",), id=3)
REGION = Rule("region", 1, "out_of_region", D(0), SINCE, bank_types=LOCAL, id=4)
RULES = (FUNDED, CAPITAL, TOTAL, REGION)
BANK = BankProfile(bank_type="city_commercial", home_region="33", warning_percent=D(80))
FIGURES = [BankFigures(datetime.date(2025, 3, 31), D(1000), D(10000))]


def exposure(
    key="ant", pid=1, balance="100", funded="30", low="30", outside="0", group="", product="joint_lending"
):
    return Exposure(
        partner_id=pid,
        partner_key=key,
        product=product,
        balance=D(balance),
        partner_funded_balance=None if funded is None else D(funded),
        lowest_partner_share_percent=None if low is None else D(low),
        out_of_region_balance=None if outside is None else D(outside),
        related_party_group=group,
        partner_name_zh_hans=f"{key}中文",
        partner_name_en=key.title(),
    )


def check(exposures, *, rules=RULES, bank=BANK, figures=FIGURES, month=MONTH, max_age=92):
    return check_limits(
        bank=bank, rules=rules, exposures=exposures, figures=figures, month_end=month, max_age_days=max_age
    )


def one(rows, kind, subject=None):
    found = [r for r in rows if r.rule.kind == kind and (subject is None or r.subject == subject)]
    assert len(found) == 1, [(r.rule.kind, r.subject) for r in rows]
    return found[0]


# --- each limit at, just below and just above its threshold -------------------------------------------------------
@pytest.mark.parametrize(
    ("own", "status"),
    [
        ("249.99", "warning"),
        ("250", "warning"),
        ("250.01", "breach"),
        ("199.99", "within"),
        ("200", "warning"),
    ],
)
def test_partner_capital_share_at_below_and_above_25_percent(own, status):
    # capital 1,000: 25 % is an own part of 250; the partner funds nothing here (funded 0).
    row = one(check([exposure(balance=own, funded="0", low=None)], rules=(CAPITAL,)), "partner_capital_share")
    assert row.status == status, row
    assert row.value_percent == (D(own) / 10).quantize(D("0.0001"))


def test_exactly_at_the_capital_threshold_is_not_a_breach_and_a_hair_over_is():
    at = one(check([exposure(balance="250", funded="0")], rules=(CAPITAL,)), "partner_capital_share")
    over = one(check([exposure(balance="250.01", funded="0")], rules=(CAPITAL,)), "partner_capital_share")
    assert (at.status, at.value_percent, at.utilisation_percent) == ("warning", D("25.0000"), D("100.0000"))
    assert (over.status, over.value_percent) == ("breach", D("25.0010"))


@pytest.mark.parametrize(
    ("own", "status"),
    [("4999.99", "warning"), ("5000", "warning"), ("5000.01", "breach"), ("3999.99", "within")],
)
def test_total_loans_share_at_below_and_above_50_percent(own, status):
    rows = check(
        [exposure("a", 1, balance=own, funded="0"), exposure("b", 2, balance="0", funded="0")], rules=(TOTAL,)
    )
    row = one(rows, "total_loans_share")
    assert (row.status, row.subject_kind, row.subject) == (status, "bank", "")


@pytest.mark.parametrize(
    ("low", "status"),
    [
        ("30", "warning"),
        ("29.9999", "breach"),
        ("30.0001", "warning"),
        ("37.5", "warning"),
        ("37.5001", "within"),
    ],
)
def test_partner_funded_share_at_below_and_above_30_percent(low, status):
    row = one(check([exposure(low=low)], rules=(FUNDED,)), "partner_funded_share")
    assert row.status == status
    assert row.figures["basis"] == "lowest_single_loan"


@pytest.mark.parametrize(("outside", "status"), [("0", "within"), ("0.01", "breach")])
def test_out_of_region_none_allowed_for_a_local_bank(outside, status):
    row = one(check([exposure(outside=outside)], rules=(REGION,)), "out_of_region")
    assert row.status == status


def test_out_of_region_does_not_apply_to_a_national_bank_and_counts_every_product():
    national = BankProfile(bank_type="joint_stock", home_region="31")
    assert check([exposure(outside="50")], rules=(REGION,), bank=national) == []
    row = one(
        check([exposure(outside="5", product="facilitation", funded=None)], rules=(REGION,)), "out_of_region"
    )
    assert row.status == "breach"


# --- subjects -----------------------------------------------------------------------------------------------------
def test_related_parties_are_summed_and_an_ungrouped_partner_is_its_own_subject():
    rows = check(
        [
            exposure("alipay", 1, balance="150", funded="0", group="蚂蚁集团"),
            exposure("mybank", 2, balance="150", funded="0", group="蚂蚁集团"),
            exposure("jd", 3, balance="150", funded="0"),
        ],
        rules=(CAPITAL,),
    )
    group = one(rows, "partner_capital_share", "蚂蚁集团")
    assert group.subject_kind == "group" and group.partners == ("alipay", "mybank")
    assert (group.status, group.value_percent) == ("breach", D("30.0000"))  # 300 of 1,000: each alone is 15 %
    alone = one(rows, "partner_capital_share", "jd")
    assert (alone.subject_kind, alone.status) == ("partner", "within")


def test_the_own_part_counts_against_capital_not_the_partners_part():
    row = one(check([exposure(balance="500", funded="300")], rules=(CAPITAL,)), "partner_capital_share")
    assert row.value_percent == D("20.0000") and row.figures["own_balance"] == "200.00"


def test_facilitation_does_not_count_against_the_joint_lending_limits():
    rows = check(
        [exposure(balance="9000", funded=None, product="facilitation")], rules=(CAPITAL, TOTAL, FUNDED)
    )
    assert rows == []


def test_a_month_without_exposure_has_no_rows():
    assert check([]) == []
    assert check([exposure(balance="0")]) == []


# --- unknown figures ----------------------------------------------------------------------------------------------
def test_no_capital_for_the_period_makes_the_capital_limit_unknown_never_within():
    row = one(
        check([exposure(balance="1", funded="0")], rules=(CAPITAL,), figures=[]), "partner_capital_share"
    )
    assert (row.status, row.missing, row.value_percent) == ("unknown", ("tier1_net_capital",), None)
    assert row.figures["tier1_net_capital"]["problem"] == "missing"


@pytest.mark.parametrize(("days", "status"), [(92, "within"), (93, "unknown")])
def test_stale_capital_older_than_the_max_age_is_unknown(days, status):
    figures = [BankFigures(MONTH - datetime.timedelta(days=days), D(1000), D(10000))]
    row = one(
        check([exposure(balance="1", funded="0")], rules=(CAPITAL,), figures=figures), "partner_capital_share"
    )
    assert row.status == status
    if status == "unknown":
        assert row.figures["tier1_net_capital"] == {
            "value": None,
            "period_end": (MONTH - datetime.timedelta(days=days)).isoformat(),
            "problem": "stale",
        }


def test_each_figure_is_its_own_latest_and_figures_after_the_month_do_not_count():
    figures = [
        BankFigures(datetime.date(2025, 3, 31), D(1000), None),
        BankFigures(datetime.date(2025, 5, 31), None, D(8000)),
        BankFigures(datetime.date(2025, 7, 31), D(1), D(1)),  # after the month
    ]
    found = figures_for(figures, MONTH, 92)
    assert found["tier1_net_capital"].value == D(1000) and found["total_loans"].value == D(8000)


def test_no_total_loans_makes_the_total_limit_unknown():
    figures = [BankFigures(datetime.date(2025, 6, 30), D(1000), None)]
    row = one(check([exposure(funded="0")], rules=(TOTAL,), figures=figures), "total_loans_share")
    assert (row.status, row.missing) == ("unknown", ("total_loans",))


def test_a_blank_home_region_or_an_unknown_bank_type_makes_out_of_region_unknown():
    blank_region = BankProfile(bank_type="city_commercial", home_region="")
    row = one(check([exposure(outside="0")], rules=(REGION,), bank=blank_region), "out_of_region")
    assert (row.status, row.missing) == ("unknown", ("home_region",))
    no_type = BankProfile(bank_type="", home_region="33")
    row = one(check([exposure(outside="50")], rules=(REGION,), bank=no_type), "out_of_region")
    assert row.status == "unknown" and "bank_type" in row.missing  # it may apply: not a breach, never within
    # a limit naming no bank types applies to a bank of unknown type as usual
    assert (
        one(check([exposure(funded="0")], rules=(CAPITAL,), bank=no_type), "partner_capital_share").status
        == "within"
    )


def test_a_blank_out_of_region_balance_is_unknown_unless_the_recorded_part_already_breaches():
    rows = check(
        [exposure("a", 1, outside=None), exposure("b", 2, outside=None)],
        rules=(REGION,),
    )
    assert {r.status for r in rows} == {"unknown"} and rows[0].missing == ("out_of_region_balance",)
    two_products = [exposure("a", 1, outside="3"), exposure("a", 1, outside=None, product="facilitation")]
    assert one(check(two_products, rules=(REGION,)), "out_of_region").status == "breach"


def test_without_the_lowest_single_loan_share_only_an_aggregate_below_the_minimum_is_known():
    below = one(
        check([exposure(balance="100", funded="29", low=None)], rules=(FUNDED,)), "partner_funded_share"
    )
    assert (below.status, below.figures["basis"], below.value_percent) == (
        "breach",
        "aggregate",
        D("29.0000"),
    )
    above = one(
        check([exposure(balance="100", funded="60", low=None)], rules=(FUNDED,)), "partner_funded_share"
    )
    assert (above.status, above.missing) == ("unknown", ("lowest_partner_share_percent",))
    nothing = one(check([exposure(funded=None, low=None)], rules=(FUNDED,)), "partner_funded_share")
    assert nothing.status == "unknown"


def test_a_blank_partner_funded_balance_counts_the_whole_balance_as_an_upper_bound():
    within = one(check([exposure(balance="100", funded=None)], rules=(CAPITAL,)), "partner_capital_share")
    assert (within.status, within.figures["upper_bound"]) == ("within", True)  # at most 10 %: surely within
    over = one(check([exposure(balance="300", funded=None)], rules=(CAPITAL,)), "partner_capital_share")
    assert (over.status, over.missing) == ("unknown", ("partner_funded_balance",))  # at most 30 %: maybe not


# --- the warning level ----------------------------------------------------------------------------------------------
def test_the_rules_warning_level_overrides_the_banks():
    strict = Rule("capital", 1, "partner_capital_share", D(25), SINCE, warning_percent=D(50), id=2)
    row = one(check([exposure(balance="125", funded="0")], rules=(strict,)), "partner_capital_share")
    assert (row.status, row.warning_percent) == ("warning", D(50))  # 50 % of the limit used
    lax = BankProfile(bank_type="joint_stock", home_region="31", warning_percent=D(90))
    assert (
        one(
            check([exposure(balance="220", funded="0")], rules=(CAPITAL,), bank=lax), "partner_capital_share"
        ).status
        == "within"
    )
    assert (
        one(
            check([exposure(balance="225", funded="0")], rules=(CAPITAL,), bank=lax), "partner_capital_share"
        ).status
        == "warning"
    )


# --- versions ---------------------------------------------------------------------------------------------------------
def test_the_version_in_force_on_the_month_end_is_used():
    v1 = Rule("capital", 1, "partner_capital_share", D(25), SINCE, id=1)
    v2 = Rule("capital", 2, "partner_capital_share", D(20), datetime.date(2025, 7, 1), id=2)
    own = Rule("capital", 1, "partner_capital_share", D(10), SINCE, bank_id=7, id=3)
    ended = Rule("old", 1, "total_loans_share", D(50), SINCE, valid_until=datetime.date(2024, 12, 31), id=4)
    assert [r.id for r in rules_in_force([v1, v2, own, ended], MONTH)] == [1, 3]
    assert [r.id for r in rules_in_force([v1, v2, own, ended], datetime.date(2025, 7, 31))] == [2, 3]
    assert rules_in_force([v1], datetime.date(2021, 2, 18)) == []


def test_a_banks_own_limit_is_checked_beside_the_regulatory_one():
    own = Rule("own-capital", 1, "partner_capital_share", D(10), SINCE, bank_id=7, id=9)
    rows = check([exposure(balance="150", funded="0")], rules=(CAPITAL, own))
    assert [(r.rule.id, r.status) for r in rows] == [(2, "within"), (9, "breach")]


def test_rows_are_plain_json():
    import json

    rows = check([exposure(funded=None, outside=None)], figures=[])
    json.dumps([r.as_dict() for r in rows])


def test_the_check_imports_no_django():
    code = "import sys, partnerships.limit_rules; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- properties -------------------------------------------------------------------------------------------------------
money = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)
share = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False)


@st.composite
def months(draw):
    n = draw(st.integers(min_value=1, max_value=5))
    rows = []
    for i in range(n):
        balance = draw(money)
        funded = draw(st.one_of(st.none(), st.decimals(min_value=0, max_value=balance, places=2)))
        outside = draw(st.one_of(st.none(), st.decimals(min_value=0, max_value=balance, places=2)))
        rows.append(
            exposure(
                f"p{i}",
                i + 1,
                balance=str(balance),
                funded=None if funded is None else str(funded),
                low=draw(st.one_of(st.none(), share.map(str))),
                outside=None if outside is None else str(outside),
                group=draw(st.sampled_from(["", "", "g1", "g2"])),
                # Facilitation too: the rules that count joint lending only must leave it out.
                product=draw(st.sampled_from(["joint_lending", "joint_lending", "facilitation"])),
            )
        )
    capital = draw(st.one_of(st.none(), st.decimals(min_value="0.01", max_value=50_000, places=2)))
    loans = draw(st.one_of(st.none(), st.decimals(min_value="0.01", max_value=100_000, places=2)))
    return rows, [BankFigures(datetime.date(2025, 6, 30), capital, loans)]


RANK = {"within": 0, "warning": 1, "unknown": 2, "breach": 2}


def _by_key(rows):
    return {(r.rule.id, r.subject): r for r in rows}


@settings(max_examples=300, deadline=None)
@given(months(), st.integers(min_value=0), money.filter(lambda m: m > 0))
def test_adding_exposure_never_lowers_utilisation(month, who, extra):
    exposures, figures = month
    before = _by_key(check(exposures, figures=figures, rules=(CAPITAL, TOTAL)))
    i = who % len(exposures)
    e = exposures[i]
    grown = [
        *exposures[:i],
        exposure(
            e.partner_key,
            e.partner_id,
            balance=str(e.balance + extra),
            funded=None if e.partner_funded_balance is None else str(e.partner_funded_balance),
            low=None,
            outside=None,
            group=e.related_party_group,
        ),
        *exposures[i + 1 :],
    ]
    after = _by_key(check(grown, figures=figures, rules=(CAPITAL, TOTAL)))
    for key, row in before.items():
        if (
            row.utilisation_percent is not None
            and key in after
            and after[key].utilisation_percent is not None
        ):
            assert after[key].utilisation_percent >= row.utilisation_percent, (row, after[key])
        if row.status in ("breach", "unknown"):
            assert after[key].status in ("breach", "unknown")


BLANKABLE = ("partner_funded_balance", "lowest_partner_share_percent", "out_of_region_balance")


@settings(max_examples=300, deadline=None)
@given(
    months(),
    st.integers(min_value=0),
    st.sampled_from([*BLANKABLE, "tier1_net_capital", "total_loans", "home_region", "bank_type"]),
)
def test_blanking_any_figure_never_turns_a_breach_or_warning_into_within(month, who, what):
    exposures, figures = month
    before = _by_key(check(exposures, figures=figures))
    bank, figures_after, exposures_after = BANK, figures, exposures
    if what in BLANKABLE:
        i = who % len(exposures)
        e = exposures[i]
        exposures_after = [*exposures[:i], dataclasses.replace(e, **{what: None}), *exposures[i + 1 :]]
    elif what in ("tier1_net_capital", "total_loans"):
        figures_after = [
            BankFigures(
                f.period_end,
                **{**{k: getattr(f, k) for k in ("tier1_net_capital", "total_loans")}, what: None},
            )
            for f in figures
        ]
    else:
        bank = BankProfile(**{**BANK.__dict__, what: ""})
    after = _by_key(check(exposures_after, figures=figures_after, bank=bank))
    for key, row in before.items():
        if row.status in ("breach", "warning", "unknown"):
            assert after[key].status != "within", (what, row, after[key])


OWN_CAPITAL = Rule(
    "own-capital", 1, "partner_capital_share", D(5), SINCE, products=("joint_lending",), id=5, bank_id=9
)
FUNDED_ZERO = Rule(
    "funded-zero", 1, "partner_funded_share", D(0), SINCE, products=("joint_lending",), id=6, bank_id=9
)
TOTAL_ZERO = Rule("total-zero", 1, "total_loans_share", D(0), SINCE, id=7, bank_id=9)
# A bank's own out-of-region tolerance (5 %): above 0, a recorded part over it is a breach even with blanks.
REGION_FIVE = Rule("region-five", 1, "out_of_region", D(5), SINCE, bank_types=LOCAL, id=8, bank_id=9)
RULE_SETS = (
    RULES,
    (*RULES, OWN_CAPITAL, FUNDED_ZERO, TOTAL_ZERO),
    (FUNDED_ZERO, REGION, TOTAL_ZERO),
    (FUNDED, REGION_FIVE, CAPITAL),
)


@settings(max_examples=500, deadline=None)
@given(
    months(),
    st.sampled_from(
        [
            BANK,
            BankProfile(bank_type="", home_region="", warning_percent=D(80)),
            # A local bank whose home region is not recorded: out-of-region rows unknown unless none is recorded.
            BankProfile(bank_type="city_commercial", home_region="", warning_percent=D(80)),
            BankProfile(bank_type="joint_stock", home_region="11", warning_percent=D(90)),
        ]
    ),
    st.sampled_from(RULE_SETS),
)
def test_the_peak_per_kind_is_the_highest_utilisation_the_rows_show(month, bank, rules):
    """The report's trend uses ``peak_utilisation`` (peaks found from each rule's extreme value, without rows); it
    must agree with the rows ``check_limits`` returns — thresholds of 0 and minimums included."""
    exposures, figures = month
    rows = check(exposures, figures=figures, bank=bank, rules=rules)
    expected: dict = {}
    for row in rows:
        expected.setdefault(row.rule.kind, None)
        if row.utilisation_percent is not None:
            current = expected[row.rule.kind]
            expected[row.rule.kind] = (
                max(current, row.utilisation_percent) if current is not None else row.utilisation_percent
            )
    peaks = peak_utilisation(
        bank=bank, rules=rules, exposures=exposures, figures=figures, month_end=MONTH, max_age_days=92
    )
    assert peaks == expected
    assert list(peaks) == list(expected)  # kinds in the check's order
