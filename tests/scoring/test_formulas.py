"""Formulas for the computed criteria: every band edge, the weighting, and the unrated cases.

Figures from the seed: 2024 market-cap change 腾讯 +43 %, 小米 +121 %, 拼多多 −33 %; 腾讯 value-added services
revenue +9 % (2024 Q3), 小米 revenue +30.5 % (2024 Q3). Plain pytest: no Django, no database.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from scoring.engine import RatingInput
from scoring.formulas import (
    DESCRIPTIONS,
    REGISTRY,
    DataSharingFacts,
    FormulaResult,
    KpiFigures,
    PartnerFigures,
    data_protection,
    kpi_attainment,
    market_cap_band,
    partner_strength,
    revenue_growth_band,
)

TENCENT = PartnerFigures("腾讯", "lead", 43.0, "2024", 9.0, "2024 Q3")
XIAOMI = PartnerFigures("小米", "other", 121.0, "2024", 30.5, "2024 Q3")
PDD = PartnerFigures("拼多多", "other", -33.0, "2024")


def one(m=None, g=None, role="lead") -> FormulaResult:
    return partner_strength([PartnerFigures("p", role, m, "2024" if m is not None else None, g, None)])


# -- partner strength: bands ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("m", "band"),
    [
        (121, 4),  # 小米, 2024
        (50, 4),
        (49.9, 3),
        (43, 3),  # 腾讯, 2024
        (20, 3),
        (19.9, 2),
        (0, 2),
        (-0.1, 1),
        (-20, 1),
        (-20.1, 0),
        (-33, 0),  # 拼多多, 2024
    ],
)
def test_market_cap_band_edges(m, band):
    assert market_cap_band(m) == band
    assert one(m=m).value == band  # a partner with only m takes its m band


@pytest.mark.parametrize(
    ("g", "band"),
    [(30.5, 4), (20, 4), (19.9, 3), (10, 3), (9.9, 2), (9, 2), (0, 2), (-0.1, 1), (-10, 1), (-10.1, 0)],
)
def test_revenue_growth_band_edges(g, band):
    assert revenue_growth_band(g) == band
    assert one(g=g).value == band  # a partner with only g takes its g band


def test_growth_is_averaged_with_the_market_cap_band():
    # 腾讯: +43 % → 3, growth +9 % → 2: (3 + 2) / 2 = 2.5
    result = partner_strength([TENCENT])
    assert result.value == 2.5
    assert (
        result.rationale == "腾讯 (lead): market cap +43% (2024) → 3, revenue growth +9% (2024 Q3) → 2 → 2.5."
    )
    (row,) = result.data["partners"]
    assert row["market_cap_band"] == 3 and row["revenue_growth_band"] == 2 and row["value"] == 2.5
    # 小米: +121 % → 4, +30.5 % → 4
    assert partner_strength([XIAOMI]).value == 4


def test_lead_counts_twice():
    # 腾讯 lead 2.5 ×2, 拼多多 other 0 ×1: (5 + 0) / 3 = 1.666…
    assert partner_strength([TENCENT, PDD]).value == pytest.approx(5 / 3)
    # the same two partners with roles swapped: 拼多多 lead 0 ×2, 腾讯 other 2.5 ×1: 2.5 / 3
    swapped = [
        PartnerFigures("腾讯", "other", 43.0, "2024", 9.0, "2024 Q3"),
        PartnerFigures("拼多多", "lead", -33.0, "2024"),
    ]
    assert partner_strength(swapped).value == pytest.approx(2.5 / 3)
    # 腾讯 lead 2.5 ×2, 小米 4 ×1, 拼多多 0 ×1: (5 + 4 + 0) / 4 = 2.25
    result = partner_strength([TENCENT, XIAOMI, PDD])
    assert result.value == 2.25
    assert result.rationale.endswith("weighted mean (2×2.5 + 1×4 + 1×0) / 4 = 2.25.")
    assert [p["role_weight"] for p in result.data["partners"]] == [2, 1, 1]


def test_role_is_case_insensitive_and_anything_else_counts_once():
    assert partner_strength(
        [PartnerFigures("a", " Lead ", 60), PartnerFigures("b", "co-lead", -30)]
    ).value == (pytest.approx(8 / 3))


def test_partners_without_figures_do_not_count():
    result = partner_strength([TENCENT, PartnerFigures("阿里巴巴", "other")])
    assert result.value == 2.5  # 阿里巴巴 has no figures: 腾讯 alone
    assert "阿里巴巴 (other): no figures, not counted" in result.rationale
    assert result.data["partners"][1]["value"] is None


def test_no_figures_for_any_partner_is_unrated():
    for partners in ([], [PartnerFigures("阿里巴巴", "lead"), PartnerFigures("京东", "other")]):
        value, rationale, data = partner_strength(partners)
        assert value is None
        assert rationale
        assert data["value"] is None


def test_partner_figures_as_decimal_and_invalid():
    assert partner_strength([PartnerFigures("腾讯", "lead", Decimal("43.00"), "2024")]).value == 3
    with pytest.raises(ValueError, match="腾讯"):
        partner_strength([PartnerFigures("腾讯", "lead", float("nan"))])


# -- KPI attainment ------------------------------------------------------------------------------------------


def test_kpi_attainment_mean_times_four():
    # active users: (150 − 100) / (200 − 100) = 0.5; cards: (900 − 0) / 600 = 1.5 → clipped to 1
    # mean (0.5 + 1) / 2 = 0.75 → value 3
    result = kpi_attainment(
        [KpiFigures("Active users (10k)", 100, 200, 150), KpiFigures("Cards issued", 0, 600, 900)]
    )
    assert result.value == 3.0
    assert [k["attainment"] for k in result.data["kpis"]] == [0.5, 1.0]
    assert result.data["mean_attainment"] == 0.75
    assert "clipped from 150%" in result.rationale


def test_a_cost_kpi_target_below_baseline():
    # Cost per acquisition 120 → target 80: latest 100 is (100 − 120) / (80 − 120) = 0.5 of the way
    assert kpi_attainment([KpiFigures("Cost per acquisition (CNY)", 120, 80, 100)]).value == 2.0
    # beyond the target (70): clipped to 1 → 4; the wrong way (130): clipped to 0 → 0
    assert kpi_attainment([KpiFigures("CPA", 120, 80, 70)]).value == 4.0
    assert kpi_attainment([KpiFigures("CPA", 120, 80, 130)]).value == 0.0


def test_kpi_negative_progress_clips_to_zero():
    assert kpi_attainment([KpiFigures("Active users", 100, 200, 50)]).value == 0.0


def test_kpis_that_cannot_be_assessed_are_skipped():
    kpis = [
        KpiFigures("No target", 1, None, 2),
        KpiFigures("Flat target", 5, 5, 6),
        KpiFigures("Not observed", 0, 10, None),
        KpiFigures("No baseline", None, 10, 5),
        KpiFigures("Counted", 0, 10, 5),  # 0.5 → 2
    ]
    result = kpi_attainment(kpis)
    assert result.value == 2.0
    reasons = {k["name"]: k.get("reason") for k in result.data["kpis"]}
    assert reasons == {
        "No target": "no target",
        "Flat target": "target equals baseline",
        "Not observed": "no observation yet",
        "No baseline": "no baseline",
        "Counted": None,
    }
    assert kpi_attainment(kpis[:4]).value is None
    assert kpi_attainment([]).value is None


# -- data protection -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "value"),
    [
        (DataSharingFacts(), 4.0),  # no personal data shared
        (DataSharingFacts(["", "  "]), 4.0),  # blank categories are no categories
        (DataSharingFacts(["手机号"]), 0.0),  # no lawful basis
        (DataSharingFacts(["手机号"], lawful_basis="单独同意 (PIPL Art. 23)"), 2.0),
        (
            DataSharingFacts(["手机号"], "单独同意", cross_border_transfer=False),
            2.0,
        ),  # 4 needs the assessment
        (
            DataSharingFacts(
                ["手机号"], "单独同意", security_assessment_done=True, cross_border_transfer=True
            ),
            3.0,
        ),
        (DataSharingFacts(["手机号"], "单独同意", True, True, transfer_mechanism="标准合同"), 4.0),
        (DataSharingFacts(["手机号", "交易记录"], "单独同意", True, False), 4.0),
        (DataSharingFacts(["手机号"], "", True, False, "标准合同"), 0.0),  # no basis: nothing else counts
        (DataSharingFacts(["手机号"], "   ", True, False), 0.0),
    ],
)
def test_data_protection_ladder(facts, value):
    result = data_protection(facts)
    assert result.value == value
    assert result.rationale.endswith(f"→ {int(value)}.") or "stays" in result.rationale


def test_data_protection_rationale_and_data():
    facts = DataSharingFacts(["phone number", "transactions"], "separate consent", True, True, "")
    value, rationale, data = data_protection(facts)
    assert value == 3.0
    assert rationale == (
        "Personal data shared (phone number, transactions); lawful basis: separate consent → 2; "
        "security assessment done → 3; cross-border transfer without a recorded mechanism → stays 3."
    )
    assert data["cross_border_transfer"] is True and data["transfer_mechanism"] == ""


# -- shared --------------------------------------------------------------------------------------------------


def test_registry_and_descriptions():
    assert REGISTRY == {
        "partner_strength": partner_strength,
        "kpi_attainment": kpi_attainment,
        "data_protection": data_protection,
    }
    assert set(DESCRIPTIONS) == set(REGISTRY)
    assert all(d and "\n" not in d for d in DESCRIPTIONS.values())


def test_results_are_json_ready_and_become_rating_inputs():
    results = {
        "partner_strength": partner_strength([TENCENT, XIAOMI, PDD]),
        "kpi_attainment": kpi_attainment([KpiFigures("Active users", 100, 200, 150)]),
        "data_protection": data_protection(DataSharingFacts(["手机号"], "单独同意", True)),
    }
    for key, result in results.items():
        assert json.loads(json.dumps(result.data, ensure_ascii=False)) == result.data
        rating = result.as_rating(key)
        assert rating == RatingInput(key, result.value, result.rationale, result.data)
