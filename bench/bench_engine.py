"""Throughput of the pure scoring engine: initiatives scored per second against a 30-criterion rubric.

Run from the project root:  .venv/bin/python bench/bench_engine.py [--n 200000] [--seed 1]

Three paths over the same random rating sets: ``CompiledRubric.score_total`` (the minimal path: total, tier,
gate_passed, confidence), ``CompiledRubric.score`` (full result with breakdown) and ``compute_score`` (the
convenience entry point: RatingInput objects in, compiled rubric cached). Each runs on fully rated sets and on
sets where about one criterion in ten is unrated. The paths are checked to agree before anything is timed.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.engine import CriterionSpec, RatingInput, compile_rubric, compute_score

N_CRITERIA = 30


def build_rubric(rng: random.Random) -> list[CriterionSpec]:
    criteria = []
    for i in range(N_CRITERIA):
        gate = i in (9, 21)  # two gates, like compliance_readiness and data_protection
        criteria.append(
            CriterionSpec(
                key=f"criterion_{i:02d}",
                name=f"Criterion {i}",
                weight=float(rng.choice([4, 6, 8, 10])),
                is_gate=gate,
                gate_threshold=2.0 if gate else None,
                source="computed" if i in (5, 11, 21) else "rated",
            )
        )
    return criteria


def rating_sets(criteria: list[CriterionSpec], n: int, rng: random.Random, unrated: float) -> list[dict]:
    sets = []
    for _ in range(n):
        values = {}
        for c in criteria:
            if rng.random() < unrated:
                continue
            # rated criteria take a level 0–4; computed ones any value on the scale
            values[c.key] = rng.uniform(0.0, 4.0) if c.source == "computed" else float(rng.randint(0, 4))
        sets.append(values)
    return sets


def timed(fn, items) -> float:
    gc.collect()
    start = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="rating sets per run (default 200,000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    criteria = build_rubric(rng)
    compiled = compile_rubric(criteria)
    print(f"{N_CRITERIA} criteria, {args.n:,} rating sets per run, Python {sys.version.split()[0]}")
    for label, unrated in (("all rated", 0.0), ("~10% unrated", 0.1)):
        sets = rating_sets(criteria, args.n, rng, unrated)
        inputs = [[RatingInput(k, v) for k, v in values.items()] for values in sets]

        for values, ratings in zip(sets[:1000], inputs[:1000], strict=True):
            full = compute_score(criteria, ratings)
            assert compiled.score_total(values) == (full.total, full.tier, full.gate_passed, full.confidence)
            assert compiled.score(values) == full

        rates = {
            "score_total (minimal)": timed(compiled.score_total, sets),
            "score (breakdown)": timed(compiled.score, sets),
            "compute_score": timed(lambda r: compute_score(criteria, r), inputs),
        }
        for name, rate in rates.items():
            print(f"  {label:<13} {name:<22} {rate:>12,.0f} initiatives/s  ({1e6 / rate:6.2f} µs each)")


if __name__ == "__main__":
    main()
