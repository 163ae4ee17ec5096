"""What would change the tier: per criterion, the smallest rating change and the weight move that flip it.

Pure, like ``scoring.engine``: plain data in and out, no Django, no I/O. Every answer is found by running the
engine's own ``CompiledRubric.score_total`` on the changed inputs, so it agrees with the engine by construction
(rounding, gates, thresholds and all); the search around it is only made cheap.

Ratings
    The tier never falls when one rating rises: a higher rating never lowers the total, and a gate passes from
    its threshold up. So the levels above (below) the current rating are tried nearest first, and the first
    whose tier is higher (lower) is the smallest change. The levels are the rating grid raters use: the
    integers of the criterion's scale (and its ends, should they not be integers). A computed criterion is
    searched on the same grid — the answer is then the value its data would have to give. An unrated
    criterion counts as 0 in a total over all the weights and fails its gate, so rating it can only raise the
    tier: it has a change up only (from the scale's minimum), with no ``delta``, and its confidence rises.
    (Clearing a rating is not a change on the grid and is not considered.)

Weights
    With the ratings fixed, the total as a function of one weight ``w`` is the weighted mean
    ``100·(S + w·n)/(W + w)`` (``S``, ``W``: the other criteria's Σ w·n and Σ w; ``n`` its normalised rating, 0
    when unrated). It moves monotonically from ``100·S/W`` (w → 0) towards ``100·n`` (w → ∞), so raising the
    weight moves the tier one way and lowering it the other, and it flips where the *rounded* total crosses a
    threshold ``T`` — where the raw total crosses ``(⌈10·T⌉ − ½)/10``. That crossing is solved for in closed
    form, then bracketed with the engine and bisected to a relative width of 1e-9; the end that flips is
    reported. When a gate fails no weight matters: the tier is D whatever the total.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .engine import (
    DEFAULT_METHOD,
    FAIL_TIER,
    CompiledRubric,
    CriterionSpec,
    Method,
    RatingInput,
    compile_rubric,
)

__all__ = [
    "CriterionSensitivity",
    "RatingChange",
    "TierSensitivity",
    "WeightChange",
    "rating_levels",
    "rubric_sensitivity",
    "tier_sensitivity",
]

# Up to this many candidate levels are tried one by one, nearest first; beyond it (a scale of hundreds of
# levels) the same first level is found by bisection, which monotonicity makes equivalent.
_LINEAR_LEVELS = 16
# The weight bisection stops when its bracket is this narrow, relative to the weight.
_WEIGHT_TOLERANCE = 1e-9
_MAX_STEPS = 200


@dataclass(frozen=True, slots=True)
class RatingChange:
    """One criterion rated ``value`` instead, everything else as it was: the engine's outcome."""

    value: float
    delta: float | None  # value − current rating; None when the criterion is unrated now
    tier: str
    total: float
    gate_passed: bool
    confidence: float
    provisional: bool

    def to_dict(self) -> dict:
        return {
            "rating": self.value,
            "change": self.delta,
            "tier": self.tier,
            "total": self.total,
            "gate_passed": self.gate_passed,
            "confidence": self.confidence,
            "provisional": self.provisional,
        }


@dataclass(frozen=True, slots=True)
class WeightChange:
    """One criterion's weight set to ``weight``, everything else as it was: the engine's outcome."""

    weight: float
    relative_change: float  # (weight − current weight) / current weight
    tier: str
    total: float

    def to_dict(self) -> dict:
        return {
            "weight": self.weight,
            "relative_change": self.relative_change,
            "tier": self.tier,
            "total": self.total,
        }


@dataclass(frozen=True, slots=True)
class CriterionSensitivity:
    """What one criterion alone can do to the tier. ``None``: no such change moves it."""

    key: str
    name: str
    source: str
    is_gate: bool
    rating: float | None
    weight: float
    up: RatingChange | None  # the smallest rating rise that raises the tier
    down: RatingChange | None  # the smallest rating fall that lowers the tier
    weight_up: WeightChange | None  # the smallest weight rise that flips the tier (either way)
    weight_down: WeightChange | None  # the smallest weight fall that flips the tier (either way)

    @property
    def moves_tier(self) -> bool:
        return any(x is not None for x in (self.up, self.down, self.weight_up, self.weight_down))

    def to_dict(self) -> dict:
        def d(x):
            return None if x is None else x.to_dict()

        return {
            "key": self.key,
            "name": self.name,
            "source": self.source,
            "is_gate": self.is_gate,
            "rating": self.rating,
            "weight": self.weight,
            "up": d(self.up),
            "down": d(self.down),
            "weight_up": d(self.weight_up),
            "weight_down": d(self.weight_down),
        }


@dataclass(frozen=True, slots=True)
class TierSensitivity:
    """The score as it is and, per criterion in display order, what would change its tier."""

    total: float
    tier: str
    gate_passed: bool
    criteria: tuple[CriterionSensitivity, ...]

    def to_dict(self) -> dict:
        return {
            "total": self.total,
            "tier": self.tier,
            "gate_passed": self.gate_passed,
            "criteria": [c.to_dict() for c in self.criteria],
        }


# -- the rating grid --------------------------------------------------------------------------------------------


class _Levels:
    """The rating grid of a scale ``[lo, hi]``: its integers, plus its ends where they are not integers.

    Indexed without being built, so a scale of millions of levels costs nothing.
    """

    __slots__ = ("_ends", "count", "first", "head", "n_int", "tail")

    def __init__(self, lo: float, hi: float) -> None:
        self.first = math.ceil(lo)
        last = math.floor(hi)
        self.n_int = max(0, last - self.first + 1)
        self.head = 0 if lo == self.first else 1
        self.tail = 0 if hi == last else 1
        self._ends = (lo, hi)
        self.count = self.head + self.n_int + self.tail

    def __getitem__(self, i: int) -> float:
        if i < self.head:
            return self._ends[0]
        i -= self.head
        if i < self.n_int:
            return float(self.first + i)
        return self._ends[1]

    def index_above(self, x: float) -> int:
        """The index of the first level strictly above ``x``."""
        lo, hi = 0, self.count
        while lo < hi:
            mid = (lo + hi) // 2
            if self[mid] > x:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def index_from(self, x: float) -> int:
        """The index of the first level at or above ``x``."""
        lo, hi = 0, self.count
        while lo < hi:
            mid = (lo + hi) // 2
            if self[mid] >= x:
                hi = mid
            else:
                lo = mid + 1
        return lo


def rating_levels(spec: CriterionSpec) -> tuple[float, ...]:
    """The levels a criterion can be rated at (for display and tests; the search indexes them lazily)."""
    levels = _Levels(float(spec.scale_min), float(spec.scale_max))
    return tuple(levels[i] for i in range(levels.count))


def _first(count: int, flips: Callable[[int], bool]) -> int | None:
    """The first index in ``range(count)`` where ``flips`` holds, for a predicate false…false true…true."""
    if count <= 0:
        return None
    if count <= _LINEAR_LEVELS:
        for i in range(count):
            if flips(i):
                return i
        return None
    if not flips(count - 1):
        return None
    lo, hi = -1, count - 1  # flips(lo) is false (or lo is before the start), flips(hi) is true
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if flips(mid):
            hi = mid
        else:
            lo = mid
    return hi


# -- the search ------------------------------------------------------------------------------------------------


def _tier_ranks(method: Method) -> dict[str, int]:
    # The engine's order: thresholds highest first, then the fail tier. 0 is the best tier.
    ordered = sorted(((float(t), label) for label, t in method.tier_thresholds), key=lambda p: -p[0])
    ranks = {label: i for i, (_t, label) in enumerate(ordered)}
    ranks.setdefault(FAIL_TIER, len(ordered))
    return ranks


def _raw_boundary(threshold: float) -> float:
    # The displayed total is rounded half up to one decimal: it reaches T exactly when the raw total reaches
    # (⌈10·T⌉ − ½)/10. Only an estimate for the weight search, which the engine then checks.
    return (math.ceil(round(threshold * 10.0, 9)) - 0.5) / 10.0


def _rating_changes(
    compiled: CompiledRubric,
    values: dict[str, float],
    spec: CriterionSpec,
    rank: dict[str, int],
    base_rank: int,
) -> tuple[RatingChange | None, RatingChange | None]:
    key = spec.key
    current = values.get(key)
    levels = _Levels(float(spec.scale_min), float(spec.scale_max))
    outcomes: dict[float, tuple] = {}

    def outcome(value: float) -> tuple:
        if value not in outcomes:
            trial = dict(values)
            trial[key] = value
            outcomes[value] = compiled.score_total(trial)
        return outcomes[value]

    def change(value: float) -> RatingChange:
        total, tier, gate_passed, confidence = outcome(value)
        return RatingChange(
            value=value,
            delta=None if current is None else value - current,
            tier=tier,
            total=total,
            gate_passed=gate_passed,
            confidence=confidence,
            provisional=confidence < compiled.confidence_threshold,
        )

    # Up: every level above the current rating (every level, from the minimum, when unrated), nearest first.
    start = 0 if current is None else levels.index_above(current)
    i = _first(levels.count - start, lambda j: rank[outcome(levels[start + j])[1]] < base_rank)
    up = None if i is None else change(levels[start + i])
    if current is None:
        return up, None  # rating an unrated criterion never lowers the total nor fails a gate that passed
    # Down: every level below the current rating, nearest first.
    stop = levels.index_from(current)  # levels[:stop] are below the current rating
    i = _first(stop, lambda j: rank[outcome(levels[stop - 1 - j])[1]] > base_rank)
    down = None if i is None else change(levels[stop - 1 - i])
    return up, down


def _weight_changes(
    compiled: CompiledRubric,
    values: dict[str, float],
    index: int,
    base: tuple[float, str, bool, float],
    rank: dict[str, int],
) -> tuple[WeightChange | None, WeightChange | None]:
    total0, tier0, gate_passed, _confidence = base
    if not gate_passed:
        return None, None  # a failed gate makes the tier D whatever the weights
    criteria = compiled.criteria
    spec = criteria[index]
    w0 = float(spec.weight)

    def normalised(c: CriterionSpec) -> float:
        v = values.get(c.key)
        return 0.0 if v is None else (v - float(c.scale_min)) / (float(c.scale_max) - float(c.scale_min))

    others = [c for i, c in enumerate(criteria) if i != index]
    w_other = math.fsum(float(c.weight) for c in others)
    if w_other == 0.0:
        return None, None  # the only criterion: its weight cancels out
    s_other = math.fsum(float(c.weight) * normalised(c) for c in others)
    n = normalised(spec)
    raw0 = 100.0 * (s_other + w0 * n) / (w_other + w0)

    tiers = sorted(((float(t), label) for label, t in compiled.method.tier_thresholds), key=lambda p: -p[0])
    base_rank = rank[tier0]
    # The raw boundary just above the current tier (to rise) and the current tier's own (to fall).
    above = [_raw_boundary(t) for t, label in tiers if rank[label] < base_rank and t > total0]
    boundary_up = min(above) if above else None
    own = [_raw_boundary(t) for t, label in tiers if label == tier0]
    boundary_down = own[0] if own else None

    outcomes: dict[float, tuple] = {}

    def outcome(w: float) -> tuple | None:
        if w not in outcomes:
            try:
                outcomes[w] = compiled.reweighted(spec.key, w).score_total(values)
            except (ValueError, OverflowError):  # a weight so large the engine's sums are not finite
                outcomes[w] = None
        return outcomes[w]

    def flips(w: float) -> bool:
        found = outcome(w)
        return found is not None and found[1] != tier0

    def crossing(limit: float) -> float | None:
        # The weight where the raw total meets the boundary it moves towards, if it reaches it at all.
        if limit > raw0 and boundary_up is not None and limit > boundary_up:
            t = boundary_up / 100.0
        elif limit < raw0 and boundary_down is not None and limit < boundary_down:
            t = boundary_down / 100.0
        else:
            return None
        if n == t:
            return None
        w = (t * w_other - s_other) / (n - t)
        return w if math.isfinite(w) and w > 0 else w0

    def made(w: float) -> WeightChange:
        total, tier, _g, _c = outcome(w)
        return WeightChange(weight=w, relative_change=(w - w0) / w0, tier=tier, total=total)

    # Raising the weight: the total moves towards 100·n.
    up = None
    estimate = crossing(100.0 * n)
    if estimate is not None:
        hi = max(estimate, w0) * (1 + 1e-6)
        steps = 0
        while not flips(hi):
            hi *= 2
            steps += 1
            if steps > _MAX_STEPS or not math.isfinite(hi) or outcome(hi) is None:
                hi = None
                break
        if hi is not None:
            lo = max(w0, estimate * (1 - 1e-6))
            if lo >= hi or flips(lo):
                lo = w0
            for _ in range(_MAX_STEPS):
                if hi - lo <= _WEIGHT_TOLERANCE * hi:
                    break
                mid = lo + (hi - lo) / 2
                if flips(mid):
                    hi = mid
                else:
                    lo = mid
            up = made(hi)
    # Lowering the weight: the total moves towards the others' mean, 100·S/W.
    down = None
    estimate = crossing(100.0 * s_other / w_other)
    if estimate is not None:
        lo = min(estimate, w0) * (1 - 1e-6)
        steps = 0
        while not flips(lo):
            lo /= 2
            steps += 1
            if steps > _MAX_STEPS or lo < 1e-300:
                lo = None
                break
        if lo is not None:
            hi = min(w0, estimate * (1 + 1e-6))
            if hi <= lo or flips(hi):
                hi = w0
            for _ in range(_MAX_STEPS):
                if hi - lo <= _WEIGHT_TOLERANCE * hi:
                    break
                mid = lo + (hi - lo) / 2
                if flips(mid):
                    lo = mid
                else:
                    hi = mid
            down = made(lo)
    return up, down


def rubric_sensitivity(
    compiled: CompiledRubric, values: Mapping[str, float | None], *, weights: bool = True
) -> TierSensitivity:
    """What would change the tier of ``values`` (criterion key → rating, None or absent: unrated), criterion
    by criterion, against a compiled rubric. ``weights=False`` leaves the weight moves out (None).

    Raises ValueError as the engine does for a rating off its scale or of an unknown criterion.
    """
    clean = {k: v for k, v in values.items() if v is not None}
    base = compiled.score_total(clean)  # validates
    total, tier, gate_passed, _confidence = base
    rank = _tier_ranks(compiled.method)
    rows = []
    for index, spec in enumerate(compiled.criteria):
        up, down = _rating_changes(compiled, clean, spec, rank, rank[tier])
        weight_up, weight_down = (
            _weight_changes(compiled, clean, index, base, rank) if weights else (None, None)
        )
        current = clean.get(spec.key)
        rows.append(
            CriterionSensitivity(
                key=spec.key,
                name=spec.name,
                source=spec.source,
                is_gate=bool(spec.is_gate),
                rating=None if current is None else float(current),
                weight=float(spec.weight),
                up=up,
                down=down,
                weight_up=weight_up,
                weight_down=weight_down,
            )
        )
    return TierSensitivity(total=total, tier=tier, gate_passed=gate_passed, criteria=tuple(rows))


def tier_sensitivity(
    criteria: Iterable[CriterionSpec],
    ratings: Mapping[str, float | RatingInput | None] | Iterable[RatingInput],
    method: Method = DEFAULT_METHOD,
    *,
    weights: bool = True,
) -> TierSensitivity:
    """``rubric_sensitivity`` for what ``compute_score`` takes: criteria, ratings (RatingInputs, or a mapping
    of key to RatingInput or to a rating) and the method."""
    if isinstance(ratings, Mapping):
        values = {k: r.value if isinstance(r, RatingInput) else r for k, r in ratings.items()}
    else:
        values = {}
        for r in ratings:
            if r.criterion_key in values:
                raise ValueError(f"criterion {r.criterion_key!r} is rated more than once")
            values[r.criterion_key] = r.value
    return rubric_sensitivity(compile_rubric(tuple(criteria), method), values, weights=weights)
