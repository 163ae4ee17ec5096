"""The embedded default (SQLite + filesystem broker, no DATABASE_URL / REDIS_URL) re-scoring through the
Procfile's worker. The setup and the measurement run in child processes (``python -m bench.run
--embedded-child setup|measure``) so that this process's PostgreSQL settings stay out of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.bulk import counts, grow_portfolio
from bench.common import BIN, ROOT, BenchFailure, clean_env, log
from bench.procs import Proc


def embedded_child(action: str, n: int) -> None:
    """Runs in a subprocess with no DATABASE_URL / REDIS_URL: the embedded default under SCORECARD_VAR_DIR."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    from scoring.choices import JobStatus
    from scoring.services.jobs import score_job_create

    assert connection.vendor == "sqlite" and settings.CELERY_BROKER_URL == "scorecardfs://", (
        "not the embedded default"
    )
    out: dict = {}
    if action == "setup":
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        call_command("seed_demo", no_demo=True, verbosity=0)
        out["setup_s"] = time.perf_counter() - started
        added, seconds, ratings = grow_portfolio(n)
        out.update(generated=added, generate_s=seconds, ratings=ratings)
    else:
        started = time.time()
        with transaction.atomic():
            job = score_job_create(bank_id=None, initiative_ids=None)
        deadline = time.monotonic() + 600
        while True:
            job.refresh_from_db()
            if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        scores, current = counts()
        out.update(
            status=job.status,
            done=job.done,
            failed=job.failed,
            seconds=(job.finished_at.timestamp() - started) if job.finished_at else None,
            scores=scores,
            current=current,
            chunks=job.chunks.count(),
        )
    print("BENCH_CHILD " + json.dumps(out), flush=True)


def embedded_phase(args, tmp: Path, n: int) -> dict:
    var_dir = tmp / "embedded-var"
    var_dir.mkdir()
    env = clean_env()
    env["SCORECARD_VAR_DIR"] = str(var_dir)

    def child(action: str) -> dict:
        result = subprocess.run(
            [sys.executable, "-m", "bench.run", "--embedded-child", action, "--n", str(n)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_CHILD ")), None)
        if result.returncode != 0 or line is None:
            raise BenchFailure(f"embedded {action} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
        return json.loads(line[len("BENCH_CHILD ") :])

    log(f"embedded default: migrate, seed, generate {n:,} (SQLite under {var_dir})")
    setup = child("setup")
    log(
        f"  generated {setup['generated']:,} initiatives, {setup['ratings']:,} ratings in {setup['generate_s']:.1f} s"
    )
    # The worker of the embedded default, as the Procfile runs it.
    worker = Proc(
        "embedded-worker",
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--loglevel=INFO",
            "--pool=threads",
            "--concurrency=2",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"bench-embedded-{os.getpid()}@%h",
        ],
        env,
        tmp / "embedded-worker.log",
    ).start()
    try:
        worker.wait_for_log("ready.", 90)
        measured = child("measure")
    finally:
        worker.stop()
    if (
        measured["status"] != "succeeded"
        or measured["scores"] != n
        or measured["current"] != n
        or measured["failed"]
    ):
        raise BenchFailure(f"embedded re-score incomplete: {measured}")
    log(
        f"  {n:,} re-scored in {measured['seconds']:.2f} s ({n / measured['seconds']:,.0f}/s), all {n:,} Scores written"
    )
    return {**setup, **measured, "n": n}
