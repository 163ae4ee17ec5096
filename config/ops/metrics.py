"""/metrics: Prometheus' text format, behind a bearer token.

Two kinds of figures:

- per process, from django-prometheus and prometheus_client: HTTP requests by view, method and status, their
  latency, the process' memory and CPU. Under gunicorn each worker process counts its own; set
  ``PROMETHEUS_MULTIPROC_DIR`` (an empty folder, emptied at each start; config/gunicorn.py marks dead workers)
  and a scrape adds up every worker's files, whichever worker answers it.
- the service's own, read when Prometheus scrapes, so they are exact whichever process answers and wherever the
  workers run: score jobs by status, the age of the oldest unfinished one and the jobs' durations (from the
  ScoreJob rows), reports by status, the queue's length (from the broker), Celery tasks succeeded / failed /
  retried by task, and report generation time (both counted by the workers in the shared cache, ops.counters).

Webhook deliveries are not measured: the service has no webhooks yet.
"""

from __future__ import annotations

import functools
import hmac
import logging
import os
from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from . import counters
from .signals import STATES, task_key

logger = logging.getLogger(__name__)

# Seconds from the request to the job's end: a one-initiative job takes well under a second, a bank's re-score
# minutes; the last buckets catch jobs that waited for the sweeper.
JOB_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# Seconds to build and render one report (docs/performance.md: 3.5 s at 100,000 initiatives).
REPORT_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
REPORT_METRIC = "report_generation"


def report_generation_observe(kind: str, seconds: float) -> None:
    """Called by the report service when a report has been built and rendered (any door: task, command)."""
    counters.observe(REPORT_METRIC, kind, seconds, REPORT_BUCKETS)


def _seconds(value) -> float:
    if value is None:
        return 0.0
    return value.total_seconds() if isinstance(value, timedelta) else float(value) / 1_000_000


class ScorecardCollector:
    """The service's own figures, read from the database, the broker and the shared cache at each scrape."""

    def describe(self):
        return []  # registered without a first collect: nothing is read before a scrape

    def collect(self):
        up = GaugeMetricFamily(
            "scorecard_metrics_source_up",
            "1 when this source's figures (jobs, reports, queue, shared) could be read at this scrape, else 0",
            labels=["source"],
        )
        for part in (self._jobs, self._reports, self._queue, self._shared):
            source = part.__name__.strip("_")
            try:
                families = list(part())  # all of a source or none of it
            except Exception as exc:  # one source down must not hide the others
                logger.warning("metrics: %s unavailable: %s: %s", source, type(exc).__name__, exc)
                up.add_metric([source], 0)
            else:
                up.add_metric([source], 1)
                yield from families
        yield up

    def _jobs(self):
        from django.db.models import Count, F, Min, Q, Sum
        from django.utils import timezone

        from scoring.choices import JobStatus
        from scoring.models import ScoreJob

        by_status = dict.fromkeys(JobStatus.values, 0)
        by_status.update(
            ScoreJob.objects.order_by()
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        jobs = GaugeMetricFamily("scorecard_score_jobs", "Score jobs on record, by status", labels=["status"])
        for status, n in sorted(by_status.items()):
            jobs.add_metric([status], n)
        yield jobs

        now = timezone.now()
        oldest = GaugeMetricFamily(
            "scorecard_score_job_oldest_unfinished_seconds",
            "Age of the oldest score job still queued or running, by status (0: none)",
            labels=["status"],
        )
        unfinished = dict(
            ScoreJob.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
            .order_by()
            .values_list("status")
            .annotate(first=Min("created_at"))
            .values_list("status", "first")
        )
        for status in (JobStatus.QUEUED, JobStatus.RUNNING):
            first = unfinished.get(status)
            oldest.add_metric([status], (now - first).total_seconds() if first else 0.0)
        yield oldest

        buckets = {
            f"le_{i}": Count("id", filter=Q(finished_at__lte=F("created_at") + timedelta(seconds=bound)))
            for i, bound in enumerate(JOB_BUCKETS)
        }
        rows = (
            ScoreJob.objects.filter(finished_at__isnull=False)
            .order_by()
            .values("status")
            .annotate(count=Count("id"), total=Sum(F("finished_at") - F("created_at")), **buckets)
        )
        duration = HistogramMetricFamily(
            "scorecard_score_job_duration_seconds",
            "Finished score jobs: seconds from the request to the job's end, by final status",
            labels=["status"],
        )
        found = {row["status"]: row for row in rows}
        for status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            row = found.get(status, {"count": 0, "total": None})
            cumulative = [(f"{b:g}", row.get(f"le_{i}", 0)) for i, b in enumerate(JOB_BUCKETS)]
            duration.add_metric([status], [*cumulative, ("+Inf", row["count"])], _seconds(row["total"]))
        yield duration

    def _reports(self):
        from django.db.models import Count

        from scoring.models import Report

        by_status = dict.fromkeys(Report.Status.values, 0)
        by_status.update(
            Report.objects.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n")
        )
        reports = GaugeMetricFamily("scorecard_reports", "Reports on record, by status", labels=["status"])
        for status, n in sorted(by_status.items()):
            reports.add_metric([status], n)
        yield reports

    def _queue(self):
        from .health import broker_queue_lengths

        depth = GaugeMetricFamily(
            "scorecard_celery_queue_length",
            "Tasks waiting in the broker's queue (not yet taken by a worker)",
            labels=["queue"],
        )
        for queue, n in sorted(broker_queue_lengths().items()):
            depth.add_metric([queue], n)
        yield depth

    def _shared(self):
        from config.celery_app import app
        from scoring.models.report import ReportKind

        _import_task_modules()
        tasks = sorted(name for name in app.tasks if not name.startswith("celery."))
        kinds = list(ReportKind.values)
        names = [task_key(task, state) for task in tasks for state in STATES]
        for kind in kinds:
            names += counters.histogram_keys(REPORT_METRIC, kind, REPORT_BUCKETS)
        values = counters.read_many(names)

        outcomes = CounterMetricFamily(
            "scorecard_celery_tasks",
            "Celery tasks finished by the workers, by task and outcome (failed: for good, after its retries)",
            labels=["task", "state"],
        )
        for task in tasks:
            for state in STATES:
                outcomes.add_metric([task, state], values[task_key(task, state)])
        yield outcomes

        generation = HistogramMetricFamily(
            "scorecard_report_generation_seconds",
            "Seconds to build and render a report, by kind",
            labels=["kind"],
        )
        for kind in kinds:
            cumulative, total = counters.histogram_from(values, REPORT_METRIC, kind, REPORT_BUCKETS)
            generation.add_metric([kind], cumulative, total)
        yield generation


@functools.cache
def _import_task_modules() -> None:
    """Every installed app's ``tasks`` module, once: the web process imports them lazily (the worker at start),
    and a task not yet imported would be missing from the scrape. (Not Celery's ``import_default_modules``: its
    Django fixup runs every system check each time.)"""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("tasks")


COLLECTOR = ScorecardCollector()
REGISTRY.register(COLLECTOR)


def scrape_registry() -> CollectorRegistry:
    """The default registry; under gunicorn with PROMETHEUS_MULTIPROC_DIR, every worker's files plus ours."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(COLLECTOR)
        return registry
    return REGISTRY


def token_matches(header: str) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, given = header.partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), token.encode())
    )


def metrics_response(request) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        return HttpResponse(
            "Metrics are turned off: set METRICS_TOKEN and send it as 'Authorization: Bearer <token>'.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    if not token_matches(request.headers.get("Authorization", "")):
        response = HttpResponse(
            "Send the metrics token as 'Authorization: Bearer <token>'.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
