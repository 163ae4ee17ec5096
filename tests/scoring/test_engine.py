"""The scoring engine: hand-computed examples, validation, and properties that must hold for any rubric.

Plain pytest and hypothesis: no Django, no database.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scoring.engine import (
    DEFAULT_METHOD,
    BreakdownRow,
    CompiledRubric,
    CriterionSpec,
    Method,
    RatingInput,
    ScoreResult,
    compile_rubric,
    compute_score,
    inputs_hash,
)

# -- the default rubric, pillar `scenario` (RUBRIC.md): 12 core criteria + 3 of the pillar, Σw = 102 ---------

SCENARIO = [
    CriterionSpec("acquisition_cost", "获客成本", 10),
    CriterionSpec("risk_screening_cost", "风险甄别成本", 8),
    CriterionSpec("operating_cost", "运营成本", 8),
    CriterionSpec("funding_cost", "资金成本", 6),
    CriterionSpec("partner_capability", "数据·算法·算力", 8),
    CriterionSpec("partner_strength", "合作方实力", 6, source="computed"),
    CriterionSpec("long_tail_reach", "客户下沉", 8),
    CriterionSpec("operations_synergy", "综合化经营", 6),
    CriterionSpec("mutual_benefit", "互利共赢", 4),
    CriterionSpec("compliance_readiness", "合规就绪", 8, is_gate=True, gate_threshold=2),
    CriterionSpec("exit_readiness", "可替代与退出", 4),
    CriterionSpec("kpi_attainment", "KPI达成", 6, source="computed"),
    CriterionSpec("ecosystem_breadth", "生态覆盖", 8),
    CriterionSpec("backend_enablement", "后端赋能", 6),
    CriterionSpec("scenario_risk_control", "场景风控", 6),
]

SCENARIO_RATINGS = {
    "acquisition_cost": 3,  # 10 × 3 = 30
    "risk_screening_cost": 2,  # 8 × 2 = 16
    "operating_cost": 3,  # 8 × 3 = 24
    "funding_cost": 2,  # 6 × 2 = 12
    "partner_capability": 4,  # 8 × 4 = 32
    "partner_strength": 2.5,  # 6 × 2.5 = 15  (腾讯 lead: +43% → 3, growth +9% → 2, mean 2.5)
    "long_tail_reach": 3,  # 8 × 3 = 24
    "operations_synergy": 2,  # 6 × 2 = 12
    "mutual_benefit": 3,  # 4 × 3 = 12
    "compliance_readiness": 3,  # 8 × 3 = 24
    "exit_readiness": 1,  # 4 × 1 = 4
    "kpi_attainment": 2.0,  # 6 × 2 = 12
    "ecosystem_breadth": 4,  # 8 × 4 = 32
    "backend_enablement": 3,  # 6 × 3 = 18
    "scenario_risk_control": 2,  # 6 × 2 = 12
}  # Σ w·r = 279


def ratings(values: dict, **notes: str) -> list[RatingInput]:
    return [RatingInput(k, v, notes.get(k, "")) for k, v in values.items()]


def test_scenario_all_rated():
    # total = 100 × Σ w·(r/4) / Σ w = 100 × (279 / 4) / 102 = 68.382… → 68.4; B (60 ≤ 68.4 < 75)
    result = compute_score(SCENARIO, ratings(SCENARIO_RATINGS))
    assert result.total == 68.4
    assert result.tier == "B"
    assert result.gate_passed is True
    assert result.failed_gates == ()
    assert result.confidence == 1.0
    assert result.provisional is False
    assert [row.key for row in result.breakdown] == [c.key for c in SCENARIO]  # display order kept
    acquisition = result.breakdown[0]
    # 100 × 10 × 0.75 / 102 = 7.3529… points
    assert acquisition.normalised == 0.75
    assert acquisition.contribution == pytest.approx(750 / 102)
    assert acquisition.to_dict()["contribution"] == 7.35
    assert math.fsum(row.contribution for row in result.breakdown) == pytest.approx(100 * 279 / 4 / 102)


def test_scenario_computed_criteria_unrated():
    # partner_strength and kpi_attainment unrated: Σ w·r = 279 − 15 − 12 = 252
    # total = 100 × 63 / 102 = 61.76… → 61.8 (B); confidence = (102 − 12) / 102 = 0.88235… → 0.882
    values = dict(SCENARIO_RATINGS, partner_strength=None)
    del values["kpi_attainment"]
    result = compute_score(SCENARIO, ratings(values, partner_strength="No partner has figures."))
    assert (result.total, result.tier, result.confidence, result.provisional) == (61.8, "B", 0.882, False)
    row = {r.key: r for r in result.breakdown}["partner_strength"]
    assert (row.rating, row.normalised, row.contribution) == (None, None, 0.0)
    assert row.rationale == "No partner has figures."
    assert row.source == "computed"


def test_scenario_failed_gate_gives_d_but_keeps_total():
    # compliance_readiness 1 < 2: Σ w·r = 279 − 24 + 8 = 263 → 100 × 65.75 / 102 = 64.46… → 64.5, tier D
    result = compute_score(SCENARIO, ratings(dict(SCENARIO_RATINGS, compliance_readiness=1)))
    assert result.total == 64.5
    assert result.tier == "D"
    assert result.gate_passed is False
    assert result.failed_gates == (
        {
            "key": "compliance_readiness",
            "name": "合规就绪",
            "rating": 1.0,
            "threshold": 2.0,
            "reason": "below threshold",
        },
    )
    row = {r.key: r for r in result.breakdown}["compliance_readiness"]
    assert (row.is_gate, row.gate_threshold, row.gate_passed) == (True, 2.0, False)


def test_gate_at_threshold_passes_and_unrated_gate_fails():
    at = compute_score(SCENARIO, ratings(dict(SCENARIO_RATINGS, compliance_readiness=2)))
    assert at.gate_passed and at.tier == "B"  # 279 − 8 = 271 → 66.4
    values = dict(SCENARIO_RATINGS)
    del values["compliance_readiness"]
    unrated = compute_score(SCENARIO, ratings(values))
    # 279 − 24 = 255 → 100 × 63.75 / 102 = 62.5 exactly; confidence 94/102 = 0.9215… → 0.922
    assert (unrated.total, unrated.tier, unrated.confidence) == (62.5, "D", 0.922)
    assert unrated.failed_gates[0]["reason"] == "unrated"
    assert unrated.failed_gates[0]["rating"] is None


def test_provisional_below_confidence_threshold():
    # Only acquisition_cost (10), partner_capability (8), compliance_readiness (8), ecosystem_breadth (8),
    # long_tail_reach (8), risk_screening_cost (8), operating_cost (8) rated: 58 / 102 = 0.5686… → 0.569
    keys = [
        "acquisition_cost",
        "partner_capability",
        "compliance_readiness",
        "ecosystem_breadth",
        "long_tail_reach",
        "risk_screening_cost",
        "operating_cost",
    ]
    result = compute_score(SCENARIO, ratings({k: 4 for k in keys}))
    # total = 100 × 58 / 102 = 56.86… → 56.9: C, but provisional
    assert (result.total, result.tier, result.confidence, result.provisional) == (56.9, "C", 0.569, True)


def test_every_criterion_at_the_top_and_bottom():
    top = compute_score(SCENARIO, ratings({c.key: 4 for c in SCENARIO}))
    assert (top.total, top.tier) == (100.0, "A")
    bottom = compute_score(SCENARIO, ratings({c.key: 0 for c in SCENARIO}))
    assert (bottom.total, bottom.tier, bottom.gate_passed) == (0.0, "D", False)
    nothing = compute_score(SCENARIO, [])
    assert (nothing.total, nothing.confidence, nothing.provisional, nothing.tier) == (0.0, 0.0, True, "D")


def test_rounding_is_half_up_once_at_the_end():
    # w = 249 and 151 (Σ 400): 100 × 249 / 400 = 62.25 exactly in binary; half up → 62.3 (round() gives 62.2)
    criteria = [CriterionSpec("a", "A", 249), CriterionSpec("b", "B", 151)]
    result = compute_score(criteria, [RatingInput("a", 4), RatingInput("b", 0)])
    assert result.total == 62.3
    assert round(62.25, 1) == 62.2  # why the engine does not use round()


def test_tier_follows_the_displayed_total():
    # 100 × 7495 / 10000 = 74.95 → shown as 75.0, so the tier is A (a 75.0 that is a B would puzzle everyone)
    criteria = [CriterionSpec("a", "A", 7495), CriterionSpec("b", "B", 2505)]
    result = compute_score(criteria, [RatingInput("a", 4), RatingInput("b", 0)])
    assert (result.total, result.tier) == (75.0, "A")


def test_custom_method_and_scale():
    # Scale 1–5: rating 4 → n = 0.75; rating 2 on a 0–10 scale → n = 0.2
    # total = 100 × (3 × 0.75 + 1 × 0.2) / 4 = 61.25 → 61.3; thresholds (("Gold", 60),) → Gold
    criteria = [
        CriterionSpec("a", "A", 3, scale_min=1, scale_max=5),
        CriterionSpec("b", "B", 1, scale_min=0, scale_max=10),
    ]
    method = Method(tier_thresholds=(("Gold", 60.0),), confidence_threshold=0.9)
    result = compute_score(criteria, {"a": RatingInput("a", 4), "b": RatingInput("b", 2)}, method)
    assert (result.total, result.tier, result.provisional) == (61.3, "Gold", False)
    only_a = compute_score(criteria, [RatingInput("a", 5)], method)
    # 100 × 3 / 4 = 75.0; confidence 0.75 < 0.9 → provisional
    assert (only_a.total, only_a.tier, only_a.confidence, only_a.provisional) == (75.0, "Gold", 0.75, True)


def test_breakdown_rows_are_ordinary_frozen_dataclasses():
    # score() builds rows without going through BreakdownRow.__init__ (for speed); they must be the same thing.
    import dataclasses

    result = compute_score(SCENARIO, ratings(SCENARIO_RATINGS, funding_cost="pilot figures"))
    for row in result.breakdown:
        rebuilt = BreakdownRow(**{f.name: getattr(row, f.name) for f in dataclasses.fields(BreakdownRow)})
        assert rebuilt == row and hash(rebuilt) == hash(row) and repr(rebuilt) == repr(row)
        with pytest.raises(dataclasses.FrozenInstanceError):
            row.rating = 4.0  # type: ignore[misc]
    assert {r.key: r.rationale for r in result.breakdown}["funding_cost"] == "pilot figures"


def test_to_dict_is_json_ready():
    import json

    rows = ratings(SCENARIO_RATINGS)
    rows[5] = RatingInput("partner_strength", 2.5, "腾讯 (lead): market cap +43% (2024) → 3", {"m": 43})
    d = compute_score(SCENARIO, rows).to_dict()
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d
    assert d["total"] == 68.4
    assert d["breakdown"][5]["data"] == {"m": 43}
    assert set(d) == {
        "engine_version",
        "total",
        "tier",
        "gate_passed",
        "failed_gates",
        "confidence",
        "provisional",
        "breakdown",
    }


# -- validation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [4.01, -0.5, 5, float("nan"), float("inf"), float("-inf"), "3", [3]])
def test_rating_off_the_scale_or_not_a_number_names_the_criterion(bad):
    with pytest.raises(ValueError, match="operating_cost"):
        compute_score(SCENARIO, ratings(dict(SCENARIO_RATINGS, operating_cost=bad)))
    compiled = compile_rubric(SCENARIO)
    with pytest.raises(ValueError, match="operating_cost"):
        compiled.score_total(dict(SCENARIO_RATINGS, operating_cost=bad))
    partial = {k: v for k, v in SCENARIO_RATINGS.items() if k != "funding_cost"}
    with pytest.raises(ValueError, match="operating_cost"):
        compiled.score_total(dict(partial, operating_cost=bad))


def test_rating_for_an_unknown_criterion():
    with pytest.raises(ValueError, match="data_protection"):
        compute_score(SCENARIO, ratings(dict(SCENARIO_RATINGS, data_protection=3)))
    with pytest.raises(ValueError, match="data_protection"):
        compile_rubric(SCENARIO).score_total({"data_protection": 3})
    with pytest.raises(ValueError, match="data_protection"):
        inputs_hash(SCENARIO, [RatingInput("data_protection", 3)])


def test_rating_twice_or_filed_under_the_wrong_key():
    with pytest.raises(ValueError, match="more than once"):
        compute_score(SCENARIO, [RatingInput("funding_cost", 1), RatingInput("funding_cost", 2)])
    with pytest.raises(ValueError, match="funding_cost"):
        compute_score(SCENARIO, {"operating_cost": RatingInput("funding_cost", 1)})


@pytest.mark.parametrize(
    ("criteria", "match"),
    [
        ([], "at least one"),
        ([CriterionSpec("a", "A", 0)], "positive"),
        ([CriterionSpec("a", "A", -1)], "positive"),
        ([CriterionSpec("a", "A", float("nan"))], "finite"),
        ([CriterionSpec("a", "A", 1), CriterionSpec("a", "A", 2)], "more than once"),
        ([CriterionSpec("a", "A", 1, scale_min=4, scale_max=4)], "empty"),
        ([CriterionSpec("a", "A", 1, is_gate=True)], "gate_threshold"),
        ([CriterionSpec("a", "A", 1, is_gate=True, gate_threshold=5)], "outside"),
        ([CriterionSpec("a", "A", 1, source="guessed")], "source"),
    ],
)
def test_invalid_rubric(criteria, match):
    with pytest.raises(ValueError, match=match):
        compute_score(criteria, [])
    with pytest.raises(ValueError, match=match):
        compile_rubric(criteria)


def test_decimal_rubric_parameters_are_accepted_but_decimal_ratings_are_not():
    from decimal import Decimal

    as_decimals = [
        CriterionSpec(
            c.key,
            c.name,
            Decimal(c.weight),
            is_gate=c.is_gate,
            gate_threshold=None if c.gate_threshold is None else Decimal(c.gate_threshold),
            source=c.source,
        )
        for c in SCENARIO
    ]
    assert compute_score(as_decimals, ratings(SCENARIO_RATINGS)) == compute_score(
        SCENARIO, ratings(SCENARIO_RATINGS)
    )
    assert inputs_hash(as_decimals, ratings(SCENARIO_RATINGS)) == inputs_hash(
        SCENARIO, ratings(SCENARIO_RATINGS)
    )
    with pytest.raises(ValueError, match="funding_cost"):
        compute_score(SCENARIO, ratings(dict(SCENARIO_RATINGS, funding_cost=Decimal("2.5"))))


@pytest.mark.parametrize(
    "method",
    [
        Method(confidence_threshold=1.5),
        Method(tier_thresholds=(("A", 75.0), ("A", 60.0))),
        Method(tier_thresholds=(("A", float("nan")),)),
    ],
)
def test_invalid_method(method):
    with pytest.raises(ValueError):
        compute_score(SCENARIO, [], method)


# -- the fast paths agree with the full one ------------------------------------------------------------------


def test_score_total_matches_compute_score_on_random_inputs():
    rng = random.Random(20241231)
    mixed = [*SCENARIO, CriterionSpec("on_1_to_5", "x", 3, scale_min=1, scale_max=5)]
    for criteria in (SCENARIO, mixed):
        compiled = compile_rubric(criteria)
        for _ in range(500):
            values = {}
            for c in criteria:
                roll = rng.random()
                if roll < 0.1:
                    continue  # absent
                values[c.key] = None if roll < 0.15 else rng.uniform(c.scale_min, c.scale_max)
            full = compute_score(criteria, [RatingInput(k, v) for k, v in values.items()])
            assert compiled.score_total(values) == (full.total, full.tier, full.gate_passed, full.confidence)
            assert compiled.score(values) == full


# -- properties ----------------------------------------------------------------------------------------------

KEYS = [f"c{i:02d}" for i in range(40)]


@st.composite
def rubrics(draw, min_size=1, max_size=12):
    """A rubric of random criteria: integer-ish or fractional weights, assorted scales, some gates."""
    n = draw(st.integers(min_size, max_size))
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=n, max_size=n, unique=True))
    criteria = []
    for key in keys:
        weight = draw(st.one_of(st.integers(1, 20).map(float), st.floats(0.01, 100, allow_nan=False)))
        lo, hi = draw(st.sampled_from([(0, 4), (0, 4), (0, 4), (1, 5), (0, 10), (-2, 2), (0, 1)]))
        is_gate = draw(st.booleans()) and draw(st.booleans())
        threshold = draw(st.sampled_from([lo, (lo + hi) / 2, hi])) if is_gate else None
        criteria.append(CriterionSpec(key, key.upper(), weight, lo, hi, is_gate, threshold))
    return criteria


def rating_for(c: CriterionSpec):
    level = st.integers(int(c.scale_min), int(c.scale_max)).map(float)
    # No ratings within 1e-6 of zero other than zero itself: no rating is 1e-308, and terms that small
    # underflow into subnormals, where rounding is coarser — which would break the exact power-of-two scaling
    # property below for a reason that has nothing to do with scoring.
    anywhere = st.floats(c.scale_min, c.scale_max, allow_nan=False).filter(lambda x: x == 0 or abs(x) >= 1e-6)
    return st.one_of(st.none(), level, anywhere)


@st.composite
def rubric_and_values(draw, min_size=1, max_size=12):
    criteria = draw(rubrics(min_size, max_size))
    values = {c.key: draw(rating_for(c)) for c in criteria}
    return criteria, values


def score(criteria, values, method=DEFAULT_METHOD) -> ScoreResult:
    return compute_score(criteria, [RatingInput(k, v) for k, v in values.items()], method)


TIER_RANK = {"A": 3, "B": 2, "C": 1, "D": 0}
# database=None: no example database written into the work tree; failures print their reproducing example.
FAST = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(rubric_and_values())
def test_total_and_confidence_stay_in_range(case):
    criteria, values = case
    result = score(criteria, values)
    assert 0.0 <= result.total <= 100.0
    assert 0.0 <= result.confidence <= 1.0
    assert result.provisional == (result.confidence < 0.7)
    assert all(0.0 <= row.normalised <= 1.0 for row in result.breakdown if row.normalised is not None)


@FAST
@given(rubric_and_values(), st.data())
def test_raising_one_rating_never_lowers_the_total(case, data):
    # Each step is monotone in r: r − min, × a positive constant, an exactly rounded fsum, × 100 / Σw, and the
    # half-up rounding — so this holds exactly, not just up to floating error.
    criteria, values = case
    c = data.draw(st.sampled_from(criteria))
    old = values[c.key]
    new = data.draw(st.floats(c.scale_min if old is None else old, c.scale_max, allow_nan=False))
    before = score(criteria, values)
    after = score(criteria, dict(values, **{c.key: new}))
    assert after.total >= before.total
    assert after.confidence >= before.confidence
    assert TIER_RANK[after.tier] >= TIER_RANK[before.tier]
    assert after.gate_passed or not before.gate_passed


@FAST
@given(rubric_and_values())
def test_leaving_a_criterion_unrated_never_raises_the_total(case):
    criteria, values = case
    full = score(criteria, values)
    for key in values:
        fewer = score(criteria, dict(values, **{key: None}))
        assert fewer.total <= full.total
        assert fewer.confidence <= full.confidence
        assert TIER_RANK[fewer.tier] <= TIER_RANK[full.tier]


@FAST
@given(rubric_and_values(), st.integers(-20, 20))
def test_scaling_every_weight_by_a_power_of_two_changes_nothing(case, exponent):
    # Multiplying by 2**k is exact in binary floating point and commutes with every rounding step (w / span,
    # × (r − min), fsum, × 100, / Σw) as long as nothing is subnormal, so the whole result is identical bit
    # for bit — not merely close.
    criteria, values = case
    factor = 2.0**exponent
    scaled = [
        CriterionSpec(c.key, c.name, c.weight * factor, c.scale_min, c.scale_max, c.is_gate, c.gate_threshold)
        for c in criteria
    ]
    a, b = score(criteria, values), score(scaled, values)
    assert (a.total, a.tier, a.gate_passed, a.confidence, a.failed_gates) == (
        b.total,
        b.tier,
        b.gate_passed,
        b.confidence,
        b.failed_gates,
    )
    for ra, rb in zip(a.breakdown, b.breakdown, strict=True):
        assert (ra.normalised, ra.contribution) == (rb.normalised, rb.contribution)


def exact_total(criteria, values) -> Fraction:
    """The total in exact rational arithmetic, before rounding: 100 × Σ w·n / Σ w."""
    num = Fraction(0)
    den = Fraction(0)
    for c in criteria:
        w = Fraction(c.weight)
        den += w
        r = values.get(c.key)
        if r is not None:
            num += w * (Fraction(r) - Fraction(c.scale_min)) / (Fraction(c.scale_max) - Fraction(c.scale_min))
    return 100 * num / den


def half_up(x: Fraction, digits: int) -> Fraction:
    scale = 10**digits
    return Fraction(math.floor(x * scale + Fraction(1, 2)), scale)


def near_a_rounding_tie(x: Fraction, digits: int) -> bool:
    scaled = x * 10**digits
    return abs(scaled - math.floor(scaled) - Fraction(1, 2)) < Fraction(1, 10**6)


@FAST
@given(rubric_and_values(), st.floats(0.001, 1000, allow_nan=False))
def test_scaling_weights_by_any_factor_matches_exact_arithmetic(case, factor):
    # Any positive factor: the float results are no longer bit-identical (w × f is rounded), so both the
    # scaled and the unscaled score are checked against the exact rational total instead. They must both equal
    # the exact total rounded half up, except within 1e-6 of a .x5 tie, where a few ulps of floating error may
    # legitimately tip the rounding either way (such cases are skipped, not weakened).
    criteria, values = case
    scaled = [
        CriterionSpec(c.key, c.name, c.weight * factor, c.scale_min, c.scale_max, c.is_gate, c.gate_threshold)
        for c in criteria
    ]
    exact = exact_total(criteria, values)
    exact_scaled = exact_total(scaled, values)
    assume(not near_a_rounding_tie(exact, 1) and not near_a_rounding_tie(exact_scaled, 1))
    assert score(criteria, values).total == float(half_up(exact, 1))
    assert score(scaled, values).total == float(half_up(exact_scaled, 1))
    # and the two exact totals are equal (weights are relative) up to the factor's own rounding
    assert abs(float(exact) - float(exact_scaled)) < 1e-9


@FAST
@given(rubric_and_values(), st.randoms(use_true_random=False))
def test_criteria_and_rating_order_change_nothing(case, rnd):
    criteria, values = case
    shuffled_criteria = list(criteria)
    rnd.shuffle(shuffled_criteria)
    items = list(values.items())
    rnd.shuffle(items)
    a = score(criteria, values)
    b = score(shuffled_criteria, dict(items))
    assert (a.total, a.tier, a.gate_passed, a.confidence, a.provisional) == (
        b.total,
        b.tier,
        b.gate_passed,
        b.confidence,
        b.provisional,
    )
    # The breakdown follows the given (display) order; row by row, every figure is the same bits.
    assert sorted(a.breakdown, key=lambda r: r.key) == sorted(b.breakdown, key=lambda r: r.key)
    assert {g["key"] for g in a.failed_gates} == {g["key"] for g in b.failed_gates}
    assert inputs_hash(criteria, [RatingInput(k, v) for k, v in values.items()]) == inputs_hash(
        shuffled_criteria, [RatingInput(k, v) for k, v in items]
    )


@FAST
@given(rubric_and_values())
def test_a_failed_gate_always_gives_tier_d(case):
    criteria, values = case
    result = score(criteria, values)
    gates = [c for c in criteria if c.is_gate]
    failing = [c.key for c in gates if values[c.key] is None or values[c.key] < c.gate_threshold]
    assert [g["key"] for g in result.failed_gates] == [c.key for c in criteria if c.key in failing]
    assert result.gate_passed == (not failing)
    if failing:
        assert result.tier == "D"


@FAST
@given(rubric_and_values())
def test_same_inputs_same_output(case):
    criteria, values = case
    assert score(criteria, values) == score(list(criteria), dict(values))
    compiled = compile_rubric(criteria)
    first = compiled.score_total(values)
    assert compiled.score_total(dict(values)) == first
    result = score(criteria, values)
    assert first == (result.total, result.tier, result.gate_passed, result.confidence)


@FAST
@given(rubric_and_values(), st.data())
def test_inputs_hash_changes_when_a_rating_changes(case, data):
    criteria, values = case
    c = data.draw(st.sampled_from(criteria))
    new = data.draw(rating_for(c))
    assume(new != values[c.key])
    before = inputs_hash(criteria, [RatingInput(k, v) for k, v in values.items()])
    after = inputs_hash(criteria, [RatingInput(k, v) for k, v in dict(values, **{c.key: new}).items()])
    assert before != after


def test_inputs_hash_canonical_forms():
    base = inputs_hash(SCENARIO, ratings(SCENARIO_RATINGS))
    assert len(base) == 64 and int(base, 16) >= 0
    as_floats = {k: float(v) for k, v in SCENARIO_RATINGS.items()}
    assert inputs_hash(SCENARIO, ratings(as_floats)) == base  # 3 and 3.0 are the same rating
    without = {k: v for k, v in SCENARIO_RATINGS.items() if k != "exit_readiness"}
    explicit_none = dict(without, exit_readiness=None)
    assert inputs_hash(SCENARIO, ratings(without)) == inputs_hash(SCENARIO, ratings(explicit_none))
    # …but everything that shows in the result counts: rationale, data, names, weights, method, extra.
    assert inputs_hash(SCENARIO, ratings(SCENARIO_RATINGS, exit_readiness="no exit plan")) != base
    with_data = ratings(SCENARIO_RATINGS)
    with_data[5] = RatingInput("partner_strength", 2.5, "", {"m": 43})
    assert inputs_hash(SCENARIO, with_data) != base
    renamed = [CriterionSpec(c.key, c.name + "!", c.weight, source=c.source) for c in SCENARIO]
    assert inputs_hash(renamed, ratings(SCENARIO_RATINGS)) != base
    assert inputs_hash(SCENARIO, ratings(SCENARIO_RATINGS), Method(confidence_threshold=0.8)) != base
    assert inputs_hash(SCENARIO, ratings(SCENARIO_RATINGS), extra="rubric v2") != base
    # A mapping and a list of the same ratings hash alike.
    as_mapping = {r.criterion_key: r for r in ratings(SCENARIO_RATINGS)}
    assert inputs_hash(SCENARIO, as_mapping) == base


def test_an_unrated_gate_names_the_missing_inputs_its_formula_reported():
    specs = [
        CriterionSpec(
            "data_protection", "个人信息保护", 8, is_gate=True, gate_threshold=3, source="computed"
        ),
        CriterionSpec("strategic_fit", "战略契合", 8),
    ]
    rubric = compile_rubric(specs)
    missing = ["provided_to_partner", "credit_use"]
    notes = {
        "data_protection": RatingInput("data_protection", None, "missing", {"missing": missing}),
        "strategic_fit": RatingInput("strategic_fit", 4, ""),
    }
    result = rubric.score({"strategic_fit": 4}, notes)
    assert result.tier == "D" and not result.gate_passed
    assert result.failed_gates[0]["reason"] == "missing" and result.failed_gates[0]["missing"] == missing
    assert rubric.failed_gates({"strategic_fit": 4}, {"data_protection": missing}) == list(
        result.failed_gates
    )
    # Without a list (version 1 formulas never give one) the reason stays "unrated", as stored scores say.
    assert rubric.failed_gates({"strategic_fit": 4})[0]["reason"] == "unrated"
    assert rubric.score({"strategic_fit": 4}).failed_gates[0]["reason"] == "unrated"
    # A rating below the threshold is "below threshold" whatever the data says.
    low = {"data_protection": RatingInput("data_protection", 1, "", {"missing": missing})}
    assert (
        rubric.score({"strategic_fit": 4, "data_protection": 1}, low).failed_gates[0]["reason"]
        == "below threshold"
    )


def test_reweighted_is_the_rubric_compiled_with_that_weight():
    """The sensitivity analysis re-weighs one criterion at a time without validating the rubric again: the
    result must be exactly what compiling the changed rubric gives, and a bad weight is still refused."""
    from dataclasses import replace

    rng = random.Random(17)
    compiled = compile_rubric(SCENARIO)
    for _ in range(200):
        spec = rng.choice(SCENARIO)
        weight = rng.choice([rng.uniform(0.001, 50), float(rng.randint(1, 30)), 1e-9, 1e6])
        values = {c.key: rng.uniform(c.scale_min, c.scale_max) for c in SCENARIO if rng.random() > 0.1}
        expected = compile_rubric([replace(c, weight=weight) if c is spec else c for c in SCENARIO])
        trial = compiled.reweighted(spec.key, weight)
        # Every slot as compiling the changed rubric sets it (the key getter by what it returns).
        for name in CompiledRubric.__slots__:
            if name == "_get":
                full = {c.key: 1.0 for c in SCENARIO}
                assert trial._get(full) == expected._get(full)
            else:
                assert getattr(trial, name) == getattr(expected, name), name
        assert compiled.reweighted(spec.key, Decimal(str(weight)))._weights == expected._weights
        assert trial.score_total(values) == expected.score_total(values)
        assert trial.score(values) == expected.score(values)
        assert trial.criteria == expected.criteria
    assert compiled.score(SCENARIO_RATINGS).total == compile_rubric(SCENARIO).score(SCENARIO_RATINGS).total
    for bad in (0, -1, float("nan"), float("inf"), "3"):
        with pytest.raises(ValueError):
            compiled.reweighted("funding_cost", bad)
    with pytest.raises(KeyError):
        compiled.reweighted("no_such_criterion", 1.0)
