"""The load test (issue 6): 50 clients reading lists and asking for scores, against gunicorn, PostgreSQL, Redis
and a Celery worker, with zero errors and every accepted score request completed.

    python -m bench.load                 # make load: 60 s, 50 clients, 10,000 initiatives
    python -m bench.load --smoke         # make load-smoke (CI): 10 s, 50 clients, 1,000 initiatives
    python -m bench.load --duration 120 --initiatives 100000 --write-doc docs/load.md

What runs: database ``scorecard_load`` (dropped, created, migrated, seeded with the reference data and a synthetic
portfolio, dropped at the end unless --keep-db), Redis db 10 (flushed), ``gunicorn config.wsgi`` with 2 workers
(2 cores; shared NOTES: 4 did worse) under ``config.settings.bench`` (production settings, DEBUG off, kept
database connections, throttle rates above what the test reaches — the throttles still count every request,
their 429s are tested in tests/api), and one Celery worker (``-c 2``). Every process is started here and stopped
by PID in a ``finally``.

The clients are wrk threads, one connection each, each signed in as a user of its own (an analyst of the
portfolio's bank with its own token), started together:

* ``--readers`` (default 30): at random, page N of the list (page numbers, 50 rows), the first cursor page
  (50 rows), a pillar's cursor page (25 rows), or a random initiative's detail;
* ``--scorers`` (default 20): ``POST initiatives/{random id}/score/`` (202 and a job), then ``GET`` that job.

The clients first run for --warmup seconds (5; smoke 2), checked but not measured: a gunicorn worker's first
requests build URL resolvers, serializers and translation catalogues. Passes when no request failed (every answer 2xx; no socket error or timeout) and, once the clients stop, every
score job the API accepted finishes ``succeeded`` within --drain seconds, with exactly one Score for each
initiative asked for (none twice, however many times it was asked). p50 / p90 / p99 / max for each group and the
rates are printed; --write-doc keeps them in Markdown. Exit status 1 on any failure.

The ceiling (issue 17): before the clients start, the plain Django JSON view ``/bench/ping/`` (bench/urls.py: no
DRF, no authentication, no database) is measured under the same gunicorn with as many connections as there are
clients (``wrk -t2``, --ping-duration seconds after one of warm-up); the load's request rate (readers and
scorers together) is reported as a share of it, target ≥ 20 % (a verdict; exit status 1 only with
--fail-on-target).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, WRK_DIR, BenchFailure, clean_env, log, run_pg_tool
from bench.common import preflight as bench_preflight
from bench.doc import write_block
from bench.procs import Proc, free_port, start_gunicorn, start_worker
from bench.web import ping_rate

PG_URL = "postgres://postgres@127.0.0.1:5432/{db}"
DEFAULT_DB = "scorecard_load"
DEFAULT_REDIS = "redis://127.0.0.1:6379/10"
USER_PREFIX = "load_client_"
T_LOAD_SHARE = 0.20  # the load's request rate / the plain view's under the same gunicorn (issue 17)
DOC_BEGIN = "<!-- load:begin (written by python -m bench.load --write-doc; edit outside these markers) -->"
DOC_END = "<!-- load:end -->"


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="CI: 10 s, 1,000 initiatives (still 50 clients)")
    p.add_argument("--duration", type=int, help="seconds of load (default 60; smoke 10)")
    p.add_argument(
        "--warmup",
        type=int,
        help="seconds of the same load first, checked but not measured (default 5; smoke 2)",
    )
    p.add_argument("--initiatives", type=int, help="portfolio size (default 10,000; smoke 1,000)")
    p.add_argument("--readers", type=int, default=30, help="clients reading lists and details")
    p.add_argument("--scorers", type=int, default=20, help="clients asking for scores and polling the job")
    p.add_argument("--gunicorn-workers", type=int, default=2)
    p.add_argument("--drain", type=float, default=180.0, help="seconds for the accepted jobs to finish")
    p.add_argument("--timeout", type=int, default=10, help="wrk's per-request timeout, seconds")
    p.add_argument(
        "--ping-duration",
        type=int,
        help="seconds measuring the plain view, the ceiling (default 10; smoke 3)",
    )
    p.add_argument(
        "--fail-on-target", action="store_true", help="exit 1 when the rate is below its share of the ceiling"
    )
    p.add_argument("--db-name", default=DEFAULT_DB)
    p.add_argument("--redis-url", default=DEFAULT_REDIS)
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--write-doc", type=Path, help="write the figures into this Markdown file")
    args = p.parse_args(argv)
    args.duration = args.duration or (10 if args.smoke else 60)
    args.warmup = (2 if args.smoke else 5) if args.warmup is None else args.warmup
    args.initiatives = args.initiatives or (1_000 if args.smoke else 10_000)
    args.ping_duration = args.ping_duration or (3 if args.smoke else 10)
    if args.readers < 0 or args.scorers < 0 or args.readers + args.scorers < 1:
        p.error("--readers and --scorers: at least one client in all")
    return args


def preflight() -> None:
    """What the load test needs on this machine: the bench's own checks (wrk, createdb/dropdb, celery, gunicorn)."""
    bench_preflight(argparse.Namespace(skip_http=False))


def prepare(args, tmp: Path) -> tuple[Path, Path, int]:
    """Reference data, the portfolio, one analyst with a token per client. Returns (tokens, ids, bank id)."""
    import django

    django.setup()
    import logging

    logging.getLogger().setLevel(logging.WARNING)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from partnerships.models import Bank, Initiative, Membership
    from scoring.services.portfolio import portfolio_generate

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_demo", no_demo=True, verbosity=0)
    result = portfolio_generate(initiatives=args.initiatives, banks=1, prefix="load", seed=args.initiatives)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh bulk load: give the planner statistics
    bank = Bank.objects.get(code__startswith="load")
    users = get_user_model().objects
    tokens = []
    for i in range(1, args.readers + args.scorers + 1):
        user, _ = users.get_or_create(username=f"{USER_PREFIX}{i:02d}")
        Membership.objects.get_or_create(user=user, bank=bank, defaults={"role": "analyst"})
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    tokens_file = tmp / "tokens.txt"
    tokens_file.write_text("\n".join(tokens) + "\n")
    tokens_file.chmod(0o600)
    ids_file = tmp / "ids.txt"
    ids = Initiative.objects.filter(bank=bank).values_list("id", flat=True)
    ids_file.write_text("\n".join(str(i) for i in ids) + "\n")
    log(
        f"portfolio: {result.initiatives:,} initiatives, {result.ratings:,} ratings, "
        f"{len(tokens)} client users, in {time.perf_counter() - started:.1f} s"
    )
    return tokens_file, ids_file, bank.pk


def _run_clients(base, args, env, tokens, ids, tmp, duration: int, phase: str) -> dict:
    """Readers and scorers at once, for ``duration`` seconds; their wrk results by group."""
    running = []
    if args.readers:
        running.append(
            ("readers", *start_wrk(base, "read", args.readers, duration, args, env, tokens, ids, tmp, phase))
        )
    if args.scorers:
        running.append(
            ("scorers", *start_wrk(base, "score", args.scorers, duration, args, env, tokens, ids, tmp, phase))
        )
    return {label: wrk_result(proc, out, duration + args.timeout + 60) for label, proc, out in running}


def start_wrk(base, mode, clients, duration, args, env, tokens, ids, tmp, phase):
    cmd = [
        "wrk",
        f"-t{clients}",
        f"-c{clients}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        f"{args.timeout}s",
        "-s",
        str(WRK_DIR / "load.lua"),
        f"{base}/",
    ]
    wrk_env = dict(env, LOAD_MODE=mode, LOAD_TOKENS=str(tokens), LOAD_IDS=str(ids))
    out = open(tmp / f"wrk-{mode}-{phase}.out", "w+")
    return subprocess.Popen(cmd, env=wrk_env, stdout=out, stderr=subprocess.STDOUT, text=True), out


def wrk_result(proc: subprocess.Popen, out, limit: float) -> dict:
    proc.wait(timeout=limit)
    out.seek(0)
    text = out.read()
    line = next((ln for ln in text.splitlines() if ln.startswith("LOAD_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise BenchFailure(f"wrk failed ({proc.returncode}): {text[-3000:]}")
    data = json.loads(line[len("LOAD_JSON ") :])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["errors"] = data["non2xx"] + data["socket_errors"] + data["timeouts"]
    return data


def drain_jobs(since: datetime.datetime, limit: float) -> dict:
    """Wait for every score job created during the load to finish; check one Score per initiative asked for."""
    from django.db.models import Count

    from scoring.choices import JobStatus
    from scoring.models import Score, ScoreJob

    jobs = ScoreJob.objects.filter(created_at__gte=since)
    deadline = time.monotonic() + limit
    started = time.monotonic()
    while True:
        open_jobs = jobs.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).count()
        if not open_jobs:
            break
        if time.monotonic() > deadline:
            raise BenchFailure(f"{open_jobs} accepted score job(s) still open {limit:.0f} s after the load")
        time.sleep(0.5)
    by_status = dict(jobs.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    asked = set()
    for ids in jobs.values_list("initiative_ids", flat=True):
        asked.update(ids or [])
    per_initiative = (
        Score.objects.filter(initiative_id__in=asked).values("initiative_id").annotate(n=Count("id"))
    )
    counts = [row["n"] for row in per_initiative]
    return {
        "jobs": sum(by_status.values()),
        "by_status": by_status,
        "drain_s": time.monotonic() - started,
        "initiatives_asked": len(asked),
        "initiatives_scored": len(counts),
        "max_scores_per_initiative": max(counts, default=0),
    }


def ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"


def share_row(results: dict, ping: dict) -> dict:
    """The load's request rate (every group together) as a share of the plain view's, with its verdict."""
    rate = sum(r["rps"] for r in results.values())
    share = rate / ping["rps"] if ping["rps"] else 0.0
    return {"rate": rate, "share": share, "met": share >= T_LOAD_SHARE}


def write_doc(path: Path, args, results: dict, ping: dict, jobs: dict, machine: str) -> None:
    """The figures, between the markers (the file's prose outside them carries no figures)."""
    rows = [
        "| clients | requests | rate | p50 | p90 | p99 | max | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, r in results.items():
        rows.append(
            f"| {label} | {r['requests']:,} | {r['rps']:,.0f} req/s | {ms(r['p50_us'])} | {ms(r['p90_us'])} | "
            f"{ms(r['p99_us'])} | {ms(r['max_us'])} | {r['errors']} |"
        )
    rows.append(
        f"| plain view /bench/ping/ (the ceiling, {args.readers + args.scorers} connections) | "
        f"{ping['requests']:,} | {ping['rps']:,.0f} req/s | {ms(ping['p50_us'])} | {ms(ping['p90_us'])} | "
        f"{ms(ping['p99_us'])} | {ms(ping['max_us'])} | {ping['errors']} |"
    )
    share = share_row(results, ping)
    errors = sum(r["errors"] for r in results.values())
    statuses = ", ".join(f"{n:,} {status}" for status, n in sorted(jobs["by_status"].items())) or "none"
    lines = f"""One run of `{" ".join(["python -m bench.load", *sys.argv[1:]])}` (`make load`) on {machine},
{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}: {args.readers + args.scorers} clients for
{args.duration} s against gunicorn ({args.gunicorn_workers} workers), PostgreSQL, Redis and one Celery worker
(`-c 2`), all on the same machine, over a portfolio of {args.initiatives:,} initiatives. The figures are from the
measured {args.duration} s, after {args.warmup} s of the same load as a warm-up; the plain view was measured
first, under the same gunicorn, for {args.ping_duration} s.

{chr(10).join(rows)}

| figure | value | ceiling | ratio | target | |
| --- | --- | --- | --- | --- | --- |
| the load's request rate (all clients) | {share["rate"]:,.0f} req/s | {ping["rps"]:,.0f} req/s | \
{share["share"]:.0%} | ≥ {T_LOAD_SHARE:.0%} of the plain view's | {"met" if share["met"] else "MISSED"} |
| failed requests (non-2xx, socket errors, timeouts) | {errors} | — | — | 0 | {"met" if not errors else "FAIL"} |

After the load: {jobs["jobs"]:,} score jobs accepted (202), once drained
({jobs["drain_s"]:.1f} s after the clients stopped): {statuses}; {jobs["initiatives_asked"]:,} initiatives asked
for, {jobs["initiatives_scored"]:,} scored, at most {jobs["max_scores_per_initiative"]} Score each."""
    write_block(path, DOC_BEGIN, DOC_END, lines.splitlines(), title="Load test figures")


def main(argv=None) -> int:
    args = parse_args(argv)
    preflight()

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    tmp = Path(tempfile.mkdtemp(prefix="scorecard-load-"))
    env = clean_env()
    env.update(
        DATABASE_URL=PG_URL.format(db=args.db_name),
        REDIS_URL=args.redis_url,
        SCORECARD_VAR_DIR=str(tmp / "var"),
    )
    os.environ.update(env)
    failures: list[str] = []
    db_created = False
    try:
        log(f"database {args.db_name} (drop, create), Redis {args.redis_url} (flush); logs in {tmp}")
        run_pg_tool("dropdb", "--if-exists", "--force", args.db_name)
        run_pg_tool("createdb", args.db_name)
        db_created = True
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
        tokens, ids, _bank = prepare(args, tmp)

        start_worker(env, tmp / "worker.log", "load")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        gunicorn = start_gunicorn(
            env, tmp / "gunicorn.log", port, workers=args.gunicorn_workers, extra=("--backlog", "256")
        )
        clients = args.readers + args.scorers
        log(f"the ceiling: plain view /bench/ping/, {clients} connections, {args.ping_duration} s")
        ping = ping_rate(base, args.ping_duration, clients, 2)
        log(
            f"  {ping['rps']:,.0f} req/s, p50 {ms(ping['p50_us'])}, p99 {ms(ping['p99_us'])}, "
            f"errors {ping['errors']}"
        )
        if ping["errors"]:
            failures.append(f"the plain view: {ping['errors']} failed request(s)")
        from django.utils import timezone

        since = timezone.now()
        log(
            f"load: {args.readers} readers and {args.scorers} scorers for {args.duration} s "
            f"(wrk, one connection each, a user each)"
        )
        # A warm-up with the same clients first (each gunicorn worker's first requests build URL resolvers,
        # serializers and translation catalogues); its answers must be 2xx too, and its jobs are checked below.
        warm_accepted = 0
        if args.warmup:
            warm = _run_clients(base, args, env, tokens, ids, tmp, args.warmup, "warmup")
            for label, r in warm.items():
                if r["errors"]:
                    failures.append(f"warm-up {label}: {r['errors']} failed request(s)")
            warm_accepted = warm.get("scorers", {}).get("accepted", 0)
            log(f"  warm-up: {args.warmup} s, {sum(r['requests'] for r in warm.values()):,} requests")
        results = {}
        for label, r in _run_clients(base, args, env, tokens, ids, tmp, args.duration, "measured").items():
            results[label] = r
            log(
                f"  {label}: {r['requests']:,} requests, {r['rps']:,.0f} req/s, p50 {ms(r['p50_us'])}, "
                f"p90 {ms(r['p90_us'])}, p99 {ms(r['p99_us'])}, max {ms(r['max_us'])}; non-2xx {r['non2xx']} "
                f"(first {r['first_non2xx_status']}), socket errors {r['socket_errors']}, "
                f"timeouts {r['timeouts']}" + (f"; accepted {r['accepted']}" if label == "scorers" else "")
            )
            if r["errors"]:
                failures.append(f"{label}: {r['errors']} failed request(s)")
        share = share_row(results, ping)
        log(
            f"  the load's rate {share['rate']:,.0f} req/s = {share['share']:.0%} of the plain view's "
            f"(target ≥ {T_LOAD_SHARE:.0%}: {'met' if share['met'] else 'MISSED'})"
        )
        if args.fail_on_target and not share["met"]:
            failures.append(
                f"the load's rate is {share['share']:.0%} of the plain view's, below {T_LOAD_SHARE:.0%}"
            )
        if not gunicorn.alive():
            failures.append("gunicorn died during the load")
        # wrk stops with requests still queued at gunicorn; a graceful stop (SIGTERM) lets them finish and
        # commit, so every job the API accepted exists before the drain check counts them.
        gunicorn.stop()
        jobs = drain_jobs(since, args.drain)
        log(
            f"  score jobs: {jobs['jobs']:,} created, {jobs['by_status']}, drained in {jobs['drain_s']:.1f} s; "
            f"{jobs['initiatives_asked']:,} initiatives asked for, {jobs['initiatives_scored']:,} scored, "
            f"at most {jobs['max_scores_per_initiative']} Score each"
        )
        accepted = results.get("scorers", {}).get("accepted", 0) + warm_accepted
        if jobs["jobs"] < accepted:
            failures.append(f"{accepted} score requests accepted but only {jobs['jobs']} jobs stored")
        if set(jobs["by_status"]) - {"succeeded"}:
            failures.append(f"score jobs not all succeeded: {jobs['by_status']}")
        if jobs["initiatives_scored"] != jobs["initiatives_asked"]:
            failures.append(
                f"{jobs['initiatives_asked'] - jobs['initiatives_scored']} initiative(s) asked for have no Score"
            )
        if jobs["max_scores_per_initiative"] > 1:
            failures.append("an initiative was scored twice for the same inputs")
        if args.write_doc and not failures:
            machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
            write_doc(
                ROOT / args.write_doc if not args.write_doc.is_absolute() else args.write_doc,
                args,
                results,
                ping,
                jobs,
                machine,
            )
            log(f"figures written to {args.write_doc}")
    except BenchFailure as exc:
        failures.append(str(exc))
    finally:
        Proc.stop_all()
        if db_created and not args.keep_db:
            from django.db import connections

            connections.close_all()
            run_pg_tool("dropdb", "--if-exists", "--force", args.db_name)
    if failures:
        for f in failures:
            print(f"load: FAILED: {f}", file=sys.stderr)
        return 1
    log("load: passed (zero errors; every accepted score job succeeded, one Score per initiative)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
