"""The weekly report's figures: its time and query count for one bank, and (profile mode) where its time goes."""

from __future__ import annotations

import time


def report_measure(bank_id: int, *, count: bool = True) -> tuple[float, int | None]:
    """(seconds, queries) of a forced weekly report of the bank.

    The time is of a report built as it is in production (on PostgreSQL three sections are worked out beside the
    rest on connections of their own, ``scoring.reports.build.concurrent``). The queries (``count``; else None)
    are counted on a second report built in this one thread (``SCORECARD_REPORT_CONCURRENT`` off): the same
    queries, all of them on this connection, where ``CaptureQueriesContext`` sees them."""
    from django.db import connection
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext

    from scoring.models.report import ReportKind
    from scoring.reports.services import last_complete_week_start, report_generate

    def build() -> None:
        report_generate(
            kind=ReportKind.WEEKLY_PORTFOLIO,
            bank_id=bank_id,
            period_start=last_complete_week_start(),
            force=True,
            deliver=False,
        )

    started = time.perf_counter()
    build()
    elapsed = time.perf_counter() - started
    if not count:
        return elapsed, None
    with override_settings(SCORECARD_REPORT_CONCURRENT=False), CaptureQueriesContext(connection) as ctx:
        build()
    return elapsed, len(ctx)


def report_phases(bank_id: int) -> list[str]:
    """Where a report's time goes: each section builder, the render and the row's save, timed (profile mode).

    Wraps the report modules' functions in this process only, for one extra report run."""
    import functools

    from scoring.models import Report
    from scoring.reports import build, render, services

    times: dict[str, float] = {}
    saved = []

    def timed(owner, name, label):
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*a, **k):
            started = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                times[label] = times.get(label, 0.0) + time.perf_counter() - started

        saved.append((owner, name, original))
        setattr(owner, name, wrapper)

    sections = [
        "_pillars",
        "_pillar_status",
        "_totals",
        "_scores",
        "_top_bottom",
        "_previous_report",
        "_movers",
    ]
    sections += ["_failed_gates", "_stale", "_coverage", "_kpi_section", "_partners", "_scope_meta"]
    sections += ["exposure_section", "monitoring_section"]  # imported into build: wrapped there
    for name in sections:
        if callable(getattr(build, name, None)):
            timed(build, name, f"build.{name}")
    timed(services, "report_payload_build", "services → build.report_payload_build (all sections)")
    timed(services, "_claim", "services._claim (find/create the row)")
    timed(render, "report_render", "render.report_render (HTML)")
    timed(Report, "save", "Report.save (payload + HTML written)")
    try:
        total, _queries = report_measure(bank_id, count=False)
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)
    out = [f"{total:.2f} s in all"]
    out += [
        f"  {v:6.2f} s {v / total:6.1%}  {k}"
        for k, v in sorted(times.items(), key=lambda kv: -kv[1])
        if v >= 0.01
    ]
    return out


def main() -> int:
    """Time the weekly report of the code in the current directory on a kept bench database (issue 17).

        python -m bench.report_exposure --keep-db --reps 1 --db-name scorecard_bench_report   # build it once
        python -m bench.report --db-name scorecard_bench_report --runs 3                      # this checkout
        git worktree add /tmp/base ae2eec9 && cd /tmp/base && python manage.py compilemessages
        python /path/to/this/checkout/bench/report.py --db-name scorecard_bench_report --runs 3   # that commit

    The code measured is the current directory's (put first on the path), so one database serves two commits;
    alternate them in one sitting. One warm-up report first (templates, translations); then each run's time."""
    import argparse
    import os
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--db-name", required=True)
    parser.add_argument("--bank-code", default="bench-0")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, os.getcwd())  # why: the code of the checkout run from, not this file's
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.db_name}"
    os.environ.pop("REDIS_URL", None)  # deliver=False: nothing is enqueued
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.bench"
    import logging

    import django

    django.setup()
    logging.getLogger().setLevel(logging.WARNING)
    from partnerships.models import Bank

    bank_id = Bank.objects.get(code=args.bank_code).pk
    report_measure(bank_id, count=False)  # warm-up
    for _ in range(args.runs):
        elapsed, queries = report_measure(bank_id)
        print(f"{os.getcwd()}: {elapsed:.3f} s, {queries} queries", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
