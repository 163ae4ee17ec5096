"""The weekly report's figures: its time and query count for one bank, and (profile mode) where its time goes."""

from __future__ import annotations

import time


def report_measure(bank_id: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scoring.models.report import ReportKind
    from scoring.reports.services import last_complete_week_start, report_generate

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        report_generate(
            kind=ReportKind.WEEKLY_PORTFOLIO,
            bank_id=bank_id,
            period_start=last_complete_week_start(),
            force=True,
            deliver=False,
        )
        elapsed = time.perf_counter() - started
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
    for name in sections:
        if callable(getattr(build, name, None)):
            timed(build, name, f"build.{name}")
    timed(services, "report_payload_build", "services → build.report_payload_build (all sections)")
    timed(services, "_claim", "services._claim (find/create the row)")
    timed(render, "report_render", "render.report_render (HTML)")
    timed(Report, "save", "Report.save (payload + HTML written)")
    try:
        total, _queries = report_measure(bank_id)
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
