"""The scoring engine: a pure function from a rubric and its ratings to a score, a tier and a breakdown.

How a score is computed
=======================

A rubric version is a set of criteria. Each criterion ``c`` has a weight ``w_c > 0`` (weights are relative:
only their proportions matter), a scale ``[min_c, max_c]`` (0–4 by default) and a source: ``rated`` (a person
chose a level) or ``computed`` (a formula derived the level from data; see ``scoring.formulas``).

1. **Normalise.** A rating ``r_c`` becomes ``n_c = (r_c − min_c) / (max_c − min_c)``, a number from 0 to 1.
   A rating outside its criterion's scale is an error naming the criterion — it is refused, never clamped.
   A criterion without a rating (or with the rating ``None``) is *unrated*.

2. **Total.** ``total = 100 × Σ w_c·n_c / Σ w_c``, where the sum in the denominator runs over **all**
   criteria, rated or not. An unrated criterion adds nothing to the numerator, so leaving a criterion unrated
   can never raise a score: omission is not a way to game it. The total is rounded to one decimal, half up
   (62.25 → 62.3), once, at the very end; nothing is rounded on the way.

3. **Confidence.** ``confidence = Σ w_c over rated criteria / Σ w_c over all criteria`` — the share of the
   rubric's weight that the score rests on, rounded to three decimals (half up). Below the method's
   confidence threshold (0.7 by default) the score is marked ``provisional``.

4. **Gates.** Some criteria are knock-outs (e.g. compliance readiness ≥ 2). A gate fails when it is unrated
   or rated below its threshold; a rating equal to the threshold passes. Any failed gate makes the tier
   ``D`` and ``gate_passed`` false whatever the total, and the failed gates are listed with the reason
   (``"unrated"`` or ``"below threshold"``; ``"missing"`` with the list of missing inputs when a computed
   rating's data names them — version 2 formulas do). The total itself is still computed and shown.

5. **Tier.** If every gate passes, the tier is that of the highest of the method's thresholds that the
   *displayed* (rounded) total reaches — by default A ≥ 75, B ≥ 60, C ≥ 45 — and ``D`` otherwise. Using the
   displayed total means a score shown as 75.0 is always an A.

6. **Breakdown.** One row per criterion, in the order the criteria were given (the rubric's display order):
   key, name, weight, rating (or null), normalised value, contribution in points ``100·w_c·n_c / Σ w`` (the
   points it adds to the total; shown to two decimals, so the shown contributions may differ from the total by
   rounding), source, and the rationale — for a computed criterion, the description of the data it was
   computed from, with the figures themselves in ``data``.

Determinism
-----------
The same inputs give the same output, bit for bit, on every run and machine with IEEE-754 doubles. Nothing
numerical depends on the order of the criteria or of the ratings: the per-criterion terms
``(r_c − min_c) × (w_c / (max_c − min_c))`` are formed one by one and added with ``math.fsum`` (an exactly
rounded sum) in key order. ``inputs_hash`` is a SHA-256 of a canonical JSON form of everything that affects
the result (criteria, ratings with their rationale and data, method, engine version), so a stored score can be
recognised as up to date without recomputing it.

Using it
--------
``compute_score(criteria, ratings, method)`` is the convenient entry point. For many initiatives scored
against one rubric, ``compile_rubric(criteria, method)`` once and call ``.score(values)`` (full result) or
``.score_total(values)`` (total, tier, gate_passed, confidence only — no breakdown) per initiative;
``compute_score`` uses the same compiled form, so there is one implementation of the arithmetic. Ratings are
ints or floats (convert a Decimal first); rubric parameters (weights, scales, thresholds) may be Decimal.

This module imports nothing from Django and does no I/O.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from functools import lru_cache
from numbers import Real
from operator import gt, itemgetter, lt, mul, sub

__all__ = [
    "COMPUTED",
    "DEFAULT_METHOD",
    "ENGINE_VERSION",
    "FAIL_TIER",
    "RATED",
    "BreakdownRow",
    "CompiledRubric",
    "CriterionSpec",
    "Method",
    "RatingInput",
    "ScoreResult",
    "compile_rubric",
    "compute_score",
    "inputs_hash",
]

# Part of every inputs hash: bump it when the arithmetic changes, so that stored scores are recomputed.
ENGINE_VERSION = "1"
_INF = math.inf
RATED = "rated"
COMPUTED = "computed"
SOURCES = frozenset({RATED, COMPUTED})
# The tier of a score below every threshold, or with a failed gate.
FAIL_TIER = "D"

_floor = math.floor
_fsum = math.fsum


@dataclass(frozen=True, slots=True)
class CriterionSpec:
    """One criterion of a rubric version, as the engine needs it."""

    key: str
    name: str
    weight: float
    scale_min: float = 0
    scale_max: float = 4
    is_gate: bool = False
    gate_threshold: float | None = None
    source: str = RATED  # "rated" | "computed"

    def to_dict(self) -> dict:
        """Canonical JSON-able form (numbers as floats; a threshold only where the criterion is a gate)."""
        return {
            "key": self.key,
            "name": self.name,
            "weight": float(self.weight),
            "scale_min": float(self.scale_min) + 0.0,
            "scale_max": float(self.scale_max) + 0.0,
            "is_gate": bool(self.is_gate),
            "gate_threshold": float(self.gate_threshold) + 0.0 if self.is_gate else None,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class RatingInput:
    """A rating of one criterion. ``value=None`` means unrated.

    For a computed criterion, ``rationale`` describes the data used and ``data`` holds the figures
    (JSON-able).
    """

    criterion_key: str
    value: float | None
    rationale: str = ""
    data: dict | None = None


@dataclass(frozen=True, slots=True)
class Method:
    """The parameters of the default method, stored on the rubric version."""

    tier_thresholds: tuple[tuple[str, float], ...] = (("A", 75.0), ("B", 60.0), ("C", 45.0))  # else "D"
    confidence_threshold: float = 0.7

    def to_dict(self) -> dict:
        """Canonical JSON-able form; thresholds listed highest first, as they are applied."""
        ordered = sorted(((float(t), str(label)) for label, t in self.tier_thresholds), reverse=True)
        return {
            "tier_thresholds": [[label, t] for t, label in ordered],
            "confidence_threshold": float(self.confidence_threshold),
        }


DEFAULT_METHOD = Method()


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    """One criterion's part in a score. ``contribution`` is in points of the total and is not rounded."""

    key: str
    name: str
    weight: float
    rating: float | None
    normalised: float | None
    contribution: float
    source: str
    rationale: str
    data: dict | None
    is_gate: bool
    gate_threshold: float | None
    gate_passed: bool | None  # None when the criterion is not a gate

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "name": self.name,
            "weight": self.weight,
            "rating": self.rating,
            "normalised": None if self.normalised is None else _round_half_up(self.normalised, 4),
            "contribution": _round_half_up(self.contribution, 2),
            "source": self.source,
            "rationale": self.rationale,
            "data": self.data,
            "is_gate": self.is_gate,
            "gate_threshold": self.gate_threshold,
            "gate_passed": self.gate_passed,
        }


def _row_factory():
    # A frozen dataclass's __init__ goes through object.__setattr__ once per field, by name; score() makes a
    # row per criterion per initiative, so rows are made here by writing the slots directly (what
    # object.__setattr__ ends up doing), about twice as fast. Same object: same fields, eq, hash and repr.
    (
        set_key,
        set_name,
        set_weight,
        set_rating,
        set_normalised,
        set_contribution,
        set_source,
        set_rationale,
        set_data,
        set_is_gate,
        set_gate_threshold,
        set_gate_passed,
    ) = (BreakdownRow.__dict__[f.name].__set__ for f in fields(BreakdownRow))
    new = object.__new__

    def make(
        key, name, weight, rating, normalised, contribution, source, rationale, data, is_gate, threshold, ok
    ):
        row = new(BreakdownRow)
        set_key(row, key)
        set_name(row, name)
        set_weight(row, weight)
        set_rating(row, rating)
        set_normalised(row, normalised)
        set_contribution(row, contribution)
        set_source(row, source)
        set_rationale(row, rationale)
        set_data(row, data)
        set_is_gate(row, is_gate)
        set_gate_threshold(row, threshold)
        set_gate_passed(row, ok)
        return row

    return make


_new_row = _row_factory()


def _no_note(key: str) -> None:
    return None


def _gate_failure(
    key: str, name: str, rating: float | None, threshold: float, missing: Mapping[str, Sequence[str]] | None
) -> dict:
    """A failed gate: below its threshold, unrated, or unrated because named inputs are missing."""
    lacking = list((missing or {}).get(key) or ()) if rating is None else []
    if lacking:
        return {
            "key": key,
            "name": name,
            "rating": None,
            "threshold": threshold,
            "reason": "missing",
            "missing": lacking,
        }
    reason = "unrated" if rating is None else "below threshold"
    return {"key": key, "name": name, "rating": rating, "threshold": threshold, "reason": reason}


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """The outcome of scoring one initiative against one rubric version."""

    total: float  # 0–100, rounded to one decimal (half up)
    tier: str
    gate_passed: bool
    failed_gates: tuple[dict, ...]  # {key, name, rating, threshold, reason}
    confidence: float  # 0–1, rounded to three decimals (half up)
    provisional: bool
    breakdown: tuple[BreakdownRow, ...]

    def to_dict(self) -> dict:
        """JSON-able form for storage and the API."""
        return {
            "engine_version": ENGINE_VERSION,
            "total": self.total,
            "tier": self.tier,
            "gate_passed": self.gate_passed,
            "failed_gates": [dict(g) for g in self.failed_gates],
            "confidence": self.confidence,
            "provisional": self.provisional,
            "breakdown": [row.to_dict() for row in self.breakdown],
        }


def _round_half_up(x: float, digits: int) -> float:
    # Half up rather than Python's round(), which rounds exact ties to even (round(62.25, 1) == 62.2): a
    # reader checking the arithmetic by hand expects 62.3. Deterministic either way.
    scale = 10.0**digits
    return _floor(x * scale + 0.5) / scale


def _is_number(x: object) -> bool:
    # bool is an int in Python and passes the fast path's arithmetic, so it is accepted everywhere alike.
    return isinstance(x, Real)


def _finite_number(x: object, what: str, *, allow_decimal: bool = True) -> float:
    # Rubric parameters may come straight from DecimalFields; they are converted to float once, at compile
    # time. Ratings may not be Decimal: they go through float arithmetic on every call.
    if not (_is_number(x) or (allow_decimal and isinstance(x, Decimal))):
        raise ValueError(f"{what} must be a number, got {x!r}")
    f = float(x)
    if not math.isfinite(f):
        raise ValueError(f"{what} must be finite, got {x!r}")
    return f


class CompiledRubric:
    """A rubric version prepared once for scoring many initiatives; see ``compile_rubric``.

    ``values`` passed to ``score``/``score_total`` map criterion keys to ratings; a key that is absent or maps
    to ``None`` is unrated. Internally the criteria are held in key order.
    """

    __slots__ = (
        "_fingerprint",
        "_gates",
        "_get",
        "_his",
        "_keys",
        "_keyset",
        "_ks",
        "_layout",
        "_los",
        "_n",
        "_scale",
        "_simple_hi",
        "_spans",
        "_specs",
        "_tiers",
        "_weight_of",
        "_weight_sum",
        "_weights",
        "_zero_lo",
        "confidence_threshold",
        "criteria",
        "method",
    )

    def __init__(self, criteria: Sequence[CriterionSpec], method: Method = DEFAULT_METHOD) -> None:
        criteria = tuple(criteria)
        _validate_criteria(criteria)
        _validate_method(method)
        self._prepare(criteria, method)

    def reweighted(self, key: str, weight: float) -> CompiledRubric:
        """This rubric with the weight of criterion ``key`` changed. Only the new weight is checked: the rest was
        checked when this rubric was compiled. The sensitivity analysis tries dozens of weights a criterion, and
        validating the whole rubric again each time was half of a preview request."""
        if key not in self._keyset:
            raise KeyError(key)
        w = _finite_number(weight, f"weight of criterion {key!r}")
        if w <= 0:
            raise ValueError(f"weight of criterion {key!r} must be positive, got {weight!r}")
        # why not ``_prepare`` again: it re-derives every criterion's tables, and a preview tries some 200 weights
        # (most of a preview request's time). Only what depends on this one weight changes; the rest is shared
        # (immutable tuples). tests/scoring/test_engine.py holds every slot equal to what ``_prepare`` gives.
        trial = object.__new__(CompiledRubric)
        for name in CompiledRubric.__slots__:
            setattr(trial, name, getattr(self, name))
        i = self._keys.index(key)  # key order
        spec = replace(self._specs[i], weight=weight)
        trial.criteria = tuple(spec if c.key == key else c for c in self.criteria)
        trial._specs = (*self._specs[:i], spec, *self._specs[i + 1 :])
        trial._weights = (*self._weights[:i], float(weight), *self._weights[i + 1 :])
        trial._weight_of = {**self._weight_of, key: trial._weights[i]}
        trial._ks = (*self._ks[:i], trial._weights[i] / self._spans[i], *self._ks[i + 1 :])
        trial._weight_sum = _fsum(trial._weights)
        if not math.isfinite(trial._weight_sum):
            raise ValueError("the sum of the weights is not finite")
        trial._fingerprint = None
        trial._layout = tuple(
            (row[0], row[1], trial._weights[i], row[3], row[4], trial._ks[i], *row[6:])
            if row[0] == key
            else row
            for row in self._layout
        )
        return trial

    def _prepare(self, criteria: tuple[CriterionSpec, ...], method: Method) -> None:
        ordered = sorted(criteria, key=lambda c: c.key)
        self.criteria = criteria  # in the given (display) order
        self.method = method
        self._fingerprint = None
        self.confidence_threshold = float(method.confidence_threshold)
        self._specs = tuple(ordered)
        self._keys = tuple(c.key for c in ordered)
        self._keyset = frozenset(self._keys)
        self._n = len(ordered)
        position = {k: i for i, k in enumerate(self._keys)}
        display = tuple(position[c.key] for c in criteria)
        self._weights = tuple(float(c.weight) for c in ordered)
        self._weight_of = dict(zip(self._keys, self._weights, strict=True))
        self._los = tuple(float(c.scale_min) + 0.0 for c in ordered)  # + 0.0 turns -0.0 into 0.0
        self._his = tuple(float(c.scale_max) for c in ordered)
        self._spans = tuple(hi - lo for lo, hi in zip(self._los, self._his, strict=True))
        # The term of criterion c is (r − min) × (w / span) = w·n: one multiplication per criterion in the
        # hot loop. Every path (fast, general, breakdown) forms the term this same way, so they agree bit for
        # bit.
        self._ks = tuple(w / span for w, span in zip(self._weights, self._spans, strict=True))
        self._weight_sum = _fsum(self._weights)
        if not math.isfinite(self._weight_sum):
            raise ValueError("the sum of the weights is not finite")
        self._zero_lo = all(lo == 0.0 for lo in self._los)
        # The common case — one scale for the whole rubric — is range-checked with min()/max(), in C.
        scales = set(zip(self._los, self._his, strict=True))
        self._scale = (self._los[0], self._his[0]) if len(scales) == 1 else None
        self._simple_hi = self._scale[1] if self._scale is not None and self._zero_lo else None
        self._gates = tuple((c.key, float(c.gate_threshold)) for c in ordered if c.is_gate)
        self._tiers = tuple(
            sorted(((float(t), label) for label, t in method.tier_thresholds), key=lambda p: -p[0])
        )
        # Everything score() needs per breakdown row that does not depend on the rating, in display order.
        self._layout = tuple(
            (
                c.key,
                c.name,
                self._weights[i],
                self._los[i],
                self._spans[i],
                self._ks[i],
                c.source,
                bool(c.is_gate),
                float(c.gate_threshold) if c.is_gate else None,
            )
            for c, i in zip(criteria, display, strict=True)
        )
        if self._n == 1:
            only = self._keys[0]
            self._get = lambda values: (values[only],)
        else:
            self._get = itemgetter(*self._keys)

    # -- the arithmetic (one implementation) -----------------------------------------------------------------

    def _evaluate_general(self, values: Mapping[str, float | None]) -> tuple[float, float]:
        """Validate ``values`` and return (Σ (r − min)·w/span over rated criteria, Σ w over rated criteria)."""
        try:
            get = values.get
            unknown = not self._keyset.issuperset(values)
        except (AttributeError, TypeError):
            raise TypeError(
                f"values must map criterion keys to ratings, got {type(values).__name__}"
            ) from None
        if unknown:
            self._check_keys(values)
        # An absent criterion reads as its scale minimum: its term (min − min)·k is exactly 0.0, and fsum is
        # an exactly rounded sum, so the total is the same bits as a sum over the rated terms alone.
        filled = list(map(get, self._keys, self._los))
        try:
            s = self._sum_terms(filled, values)
        except TypeError:
            # An explicit None (unrated) — drop those and go again — or something that is not a number.
            present = {k: v for k, v in values.items() if v is not None}
            if len(present) == len(values):
                self._raise_invalid(values)
            return self._evaluate_general(present)
        if len(values) == self._n:
            return s, self._weight_sum
        return s, _fsum(map(self._weight_of.__getitem__, values))

    def _sum_terms(self, vals: Sequence, values: Mapping) -> float:
        """Σ (r − min) × (w / span) over ``vals`` (one per criterion, in key order), after range checks.

        Raises TypeError for a None or a non-number among ``vals``; ValueError for a rating off its scale.
        """
        scale = self._scale
        if scale is None:
            if any(map(lt, vals, self._los)) or any(map(gt, vals, self._his)):
                self._raise_invalid(values)
        elif min(vals) < scale[0] or max(vals) > scale[1]:
            self._raise_invalid(values)
        if self._zero_lo:
            s = _fsum(map(mul, vals, self._ks))  # r − 0.0 == r exactly: the same term
        else:
            s = _fsum(map(mul, map(sub, vals, self._los), self._ks))
        if s != s:  # a NaN got past the range check: every comparison with NaN is false
            self._raise_invalid(values)
        return s

    def _check_keys(self, values: Mapping[str, object]) -> None:
        if not self._keyset.issuperset(values):
            unknown = sorted(str(k) for k in values if k not in self._keyset)
            raise ValueError(f"rating for unknown criterion {unknown[0]!r} (not in this rubric): {unknown}")

    def _raise_invalid(self, values: Mapping[str, float | None]) -> None:
        for key, lo, hi in zip(self._keys, self._los, self._his, strict=True):
            v = values.get(key)
            if v is not None:
                _check_value(key, v, lo, hi)
        raise ValueError("invalid rating")  # not reached: one of the checks above raises

    # -- public ----------------------------------------------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical rubric (engine version, criteria, method), computed once."""
        if self._fingerprint is None:
            payload = {
                "engine_version": ENGINE_VERSION,
                "criteria": [c.to_dict() for c in self._specs],
                "method": self.method.to_dict(),
            }
            blob = json.dumps(
                payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            )
            self._fingerprint = hashlib.sha256(blob.encode("utf-8")).hexdigest()
        return self._fingerprint

    def canonical_inputs(self, notes: Mapping[str, RatingInput]) -> str:
        """Canonical JSON of one initiative's inputs: ratings, rationales and data, each keyed by criterion.

        Keys are sorted, ratings written as floats (3 and 3.0 alike), and a rating of ``None`` with neither
        rationale nor data is left out (the same as no rating). Stored with a score, it is enough to rebuild
        the whole breakdown: ``CompiledRubric.score(*CompiledRubric.parse_inputs(text))``.
        """
        self._check_keys(notes)
        ratings: dict[str, float | None] = {}
        rationales: dict[str, str] = {}
        data: dict[str, dict] = {}
        for key, r in notes.items():
            if r.value is None and not r.rationale and not r.data:
                continue
            value = r.value
            if value is not None and not (
                type(value) is float and -_INF < value < _INF
            ):  # fast path: a float
                value = _finite_number(value, f"rating of criterion {key!r}", allow_decimal=False)
            ratings[key] = None if value is None else value + 0.0
            if r.rationale:
                rationales[key] = r.rationale
            if r.data:
                data[key] = r.data
        payload = {"ratings": ratings, "rationales": rationales, "data": data}
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    @staticmethod
    def parse_inputs(text: str) -> tuple[dict[str, float], dict[str, RatingInput]]:
        """The ``(values, notes)`` that ``score`` takes, from ``canonical_inputs``' text."""
        payload = json.loads(text) if isinstance(text, str) else text
        ratings, rationales, data = payload["ratings"], payload.get("rationales", {}), payload.get("data", {})
        notes = {
            key: RatingInput(key, ratings.get(key), rationales.get(key, ""), data.get(key))
            for key in set(ratings) | set(rationales) | set(data)
        }
        return {k: v for k, v in ratings.items() if v is not None}, notes

    def hash_canonical(self, canonical: str, extra: str = "") -> str:
        """SHA-256 (hex) of this rubric's fingerprint, ``extra`` and canonical inputs."""
        blob = f"{self.fingerprint}\x1f{extra}\x1f{canonical}"
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def inputs_hash(self, notes: Mapping[str, RatingInput], extra: str = "") -> str:
        """The inputs hash of one initiative's ratings (keyed by criterion) against this rubric."""
        return self.hash_canonical(self.canonical_inputs(notes), extra)

    def failed_gates(
        self, values: Mapping[str, float | None], missing: Mapping[str, Sequence[str]] | None = None
    ) -> list[dict]:
        """The gates that fail for these values, as in ``ScoreResult.failed_gates`` (display order).

        ``missing`` names, per criterion, the inputs a computed rating lacked (its data's ``"missing"``); an unrated
        gate with such a list fails with the reason ``"missing"`` and the list, instead of ``"unrated"``.
        """
        failed = []
        for c in self.criteria:
            if not c.is_gate:
                continue
            v = values.get(c.key)
            threshold = float(c.gate_threshold)
            if v is None or v < threshold:
                failed.append(
                    _gate_failure(c.key, c.name, None if v is None else float(v), threshold, missing)
                )
        return failed

    def score_total(self, values: Mapping[str, float | None]) -> tuple[float, str, bool, float]:
        """The minimal path: ``(total, tier, gate_passed, confidence)``, without building a breakdown.

        This is the one implementation of the total, tier and confidence; ``score`` calls it.
        """
        weight_sum = self._weight_sum
        s = None
        hi = self._simple_hi
        if hi is not None and len(values) == self._n:
            # The common case inline: one scale [0, hi] for the whole rubric, every criterion rated, all
            # valid. It is ``_sum_terms`` with its branches taken. Anything else — an unrated criterion, an
            # unknown key, a bad value, mixed scales — takes the general path, which also raises the errors.
            try:
                vals = self._get(values)
                if min(vals) >= 0.0 and max(vals) <= hi:
                    s = _fsum(map(mul, vals, self._ks))
                    if s != s:
                        s = None
            except (KeyError, TypeError):
                pass
        if s is None:
            s, rated_weight = self._evaluate_general(values)
        else:
            rated_weight = weight_sum
        total = _floor(100.0 * s / weight_sum * 10.0 + 0.5) / 10.0  # half up to one decimal, once
        for key, threshold in self._gates:
            v = values.get(key)
            if v is None or v < threshold:
                gate_passed = False
                tier = FAIL_TIER
                break
        else:
            gate_passed = True
            tier = FAIL_TIER
            for threshold, label in self._tiers:
                if total >= threshold:
                    tier = label
                    break
        if rated_weight == weight_sum:
            confidence = 1.0
        else:
            confidence = _floor(rated_weight / weight_sum * 1000.0 + 0.5) / 1000.0
        return total, tier, gate_passed, confidence

    def score(
        self, values: Mapping[str, float | None], notes: Mapping[str, RatingInput] | None = None
    ) -> ScoreResult:
        """The full result with its breakdown. ``notes`` supplies each criterion's rationale and data."""
        total, tier, gate_passed, confidence = self.score_total(values)  # validates values
        weight_sum = self._weight_sum
        get_note = notes.get if notes else _no_note
        rows = []
        failed = []
        for key, name, weight, lo, span, k, source, is_gate, threshold in self._layout:
            v = values.get(key)
            note = get_note(key)
            if v is None:
                rating = normalised = None
                contribution = 0.0
            else:
                rating = float(v) + 0.0  # + 0.0: a rating of -0.0 is shown as 0.0
                normalised = (v - lo) / span + 0.0
                contribution = 100.0 * ((v - lo) * k) / weight_sum + 0.0  # the same term as in the total
            gate_row: bool | None = None
            if is_gate:
                gate_row = v is not None and v >= threshold
                if not gate_row:
                    lacking = (note.data or {}).get("missing") if note is not None else None
                    failed.append(
                        _gate_failure(key, name, rating, threshold, {key: lacking} if lacking else None)
                    )
            rows.append(
                _new_row(
                    key,
                    name,
                    weight,
                    rating,
                    normalised,
                    contribution,
                    source,
                    note.rationale if note is not None else "",
                    note.data if note is not None else None,
                    is_gate,
                    threshold,
                    gate_row,
                )
            )
        return ScoreResult(
            total=total,
            tier=tier,
            gate_passed=gate_passed,
            failed_gates=tuple(failed),
            confidence=confidence,
            provisional=confidence < self.confidence_threshold,
            breakdown=tuple(rows),
        )


def _validate_criteria(criteria: tuple[CriterionSpec, ...]) -> None:
    if not criteria:
        raise ValueError("a rubric needs at least one criterion")
    seen: set[str] = set()
    for c in criteria:
        if not isinstance(c, CriterionSpec):
            raise TypeError(f"expected CriterionSpec, got {type(c).__name__}")
        if not isinstance(c.key, str) or not c.key:
            raise ValueError(f"criterion key must be a non-empty string, got {c.key!r}")
        if c.key in seen:
            raise ValueError(f"criterion {c.key!r} appears more than once")
        seen.add(c.key)
        w = _finite_number(c.weight, f"weight of criterion {c.key!r}")
        if w <= 0:
            raise ValueError(f"weight of criterion {c.key!r} must be positive, got {c.weight!r}")
        lo = _finite_number(c.scale_min, f"scale_min of criterion {c.key!r}")
        hi = _finite_number(c.scale_max, f"scale_max of criterion {c.key!r}")
        if not lo < hi:
            raise ValueError(f"scale of criterion {c.key!r} is empty: [{c.scale_min!r}, {c.scale_max!r}]")
        if not math.isfinite(hi - lo):
            raise ValueError(f"scale of criterion {c.key!r} is too wide: [{c.scale_min!r}, {c.scale_max!r}]")
        if c.source not in SOURCES:
            raise ValueError(f"source of criterion {c.key!r} must be 'rated' or 'computed', got {c.source!r}")
        if c.is_gate:
            if c.gate_threshold is None:
                raise ValueError(f"gate criterion {c.key!r} has no gate_threshold")
            t = _finite_number(c.gate_threshold, f"gate_threshold of criterion {c.key!r}")
            if not lo <= t <= hi:
                raise ValueError(
                    f"gate_threshold {c.gate_threshold!r} of criterion {c.key!r} is outside its scale "
                    f"[{c.scale_min!r}, {c.scale_max!r}]"
                )


def _check_value(key: str, v: object, lo: float, hi: float) -> None:
    if not _is_number(v):
        raise ValueError(f"rating for criterion {key!r} must be a number or None, got {v!r}")
    f = float(v)
    if math.isnan(f) or f < lo or f > hi:
        raise ValueError(f"rating {v!r} for criterion {key!r} is outside its scale [{lo:g}, {hi:g}]")


def _validate_method(method: Method) -> None:
    if not isinstance(method, Method):
        raise TypeError(f"expected Method, got {type(method).__name__}")
    labels: set[str] = set()
    for pair in method.tier_thresholds:
        if len(pair) != 2:
            raise ValueError(f"a tier threshold is a (label, threshold) pair, got {pair!r}")
        label, threshold = pair
        if not isinstance(label, str) or not label:
            raise ValueError(f"tier label must be a non-empty string, got {label!r}")
        if label in labels:
            raise ValueError(f"tier {label!r} appears more than once")
        labels.add(label)
        _finite_number(threshold, f"threshold of tier {label!r}")
    c = _finite_number(method.confidence_threshold, "confidence_threshold")
    if not 0.0 <= c <= 1.0:
        raise ValueError(f"confidence_threshold must be within [0, 1], got {method.confidence_threshold!r}")


def compile_rubric(criteria: Sequence[CriterionSpec], method: Method = DEFAULT_METHOD) -> CompiledRubric:
    """Validate a rubric version and prepare it for scoring many initiatives.

    Raises ValueError for no criteria, a duplicate key, a non-positive or non-finite weight, an empty scale, a
    gate without a threshold inside its scale, an unknown source, or a malformed method.
    """
    return CompiledRubric(criteria, method)


@lru_cache(maxsize=64)
def _compile_cached(criteria: tuple[CriterionSpec, ...], method: Method) -> CompiledRubric:
    return CompiledRubric(criteria, method)


def _compiled_for(criteria: Sequence[CriterionSpec], method: Method) -> CompiledRubric:
    criteria = tuple(criteria)
    try:
        hash((criteria, method))
    except TypeError:  # a field holds something unhashable; compile without the cache
        return CompiledRubric(criteria, method)
    return _compile_cached(criteria, method)


def _ratings_by_key(ratings: Mapping[str, RatingInput] | Iterable[RatingInput]) -> dict[str, RatingInput]:
    by_key: dict[str, RatingInput] = {}
    if isinstance(ratings, Mapping):
        for key, r in ratings.items():
            if not isinstance(r, RatingInput):
                raise TypeError(f"rating for {key!r} must be a RatingInput, got {type(r).__name__}")
            if r.criterion_key != key:
                raise ValueError(f"rating filed under {key!r} is for criterion {r.criterion_key!r}")
            by_key[key] = r
        return by_key
    for r in ratings:
        if not isinstance(r, RatingInput):
            raise TypeError(f"expected RatingInput, got {type(r).__name__}")
        if r.criterion_key in by_key:
            raise ValueError(f"criterion {r.criterion_key!r} is rated more than once")
        by_key[r.criterion_key] = r
    return by_key


def compute_score(
    criteria: Sequence[CriterionSpec],
    ratings: Mapping[str, RatingInput] | Iterable[RatingInput],
    method: Method = DEFAULT_METHOD,
) -> ScoreResult:
    """Score one initiative: see the module docstring for the method.

    ``ratings`` is a mapping of criterion key to RatingInput or an iterable of RatingInput; a criterion
    without one is unrated. Raises ValueError for a rating of a key the rubric does not have, a rating
    outside its scale, a criterion rated twice, or an invalid rubric or method.
    """
    compiled = _compiled_for(criteria, method)
    notes = _ratings_by_key(ratings)
    # Unrated ratings are left out of the values (their rationale still reaches the breakdown through notes):
    # absent keys take the engine's quicker path.
    return compiled.score({k: r.value for k, r in notes.items() if r.value is not None}, notes)


def inputs_hash(
    criteria: Sequence[CriterionSpec],
    ratings: Mapping[str, RatingInput] | Iterable[RatingInput],
    method: Method = DEFAULT_METHOD,
    extra: str = "",
) -> str:
    """SHA-256 (hex) of a canonical JSON of everything that affects the result.

    Criteria and ratings are sorted by key, so their order does not matter; numbers are written as floats,
    so 3 and 3.0 hash alike; a rating of ``None`` with no rationale and no data is the same as no rating. The
    engine version is included, and ``extra`` lets the caller add anything else that should invalidate a
    stored score. See ``CompiledRubric.inputs_hash`` (the same hash, for many initiatives).
    """
    return _compiled_for(criteria, method).inputs_hash(_ratings_by_key(ratings), extra)
