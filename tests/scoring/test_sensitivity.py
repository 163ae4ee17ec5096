"""What would change the tier (scoring.sensitivity): worked examples by hand, and properties checked against the
engine for random rubrics and ratings.

Plain pytest and hypothesis: no Django, no database.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.engine import DEFAULT_METHOD, CriterionSpec, Method, RatingInput, compute_score
from scoring.sensitivity import rating_levels, tier_sensitivity


def score(criteria, values, method=DEFAULT_METHOD):
    return compute_score(criteria, [RatingInput(k, v) for k, v in values.items() if v is not None], method)


def reweighted(criteria, key, weight):
    return [CriterionSpec(**{**c.to_dict(), "weight": weight}) if c.key == key else c for c in criteria]


def rows(result):
    return {c.key: c for c in result.criteria}


# -- worked examples -------------------------------------------------------------------------------------------


def test_one_level_either_way_and_the_weight_that_tips_the_rounding():
    # a = 3, b = 2 of 4, equal weights: total = 100 × (3 + 2) / 8 = 62.5 → B.
    criteria = [CriterionSpec("a", "A", 1), CriterionSpec("b", "B", 1)]
    result = tier_sensitivity(criteria, {"a": 3, "b": 2})
    assert (result.total, result.tier) == (62.5, "B")
    a = rows(result)["a"]
    # a → 4: 100 × 6/8 = 75 → A. a → 2: 100 × 4/8 = 50 → C (below B's 60, above C's 45).
    assert (a.up.value, a.up.delta, a.up.tier, a.up.total) == (4.0, 1.0, "A", 75.0)
    assert (a.down.value, a.down.delta, a.down.tier, a.down.total) == (2.0, -1.0, "C", 50.0)
    # Weight of a: total(w) = 100 × (0.75·w + 0.5) / (w + 1). The displayed total reaches 75.0 at a raw 74.95:
    # w = (0.7495 − 0.5) / (0.75 − 0.7495) = 499. Lowering it, the total falls below a displayed 60.0 at a raw
    # 59.95: w = (0.5995 − 0.5) / (0.75 − 0.5995) = 0.66113.
    assert a.weight_up.weight == pytest.approx(499, rel=1e-6) and a.weight_up.tier == "A"
    assert a.weight_up.relative_change == pytest.approx(498, rel=1e-6)
    assert a.weight_down.weight == pytest.approx(0.0995 / 0.1505, rel=1e-6) and a.weight_down.tier == "C"
    b = rows(result)["b"]
    # b → 3: 75 → A; b → 1: 100 × 4/8 = 50 → C; its weight up pulls the total towards 50 (C), down towards 75.
    assert (b.up.value, b.up.tier, b.down.value, b.down.tier) == (3.0, "A", 1.0, "C")
    assert b.weight_up.tier == "C" and b.weight_down.tier == "A"


def test_at_the_top_nothing_rises_and_equal_ratings_make_weights_cancel_out():
    criteria = [CriterionSpec("a", "A", 2), CriterionSpec("b", "B", 3)]
    result = tier_sensitivity(criteria, {"a": 4, "b": 4})  # 100 → A
    a, b = rows(result)["a"], rows(result)["b"]
    assert a.up is None and b.up is None  # already the best tier
    assert a.weight_up is a.weight_down is b.weight_up is b.weight_down is None  # both at 100
    # a → 3: 100 × (2·0.75 + 3) / 5 = 90; a → 2: 80, both A; a → 1: 100 × (0.5 + 3) / 5 = 70 → B.
    assert (a.down.value, a.down.delta, a.down.tier, a.down.total) == (1.0, -3.0, "B", 70.0)
    # b → 3: 100 × (2 + 2.25) / 5 = 85 → A; b → 2: 100 × (2 + 1.5) / 5 = 70 → B.
    assert (b.down.value, b.down.delta, b.down.tier, b.down.total) == (2.0, -2.0, "B", 70.0)


def test_a_failed_gate_only_its_own_rating_can_lift_and_weights_do_nothing():
    criteria = [
        CriterionSpec("a", "A", 4),
        CriterionSpec("gate", "G", 2, is_gate=True, gate_threshold=2),
        CriterionSpec("c", "C", 4),
    ]
    result = tier_sensitivity(criteria, {"a": 4, "gate": 1, "c": 4})
    # total = 100 × (4 + 2·0.25 + 4) / 10 = 85, but the gate fails: D.
    assert (result.total, result.tier, result.gate_passed) == (85.0, "D", False)
    by_key = rows(result)
    assert [k for k, r in by_key.items() if r.moves_tier] == ["gate"]
    gate = by_key["gate"]
    # gate → 2 passes it: 100 × (4 + 1 + 4) / 10 = 90 → A.
    assert (gate.up.value, gate.up.delta, gate.up.tier, gate.up.gate_passed) == (2.0, 1.0, "A", True)
    assert gate.down is None and gate.weight_up is None and gate.weight_down is None


def test_a_gate_falling_below_its_threshold_is_the_smallest_fall():
    criteria = [CriterionSpec("a", "A", 1), CriterionSpec("g", "G", 1, is_gate=True, gate_threshold=3)]
    g = rows(tier_sensitivity(criteria, {"a": 4, "g": 4}))["g"]
    assert (g.down.value, g.down.delta, g.down.tier, g.down.gate_passed) == (2.0, -2.0, "D", False)
    # g → 3 (still passing): 100 × (1 + 0.75) / 2 = 87.5 → A: no change; g → 2 fails the gate.


def test_an_unrated_criterion_can_only_rise_and_gains_confidence():
    criteria = [CriterionSpec("a", "A", 1), CriterionSpec("b", "B", 1)]
    result = tier_sensitivity(criteria, {"b": 4})  # 100 × 4 / 8 = 50 → C, confidence 0.5
    assert (result.total, result.tier) == (50.0, "C")
    a = rows(result)["a"]
    # Rated 0 adds nothing; rated 1: 100 × 5/8 = 62.5 → B, and the whole weight is rated.
    assert (a.up.value, a.up.delta, a.up.tier, a.up.confidence, a.up.provisional) == (
        1.0,
        None,
        "B",
        1.0,
        False,
    )
    assert a.down is None
    # Its weight counts in the denominator with a 0: total(w) = 100 / (w + 1). Below a raw 44.95 (→ D) at
    # w = 1/0.4495 − 1 = 1.2247; above a raw 59.95 (→ B) at w = 1/0.5995 − 1 = 0.66806.
    assert a.weight_up.tier == "D" and a.weight_up.weight == pytest.approx(1 / 0.4495 - 1, rel=1e-6)
    assert a.weight_down.tier == "B" and a.weight_down.weight == pytest.approx(1 / 0.5995 - 1, rel=1e-6)


def test_a_computed_criterion_is_searched_on_the_same_grid():
    criteria = [CriterionSpec("a", "A", 1), CriterionSpec("k", "K", 1, source="computed")]
    result = tier_sensitivity(criteria, {"a": 2, "k": 2.6})  # 100 × 4.6 / 8 = 57.5 → C
    k = rows(result)["k"]
    assert k.source == "computed"
    # k → 3 (the nearest level above 2.6): 100 × 5/8 = 62.5 → B; k → 2 (nearest below): 50 → C, no change;
    # k → 1: 37.5 → D.
    assert k.up.value == 3.0 and k.up.delta == pytest.approx(0.4) and k.up.tier == "B"
    assert k.down.value == 1.0 and k.down.delta == pytest.approx(-1.6) and k.down.tier == "D"


def test_custom_thresholds_and_scales():
    method = Method(tier_thresholds=(("A", 80.0), ("B", 50.0), ("C", 20.0)))
    criteria = [CriterionSpec("a", "A", 1, scale_min=1, scale_max=5), CriterionSpec("b", "B", 1, 0, 10)]
    result = tier_sensitivity(criteria, {"a": 3, "b": 5}, method)  # 100 × (0.5 + 0.5) / 2 = 50 → B
    assert result.tier == "B"
    a, b = rows(result)["a"], rows(result)["b"]
    assert (a.down.value, a.down.tier) == (2.0, "C")  # 100 × (0.25 + 0.5) / 2 = 37.5
    assert a.up is None  # 5 → 75, still B
    assert (b.down.value, b.down.tier) == (4.0, "C")  # 100 × (0.5 + 0.4) / 2 = 45
    assert rating_levels(criteria[1]) == tuple(float(i) for i in range(11))


def test_bad_ratings_are_refused_as_the_engine_refuses_them():
    with pytest.raises(ValueError, match="a"):
        tier_sensitivity([CriterionSpec("a", "A", 1)], {"a": 5})
    with pytest.raises(ValueError, match="zz"):
        tier_sensitivity([CriterionSpec("a", "A", 1)], {"zz": 1})


def test_rating_levels_of_a_scale_with_fractional_ends():
    assert rating_levels(CriterionSpec("a", "A", 1, 0.5, 3.5)) == (0.5, 1.0, 2.0, 3.0, 3.5)
    assert rating_levels(CriterionSpec("a", "A", 1, 0.2, 0.8)) == (0.2, 0.8)


def test_a_wide_scale_is_searched_by_bisection_with_the_same_answer():
    criteria = [CriterionSpec("a", "A", 1, 0, 1000), CriterionSpec("b", "B", 2, 0, 1000)]
    a = rows(tier_sensitivity(criteria, {"a": 500, "b": 500}, weights=False))["a"]
    # total = 100 × (a + 2·500) / 3000 = (a + 1000) / 30: 50 → C. B from a raw 59.95: a ≥ 798.5, so 799
    # (59.97 → 60.0); D below a raw 44.95: a ≤ 348 (44.93 → 44.9).
    assert (a.up.value, a.up.delta, a.up.tier, a.up.total) == (799.0, 299.0, "B", 60.0)
    assert (a.down.value, a.down.delta, a.down.tier, a.down.total) == (348.0, -152.0, "D", 44.9)
    assert a.weight_up is None and a.weight_down is None  # weights=False


# -- properties ------------------------------------------------------------------------------------------------

KEYS = [f"c{i:02d}" for i in range(20)]
RANK = {"A": 0, "B": 1, "C": 2, "D": 3}


@st.composite
def cases(draw):
    n = draw(st.integers(1, 8))
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=n, max_size=n, unique=True))
    criteria, values = [], {}
    for key in keys:
        weight = draw(st.one_of(st.integers(1, 20).map(float), st.floats(0.01, 100, allow_nan=False)))
        # (0, 100): more levels than are tried one by one, so the search bisects them.
        lo, hi = draw(st.sampled_from([(0, 4), (0, 4), (0, 4), (1, 5), (0, 10), (-2, 2), (0, 1), (0, 100)]))
        is_gate = draw(st.booleans()) and draw(st.booleans())
        threshold = draw(st.sampled_from([lo, (lo + hi) / 2, hi])) if is_gate else None
        source = draw(st.sampled_from(["rated", "rated", "computed"]))
        criteria.append(CriterionSpec(key, key.upper(), weight, lo, hi, is_gate, threshold, source))
        level = st.integers(lo, hi).map(float)
        anywhere = st.floats(lo, hi, allow_nan=False).filter(lambda x: x == 0 or abs(x) >= 1e-6)
        values[key] = draw(st.one_of(st.none(), level, level, anywhere if source == "computed" else level))
    thresholds = draw(
        st.one_of(
            st.just((75.0, 60.0, 45.0)),
            st.lists(st.integers(0, 1000).map(lambda x: x / 10), min_size=3, max_size=3).map(
                lambda ts: tuple(sorted(ts, reverse=True))
            ),
        )
    )
    method = Method(tier_thresholds=tuple(zip("ABC", thresholds, strict=True)))
    return criteria, values, method


FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(cases())
def test_the_smallest_rating_change_moves_the_tier_and_no_smaller_one_does(case):
    criteria, values, method = case
    result = tier_sensitivity(criteria, values, method)
    base = score(criteria, values, method)
    assert (result.total, result.tier, result.gate_passed) == (base.total, base.tier, base.gate_passed)
    for spec, row in zip(criteria, result.criteria, strict=True):
        current = values[spec.key]
        levels = rating_levels(spec)
        above = [v for v in levels if current is None or v > current]
        below = [] if current is None else [v for v in reversed(levels) if v < current]

        def tier_at(v, key=spec.key):
            return score(criteria, {**values, key: v}, method).tier

        for change, candidates, better in ((row.up, above, True), (row.down, below, False)):
            moved = [
                v
                for v in candidates
                if (RANK[tier_at(v)] < RANK[base.tier]) == better and tier_at(v) != base.tier
            ]
            if change is None:
                assert not moved, (spec, current, moved)
                continue
            assert change.value in candidates
            assert change.value == moved[0]  # the nearest that moves
            applied = score(criteria, {**values, spec.key: change.value}, method)
            assert applied.tier == change.tier and applied.total == change.total
            assert (
                (RANK[applied.tier] < RANK[base.tier]) if better else (RANK[applied.tier] > RANK[base.tier])
            )
            assert applied.confidence == change.confidence and applied.gate_passed == change.gate_passed
            assert change.delta == (None if current is None else change.value - current)
            nearer = candidates[: candidates.index(change.value)]
            assert all(tier_at(v) == base.tier for v in nearer)  # every smaller change leaves the tier be


@FAST
@given(cases())
def test_the_weight_move_flips_the_tier_and_a_little_less_does_not(case):
    criteria, values, method = case
    result = tier_sensitivity(criteria, values, method)
    base = score(criteria, values, method)
    for spec, row in zip(criteria, result.criteria, strict=True):
        w0 = float(spec.weight)

        def tier_with(w, key=spec.key):
            return score(reweighted(criteria, key, w), values, method).tier

        if not base.gate_passed:
            assert row.weight_up is None and row.weight_down is None
            continue
        for move, rising in ((row.weight_up, True), (row.weight_down, False)):
            if move is None:
                # No weight in that direction flips it: not ten thousand times, nor a ten-thousandth.
                assert tier_with(w0 * 1e4 if rising else w0 * 1e-4) == base.tier
                continue
            assert (move.weight > w0) if rising else (0 < move.weight < w0)
            assert move.relative_change == pytest.approx((move.weight - w0) / w0)
            applied = score(reweighted(criteria, spec.key, move.weight), values, method)
            assert applied.tier == move.tier != base.tier and applied.total == move.total
            short = max(move.weight * (1 - 1e-6), w0) if rising else min(move.weight * (1 + 1e-6), w0)
            assert tier_with(short) == base.tier, (spec, move, short)
            halfway = (move.weight + w0) / 2
            if halfway != move.weight and abs(halfway - move.weight) > 1e-6 * move.weight:
                assert tier_with(halfway) == base.tier
