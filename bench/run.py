"""The benchmark suite (issue 7): real PostgreSQL, Redis, Celery workers and gunicorn, one table at the end.

    python -m bench.run                      # everything (make bench): 1k / 10k / 100k, HTTP, reports, embedded
    python -m bench.run --smoke              # CI smoke (make bench-smoke): N ≤ 500, one repetition, no wrk
    python -m bench.run --sizes 1000,10000 --skip-http --skip-embedded --reps 1
    python -m bench.run --write-doc docs/performance.md   # also keep the figures (make bench does)

What it measures, each next to a ceiling taken in the same run on the same data:

* Bulk re-score (``score --all``): ``score_job_create`` in a transaction, as the command does, until the job's
  last chunk has committed (``finished_at``), through one worker ``celery -A config worker -c 2`` with
  ``CELERY_DB_REUSE_MAX=1000``. Ceiling: ``score_initiatives`` chunk by chunk in this process (read, pure
  engine, COPY). Scores of the bench database are truncated before every run, so every run really scores.
  Worker memory: RSS and PSS of every process of the worker, sampled from /proc while it runs.
  Queries per chunk: CaptureQueriesContext on two chunk sizes, for ``score_initiatives`` and ``score_chunk_run``.
* API under load: wrk (2 threads, 32 connections, --latency, Lua scripts counting non-2xx) against gunicorn
  (2 workers, config.settings.bench: DEBUG off, kept connections). Ceiling: the plain JSON view /bench/ping/.
* Weekly report for the bench bank: time at the largest N, query count at the smallest and the largest N.
* The embedded default (SQLite + filesystem broker, no DATABASE_URL / REDIS_URL) re-scoring through its worker.

Database ``scorecard_bench`` (dropped and created here, dropped at the end unless --keep-db) and Redis db 9
(flushed). Every process started here is stopped by PID (its process group) in a ``finally``. Exit status 1
when a path turns per-row (query counts grow with the chunk size or with N) or scores go missing; time targets
are reported in the table, not enforced, except with --fail-on-target.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WRK_DIR = ROOT / "bench" / "wrk"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", "5432", "postgres"
DEFAULT_DB = "scorecard_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
SETTINGS = "config.settings.bench"
BENCH_PASSWORD = "bench-password-not-a-secret-0123"
CHUNK_SIZE_PROBES_FULL = (100, 500)
CHUNK_SIZE_PROBES_SMOKE = (50, 250)

# Targets of issue 7.
T_RESCORE_RATE = 25_000  # initiatives/s end to end at 100k
T_RESCORE_SHARE = 0.50  # of the in-process ceiling
T_SCALING = 1.20  # time per initiative at 100k / at 10k
T_WORKER_MB = 300
T_DETAIL_SHARE, T_DETAIL_P99 = 0.25, 30.0
T_LIST_SHARE, T_LIST_P99 = 0.10, 80.0
T_POST_P99 = 30.0
T_REPORT_S = 5.0


_T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[bench {time.monotonic() - _T0:6.1f} s] {msg}", flush=True)


# --- processes ---------------------------------------------------------------------------------------------
def group_pids(pgid: int) -> list[int]:
    """Every live process whose process group is ``pgid`` (a process started here leads its own group)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 3 and int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


class Proc:
    """A subprocess in its own session (so its children can be found and stopped by its PID as group id)."""

    registry: list[Proc] = []

    def __init__(self, name: str, cmd: list[str], env: dict, logfile: Path):
        self.name, self.cmd, self.env, self.logfile = name, cmd, env, logfile
        self.popen: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self) -> Proc:
        handle = open(self.logfile, "ab")
        self.popen = subprocess.Popen(
            self.cmd, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()
        Proc.registry.append(self)
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_for_log(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_tail(200_000):
                return
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: no {needle!r} after {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the group (warm shutdown), then SIGKILL to whatever of the group is left; by PID only."""
        if self.popen is None:
            return
        pgid = self.popen.pid
        if self.popen.poll() is None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 5
        while group_pids(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in group_pids(pgid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(10)
        if self in Proc.registry:
            Proc.registry.remove(self)

    @classmethod
    def stop_all(cls) -> None:
        for proc in reversed(list(cls.registry)):
            try:
                proc.stop()
            except Exception as exc:  # keep stopping the others
                print(f"could not stop {proc.name} (pid {proc.popen.pid if proc.popen else '?'}): {exc}")


class PySpy:
    """``py-spy record`` on a process and its children (optional, --profile DIR): raw collapsed stacks."""

    def __init__(self, pid: int, out: Path, label: str):
        self.pid, self.out, self.label = pid, out, label
        self.proc: Proc | None = None

    def __enter__(self) -> PySpy:
        exe = BIN / "py-spy" if (BIN / "py-spy").exists() else shutil.which("py-spy")
        if exe is None:
            log("  (py-spy not installed: `pip install py-spy`; no profile)")
            return self
        cmd = [str(exe), "record", "--pid", str(self.pid), "--subprocesses", "--nonblocking"]
        cmd += ["--rate", "200", "--format", "raw", "--output", str(self.out)]
        self.proc = Proc(f"py-spy {self.label}", cmd, dict(os.environ), self.out.with_suffix(".log")).start()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is None:
            return
        if self.proc.alive():
            os.kill(self.proc.pid, signal.SIGINT)  # py-spy writes its output on Ctrl-C
            try:
                self.proc.popen.wait(30)
            except subprocess.TimeoutExpired:
                pass
        self.proc.stop()


PROJECT_PREFIXES = ("scoring/", "partnerships/", "config/", "bench/")


def summarize_stacks(path: Path, top: int = 12) -> list[str]:
    """Shares of py-spy samples (busy threads): by the deepest project line on the stack (project code and the
    library calls it made), by function on the stack (scaffolding seen in ≥ 90 % of samples left out), by leaf."""
    if not path.exists():
        return [f"(no profile at {path})"]
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    project_line: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += n
        names, deepest = [], "(outside project code)"
        for frame in frames:
            name, _, where = frame.partition(" (")
            where = where.rstrip(")")
            file = where.rsplit(":", 1)[0]
            if file.startswith(PROJECT_PREFIXES):
                deepest = f"{where} {name}"
            names.append(f"{name} ({'/'.join(file.split('/')[-2:]) or '?'})")
        for name in set(names):
            inclusive[name] = inclusive.get(name, 0) + n
        leaf[names[-1]] = leaf.get(names[-1], 0) + n
        project_line[deepest] = project_line.get(deepest, 0) + n
    if not total:
        return ["(empty profile)"]

    def block(title: str, counts: dict[str, int], skip_above: float = 1.01) -> list[str]:
        rows = [(v / total, k) for k, v in counts.items() if v / total < skip_above]
        return [title] + [f"  {share:6.1%}  {k}" for share, k in sorted(rows, reverse=True)[:top]]

    out = [f"{total:,} samples"]
    out += block("by deepest project line (inclusive of the library calls below it):", project_line)
    out += block("by function on the stack (inclusive; scaffolding ≥ 90 % left out):", inclusive, 0.90)
    out += block("by leaf function (self):", leaf)
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MemSampler(threading.Thread):
    """Peak RSS and PSS (sum over the worker's processes, and the largest one) from /proc, every 0.1 s."""

    def __init__(self, proc: Proc, interval: float = 0.1):
        super().__init__(daemon=True)
        self.proc, self.interval = proc, interval
        self._stop_event = threading.Event()
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.peak_rss_sum = self.peak_pss_sum = self.peak_rss_one = 0
            self.processes = 0

    @staticmethod
    def _read(pid: int) -> tuple[int, int]:
        rss = pss = 0
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss = int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss = int(line.split()[1])
        except OSError:
            pass
        return rss, pss

    def sample(self) -> None:
        pids = group_pids(self.proc.pid)
        values = [self._read(pid) for pid in pids]
        with self.lock:
            self.peak_rss_sum = max(self.peak_rss_sum, sum(r for r, _p in values))
            self.peak_pss_sum = max(self.peak_pss_sum, sum(p for _r, p in values))
            self.peak_rss_one = max([self.peak_rss_one, *(r for r, _p in values)])
            self.processes = max(self.processes, len(pids))

    def peaks_mb(self) -> dict:
        with self.lock:
            return {
                "rss_sum_mb": self.peak_rss_sum / 1024,
                "pss_sum_mb": self.peak_pss_sum / 1024,
                "rss_max_process_mb": self.peak_rss_one / 1024,
                "processes": self.processes,
            }

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            if self.proc.alive():
                self.sample()

    def stop(self) -> None:
        self._stop_event.set()


def cpu_busy_share(seconds: float) -> float:
    """Share of all CPUs busy over ``seconds`` (from /proc/stat): before the bench starts, that is other work."""

    def read() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values[:8]), idle

    total0, idle0 = read()
    time.sleep(seconds)
    total1, idle1 = read()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def loadavg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return -1.0


# --- environment ---------------------------------------------------------------------------------------------
def clean_env() -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        PYTHONUNBUFFERED="1",
        SCORECARD_DEMO_PASSWORD="bench-demo-password-not-a-secret",
    )
    return env


def pg_env(args, var_dir: Path) -> dict:
    env = clean_env()
    env.update(
        DATABASE_URL=f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{args.db_name}",
        REDIS_URL=args.redis_url,
        SCORECARD_VAR_DIR=str(var_dir),
    )
    return env


def run_pg_tool(*cmd: str) -> None:
    subprocess.run(
        [*cmd, "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER], check=True, capture_output=True, text=True
    )


def preflight(args) -> None:
    missing = []
    if not args.skip_http and shutil.which("wrk") is None:
        missing.append(
            "wrk is not installed: install it with `apt-get install -y wrk` (Debian/Ubuntu package `wrk`), "
            "or run with --skip-http"
        )
    for tool in ("createdb", "dropdb"):
        if shutil.which(tool) is None:
            missing.append(
                f"{tool} not found: install the PostgreSQL client (`apt-get install -y postgresql-client`)"
            )
    for exe in ("celery", "gunicorn"):
        if not (BIN / exe).exists():
            missing.append(f"{BIN / exe} not found: `make install`")
    if missing:
        for line in missing:
            print(f"bench: {line}", file=sys.stderr)
        sys.exit(2)


# --- Django-side measurements (this process, after django.setup()) ---------------------------------------
def clean_slate() -> None:
    """Delete every Score and CurrentScore of the bench database (it holds bench banks only)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE scoring_currentscore, scoring_score")


def counts() -> tuple[int, int]:
    from scoring.models import CurrentScore, Score

    return Score.objects.count(), CurrentScore.objects.count()


def plan_chunks() -> list[tuple[int, list[int]]]:
    """The chunks a ``score --all`` job is planned into (same order, same size, one bank each)."""
    from partnerships.models import Initiative
    from scoring.services.jobs import CHUNK_SIZE

    chunks: list[tuple[int, list[int]]] = []
    current, ids = None, []
    for bank_id, iid in Initiative.objects.order_by("bank_id", "id").values_list("bank_id", "id"):
        if ids and (bank_id != current or len(ids) >= CHUNK_SIZE):
            chunks.append((current, ids))
            ids = []
        current = bank_id
        ids.append(iid)
    if ids:
        chunks.append((current, ids))
    return chunks


def ceiling_run(n: int) -> float:
    """Read, score with the pure engine and COPY, chunk by chunk, in this process. Returns seconds."""
    from scoring.services.compute import score_initiatives

    clean_slate()
    started = time.perf_counter()
    scored = 0
    for bank_id, ids in plan_chunks():
        scored += score_initiatives(bank_id=bank_id, initiative_ids=ids).scored
    elapsed = time.perf_counter() - started
    if scored != n or counts() != (n, n):
        raise BenchFailure(f"ceiling run scored {scored}, stored {counts()}, expected {n}")
    return elapsed


def e2e_run(n: int, sampler: MemSampler | None, timeout: float) -> float:
    """``score --all``: the job is created in a transaction and enqueued on commit; until its last chunk commits."""
    from django.db import transaction

    from scoring.choices import JobStatus
    from scoring.models import ScoreJob
    from scoring.services.jobs import score_job_create

    clean_slate()
    if sampler is not None:
        sampler.sample()
    started = time.time()  # wall clock: compared with the job's finished_at, written by the worker
    with transaction.atomic():
        job = score_job_create(bank_id=None, initiative_ids=None, rubric_version=None, pillar="")
    deadline = time.monotonic() + timeout
    while True:
        row = (
            ScoreJob.objects.filter(pk=job.pk)
            .values("status", "done", "failed", "total", "finished_at")
            .get()
        )
        if row["status"] in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            break
        if time.monotonic() > deadline:
            raise BenchFailure(
                f"job {job.pk} still {row['status']} after {timeout} s ({row['done']}/{row['total']})"
            )
        time.sleep(0.02)
    elapsed = row["finished_at"].timestamp() - started
    if row["status"] != JobStatus.SUCCEEDED or row["done"] != n or row["failed"] or counts() != (n, n):
        raise BenchFailure(f"job {job.pk}: {row}, stored (scores, current) = {counts()}, expected {n}")
    return elapsed


def chunk_query_counts(sizes: tuple[int, int]) -> dict:
    """Queries of one chunk at two chunk sizes: ``score_initiatives`` alone and the whole ``score_chunk_run``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from partnerships.models import Initiative
    from scoring.choices import JobStatus
    from scoring.models import ScoreJob, ScoreJobChunk
    from scoring.services.compute import score_initiatives
    from scoring.services.jobs import score_chunk_run

    bank_id, *_ = Initiative.objects.order_by("id").values_list("bank_id", flat=True)[:1]
    ids = list(
        Initiative.objects.filter(bank_id=bank_id).order_by("id").values_list("id", flat=True)[: max(sizes)]
    )
    if len(ids) < max(sizes):
        raise BenchFailure(f"need {max(sizes)} initiatives in one bank for the chunk query probe")
    clean_slate()
    score_initiatives(bank_id=bank_id, initiative_ids=ids[:3])  # warm the per-process rubric cache
    out: dict = {"score_initiatives": {}, "score_chunk_run": {}}
    for size in sizes:
        clean_slate()
        with CaptureQueriesContext(connection) as ctx:
            outcome = score_initiatives(bank_id=bank_id, initiative_ids=ids[:size])
        assert outcome.scored == size, outcome
        out["score_initiatives"][size] = len(ctx)
    for size in sizes:
        clean_slate()
        job = ScoreJob.objects.create(
            bank_id=bank_id, initiative_ids=ids[:size], total=size, status=JobStatus.RUNNING
        )
        chunk = ScoreJobChunk.objects.create(job=job, index=0, bank_id=bank_id, initiative_ids=ids[:size])
        with CaptureQueriesContext(connection) as ctx:
            score_chunk_run(chunk.pk)
        assert ScoreJobChunk.objects.get(pk=chunk.pk).scored == size
        out["score_chunk_run"][size] = len(ctx)
    clean_slate()
    return out


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


def grow_portfolio(target: int) -> tuple[int, float, int]:
    """Bring the bench bank to ``target`` initiatives with the synthetic generator. (added, seconds, ratings)"""
    from partnerships.models import Initiative
    from scoring.services.portfolio import portfolio_generate

    have = Initiative.objects.count()
    if have >= target:
        return 0, 0.0, 0
    started = time.perf_counter()
    result = portfolio_generate(initiatives=target - have, banks=1, prefix="bench", seed=target)
    return result.initiatives, time.perf_counter() - started, result.ratings


def analyze() -> float:
    """ANALYZE the bench database: after a bulk load the planner has no statistics (and this server may run
    without autovacuum), which turns every chunk's ``IN (…)`` lookups into parallel sequential scans."""
    from django.db import connection

    started = time.perf_counter()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return time.perf_counter() - started


class BenchFailure(Exception):
    """A correctness failure (missing scores, failed job): the run stops with status 1."""


# --- HTTP --------------------------------------------------------------------------------------------------
def http_call(url: str, *, method="GET", token=None, body=None, timeout=10) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def start_worker(env: dict, log_path: Path, name: str, *, pool: str = "prefork") -> Proc:
    """One Celery worker (``-c 2``) with kept database connections; returns once it is ready."""
    worker = Proc(
        "worker",
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            f"--pool={pool}",
            "-c",
            "2",
            "--loglevel=INFO",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"{name}-{os.getpid()}@%h",
        ],
        dict(env, CELERY_DB_REUSE_MAX="1000"),
        log_path,
    ).start()
    worker.wait_for_log("ready.", 90)
    return worker


def start_gunicorn(env: dict, log_path: Path, port: int, *, workers: int = 2, extra: tuple = ()) -> Proc:
    """``gunicorn config.wsgi`` on 127.0.0.1:port; returns once the plain view answers."""
    gunicorn = Proc(
        "gunicorn",
        [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            *extra,
            "--log-level",
            "warning",
        ],
        env,
        log_path,
    ).start()
    deadline = time.monotonic() + 60
    while True:
        try:
            if http_call(f"http://127.0.0.1:{port}/bench/ping/", timeout=2)[0] == 200:
                return gunicorn
        except OSError:
            pass
        if not gunicorn.alive() or time.monotonic() > deadline:
            raise BenchFailure(f"gunicorn did not answer:\n{gunicorn.log_tail()}")
        time.sleep(0.2)


def run_wrk(url: str, script: str, env: dict, duration: int, connections: int, threads: int) -> dict:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(WRK_DIR / script),
        url,
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 60)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise BenchFailure(
            f"wrk failed ({result.returncode}): {result.stdout[-2000:]} {result.stderr[-2000:]}"
        )
    data = json.loads(line[len("BENCH_JSON ") :])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["errors"] = data["non2xx"] + data["socket_errors"] + data["timeouts"]
    return data


def http_phase(args, env: dict, tmp: Path, profiles: dict) -> dict:
    from django.contrib.auth import get_user_model

    from partnerships.models import Initiative
    from scoring.choices import CriterionSource
    from scoring.models import Criterion
    from scoring.services.compute import published_version_ids_by_pillar

    user = get_user_model().objects.get(username="bench_author")  # analyst of the bench bank (generator)
    user.set_password(BENCH_PASSWORD)
    user.save(update_fields=["password"])
    ids = list(Initiative.objects.order_by("id").values_list("id", "pillar_id"))
    iid, pillar = ids[len(ids) // 2]
    version_id = published_version_ids_by_pillar()[pillar]
    ratings = {
        key: (lo + hi) // 2
        for key, lo, hi in Criterion.objects.filter(
            version_id=version_id, source=CriterionSource.RATED
        ).values_list("key", "scale_min", "scale_max")
    }
    preview_body = tmp / "preview.json"
    preview_body.write_text(json.dumps({"initiative": iid, "ratings": ratings}))
    score_body = tmp / "score.json"
    score_body.write_text("{}")

    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = start_gunicorn(env, tmp / "gunicorn.log", port)
    try:
        status, body = http_call(
            f"{base}/api/v1/auth/token/",
            method="POST",
            body={"username": "bench_author", "password": BENCH_PASSWORD},
        )
        if status != 200:
            raise BenchFailure(f"token: {status} {body[:500]!r}")
        token = json.loads(body)["token"]
        endpoints = [
            ("ping", "GET", "/bench/ping/", None),
            ("detail", "GET", f"/api/v1/initiatives/{iid}/", None),
            ("list", "GET", "/api/v1/initiatives/?pagination=cursor&page_size=50", None),
            ("preview", "POST", "/api/v1/scoring/preview/", preview_body),
            ("score", "POST", f"/api/v1/initiatives/{iid}/score/", score_body),
        ]
        results = {}
        for name, method, path, body_file in endpoints:
            payload = json.loads(body_file.read_text()) if body_file else None
            status, body = http_call(f"{base}{path}", method=method, token=token, body=payload)
            if not 200 <= status < 300:
                raise BenchFailure(f"{method} {path}: {status} {body[:800]!r}")
            if name == "list" and len(json.loads(body)["results"]) != 50:
                raise BenchFailure(f"list answered {len(json.loads(body)['results'])} rows, not 50")
            wrk_env = dict(os.environ, BENCH_TOKEN=token, BENCH_BODY_FILE=str(body_file or ""))
            script = "post.lua" if method == "POST" else "get.lua"
            log(f"wrk {method} {path}: {args.http_warmup} s warm-up, {args.http_duration} s measured")
            run_wrk(f"{base}{path}", script, wrk_env, args.http_warmup, 32, 2)
            if args.profile:
                spy_out = args.profile / f"gunicorn-{name}.txt"
                with PySpy(gunicorn.pid, spy_out, "gunicorn"):
                    results[name] = run_wrk(f"{base}{path}", script, wrk_env, args.http_duration, 32, 2)
                profiles[f"gunicorn workers, {method} {path}"] = summarize_stacks(spy_out)
            else:
                results[name] = run_wrk(f"{base}{path}", script, wrk_env, args.http_duration, 32, 2)
            results[name].update(method=method, path=path)
            r = results[name]
            log(
                f"  {r['rps']:,.0f} req/s, p50 {r['p50_us'] / 1000:.1f} ms, p99 {r['p99_us'] / 1000:.1f} ms, "
                f"non-2xx {r['non2xx']}, socket errors {r['socket_errors']}, timeouts {r['timeouts']}"
            )
    finally:
        gunicorn.stop()
    return results


# --- the embedded default (SQLite + filesystem broker), in child processes ------------------------------------
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


# --- the table -----------------------------------------------------------------------------------------------
@dataclass
class Row:
    figure: str
    value: str
    ceiling: str = "—"
    ratio: str = "—"
    target: str = "—"
    status: str = ""  # "met", "MISSED", "FAIL" (structural), "" (no target)


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        if row.status == "MISSED":
            self.missed.append(row.figure)
        elif row.status == "FAIL":
            self.failures.append(row.figure)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}/s"


def table_markdown(rows: list[Row]) -> str:
    header = ["figure", "value", "ceiling", "ratio", "target", ""]
    cells = [header] + [[r.figure, r.value, r.ceiling, r.ratio, r.target, r.status] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = []
    for i, c in enumerate(cells):
        lines.append("| " + " | ".join(v.ljust(widths[j]) for j, v in enumerate(c)) + " |")
        if i == 0:
            lines.append("| " + " | ".join("-" * widths[j] for j in range(len(header))) + " |")
    return "\n".join(lines)


def machine_info(args) -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    info = {
        "nproc": os.cpu_count(),
        "memory": f"{mem_gib:.1f} GiB",
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    try:
        import django
        from django.db import connection

        info["django"] = django.get_version()
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgresql"] = cursor.fetchone()[0]
        import redis

        info["redis"] = redis.Redis.from_url(args.redis_url).info("server")["redis_version"]
    except Exception:
        pass
    wrk = shutil.which("wrk")
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        info["wrk"] = (out.stdout or out.stderr).split("[")[0].strip()
    return info


DOC_BEGIN = "<!-- bench:begin (written by python -m bench.run --write-doc; edit outside these markers) -->"
DOC_END = "<!-- bench:end -->"


def write_doc(
    path: Path, args, machine: dict, table: str, extra: list[str], wall_s: float, profiles: dict
) -> None:
    command = " ".join(["python -m bench.run", *sys.argv[1:]])
    body = "\n".join(
        [
            DOC_BEGIN,
            f"Run on {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} with `{command}` "
            f"(`make bench`), {wall_s / 60:.1f} minutes in all.",
            "",
            f"Machine: {machine.get('nproc')} CPUs ({machine.get('cpu')}), {machine.get('memory')} memory, "
            f"Linux {machine.get('kernel')}; Python {machine.get('python')}, Django {machine.get('django', '?')}, "
            f"PostgreSQL {machine.get('postgresql', '?')}, Redis {machine.get('redis', '?')}, "
            f"{machine.get('wrk', 'wrk ?')}.",
            "",
            table,
            "",
            *extra,
            *(
                [""]
                + [f"Profile — {t}:\n\n```\n" + "\n".join(lines) + "\n```\n" for t, lines in profiles.items()]
                if profiles
                else []
            ),
            DOC_END,
        ]
    )
    if path.exists() and DOC_BEGIN.split(" (")[0] in (text := path.read_text()) and DOC_END in text:
        head = text[: text.index(DOC_BEGIN.split(" (")[0])]
        tail = text[text.index(DOC_END) + len(DOC_END) :]
        path.write_text(head + body + tail)
    else:
        path.write_text("# Performance\n\n" + body + "\n")


# --- the run -------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--smoke", action="store_true", help="CI smoke: N ≤ 500, one repetition, no wrk, no 100k"
    )
    parser.add_argument(
        "--sizes", help="portfolio sizes, ascending (default 1000,10000,100000; smoke 100,500)"
    )
    parser.add_argument(
        "--reps", type=int, help="repetitions per size (default 3; smoke 1); medians reported"
    )
    parser.add_argument(
        "--pool",
        choices=["prefork", "threads"],
        default="prefork",
        help="the worker's pool (-c 2 either way)",
    )
    parser.add_argument("--skip-http", action="store_true", help="no gunicorn / wrk")
    parser.add_argument("--skip-embedded", action="store_true", help="no SQLite + filesystem-broker run")
    parser.add_argument(
        "--embedded-n", type=int, help="initiatives for the embedded run (default 10000; smoke 500)"
    )
    parser.add_argument("--http-duration", type=int, default=10, help="seconds measured per endpoint")
    parser.add_argument("--http-warmup", type=int, default=2, help="seconds of warm-up per endpoint")
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (default: a free one)")
    parser.add_argument("--db-name", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument(
        "--keep-db", action="store_true", help="leave the bench database behind for inspection"
    )
    parser.add_argument("--write-doc", type=Path, help="write the figures into this Markdown file")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy the worker (largest N) and gunicorn (each endpoint) into this folder",
    )
    parser.add_argument("--budget-min", type=float, default=14.0, help="skip extra repetitions beyond this")
    parser.add_argument(
        "--fail-on-target", action="store_true", help="exit 1 when a time/memory target is missed"
    )
    parser.add_argument("--embedded-child", choices=["setup", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.skip_http = True
    args.size_list = [
        int(s) for s in (args.sizes or ("100,500" if args.smoke else "1000,10000,100000")).split(",")
    ]
    if args.size_list != sorted(args.size_list) or args.size_list[0] < 1:
        parser.error("--sizes: ascending positive numbers")
    args.reps = args.reps or (1 if args.smoke else 3)
    args.embedded_n = args.embedded_n or (500 if args.smoke else 10_000)
    return args


def take_lock(args):
    """One bench run at a time per database / Redis db: a second run would drop the first one's database."""
    import fcntl

    lock_path = Path(tempfile.gettempdir()) / f"scorecard-bench-{args.db_name}.lock"
    handle = open(lock_path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        print(
            f"bench: another bench run (pid {holder}) is using database {args.db_name} and {args.redis_url}; "
            "wait for it, or give this one --db-name and --redis-url of its own",
            file=sys.stderr,
        )
        sys.exit(2)
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle  # held (and the lock with it) until this process ends


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.embedded_child:
        embedded_child(args.embedded_child, args.n)
        return 0
    _lock = take_lock(args)  # held until this process ends

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    preflight(args)
    wall = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="scorecard-bench-"))
    var_dir = tmp / "var"
    var_dir.mkdir()
    env = pg_env(args, var_dir)
    os.environ.update(env)
    for key in [k for k in os.environ if k not in env]:
        del os.environ[key]

    res = Results()
    extra: list[str] = []
    profiles: dict[str, list[str]] = {}
    machine: dict = {}
    db_created = False
    redis_client = None
    background = cpu_busy_share(3.0)
    load_start = loadavg()
    log(
        f"other work on this machine before the run: {background:.0%} of {os.cpu_count()} CPUs busy, load {load_start}"
    )
    try:
        log(f"database {args.db_name} (drop, create), Redis {args.redis_url} (flush); logs in {tmp}")
        run_pg_tool("dropdb", "--if-exists", "--force", args.db_name)
        run_pg_tool("createdb", args.db_name)
        db_created = True
        import redis

        redis_client = redis.Redis.from_url(args.redis_url)
        redis_client.flushdb()

        import django

        django.setup()
        import logging

        logging.getLogger().setLevel(logging.WARNING)
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        call_command("seed_demo", no_demo=True, verbosity=0)
        log(f"migrated and seeded reference data in {time.perf_counter() - started:.1f} s")
        machine = machine_info(args)

        worker = start_worker(env, tmp / "worker.log", "bench", pool=args.pool)
        sampler = MemSampler(worker)
        sampler.start()

        from partnerships.models import Bank

        per_size: dict[int, dict] = {}
        chunk_counts = None
        reports: dict[int, tuple[float, int]] = {}
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        probes = CHUNK_SIZE_PROBES_SMOKE if args.smoke else CHUNK_SIZE_PROBES_FULL
        budget_end = wall + args.budget_min * 60
        reserve = (0 if args.skip_http else 5 * (args.http_warmup + args.http_duration + 4) + 30) + (
            0 if args.skip_embedded else 45 + args.embedded_n * 0.008
        )
        gen_per_init = rep_per_init = report_per_init = 0.0
        for index, n in enumerate(args.size_list):
            added, gen_s, ratings = grow_portfolio(n)
            analyze_s = analyze()
            gen_per_init = (gen_s + analyze_s) / added if added else gen_per_init
            log(
                f"N = {n:,}: generated {added:,} initiatives, {ratings:,} ratings in {gen_s:.1f} s "
                f"(then ANALYZE, {analyze_s:.1f} s)"
            )
            if chunk_counts is None and n >= max(probes):
                chunk_counts = chunk_query_counts(probes)
                log(f"  queries per chunk at sizes {probes}: {chunk_counts}")
            ceilings, e2es, peaks = [], [], []
            for rep in range(args.reps):
                if rep:
                    # One rep is always run; further reps only if the rest of the suite still fits the budget.
                    later = args.size_list[index + 1 :]
                    prev = n
                    rest = reserve
                    for m in later:
                        rest += gen_per_init * (m - prev) + (rep_per_init + report_per_init) * m + 10
                        prev = m
                    this_rep = ceilings[-1] + e2es[-1] + 2
                    if time.monotonic() + this_rep + rest > budget_end:
                        log(f"  time budget ({args.budget_min} min): {rep} repetition(s) at N = {n:,}")
                        break
                ceilings.append(ceiling_run(n))
                sampler.reset()
                e2e_timeout = max(120.0, budget_end - time.monotonic())
                if args.profile and n == args.size_list[-1] and rep == 0:
                    spy_out = args.profile / f"worker-{n}.txt"
                    with PySpy(worker.pid, spy_out, "worker"):
                        e2es.append(e2e_run(n, sampler, timeout=e2e_timeout))
                    profiles[f"Celery worker, bulk re-score N={n:,}"] = summarize_stacks(spy_out)
                else:
                    e2es.append(e2e_run(n, sampler, timeout=e2e_timeout))
                peaks.append(sampler.peaks_mb())
                rep_per_init = max(rep_per_init, (ceilings[-1] + e2es[-1] + 2) / n)
                log(
                    f"  rep {rep + 1}: ceiling {n / ceilings[-1]:,.0f}/s ({ceilings[-1]:.2f} s), "
                    f"end to end {n / e2es[-1]:,.0f}/s ({e2es[-1]:.2f} s), worker peak "
                    f"RSS {peaks[-1]['rss_sum_mb']:.0f} MB / PSS {peaks[-1]['pss_sum_mb']:.0f} MB"
                )
            per_size[n] = {
                "ceiling_s": statistics.median(ceilings),
                "e2e_s": statistics.median(e2es),
                "reps": len(e2es),
                "peak": max(peaks, key=lambda p: p["rss_sum_mb"]),
                "ratings": ratings,
            }
            bank_id = Bank.objects.get(code="bench-0").pk
            if n == args.size_list[0]:
                # Warm-up: first-use costs (templates, translations) are not the report's.
                report_measure(bank_id)
            analyze()  # the scores just written, as autovacuum would
            if args.profile and n == args.size_list[-1]:
                reports[n] = report_measure(bank_id)
                profiles[f"weekly report N={n:,} (phases)"] = report_phases(bank_id)
            else:
                reports[n] = report_measure(bank_id)
            report_per_init = max(report_per_init, reports[n][0] / n)
            log(f"  weekly report: {reports[n][0]:.2f} s, {reports[n][1]} queries")
        sampler.stop()
        worker.stop()

        from scoring.models import Rating

        total_ratings = Rating.objects.count()
        largest, smallest = args.size_list[-1], args.size_list[0]

        # Bulk re-score rows.
        for n in args.size_list:
            d = per_size[n]
            rate, ceiling = n / d["e2e_s"], n / d["ceiling_s"]
            share = rate / ceiling
            target, status = "—", ""
            if n == 100_000:
                target, status = f"≥ {T_RESCORE_RATE:,}/s", verdict(rate >= T_RESCORE_RATE)
            res.add(
                Row(
                    f"bulk re-score N={n:,} (score --all → last Score; median of {d['reps']})",
                    f"{fmt_rate(rate)} ({d['e2e_s']:.2f} s)",
                    f"{fmt_rate(ceiling)} ({d['ceiling_s']:.2f} s)",
                    f"{share:.0%}",
                    target,
                    status,
                )
            )
            if n == 100_000:
                res.add(
                    Row(
                        "bulk re-score N=100,000: end to end / ceiling",
                        f"{share:.0%}",
                        target=f"≥ {T_RESCORE_SHARE:.0%}",
                        status=verdict(share >= T_RESCORE_SHARE),
                    )
                )
        if 10_000 in per_size and 100_000 in per_size:
            a = per_size[100_000]["e2e_s"] / 100_000 * 1e6
            b = per_size[10_000]["e2e_s"] / 10_000 * 1e6
            res.add(
                Row(
                    "time per initiative, 100k vs 10k (µs)",
                    f"{a:.1f} µs",
                    f"{b:.1f} µs at 10k",
                    f"{a / b:.2f}",
                    f"≤ {T_SCALING:.2f}",
                    verdict(a / b <= T_SCALING),
                )
            )
        peak = per_size[largest]["peak"]
        res.add(
            Row(
                f"worker peak memory N={largest:,} (sum of {peak['processes']} processes)",
                f"RSS {peak['rss_sum_mb']:.0f} MB (PSS {peak['pss_sum_mb']:.0f} MB; largest process "
                f"{peak['rss_max_process_mb']:.0f} MB)",
                target=f"< {T_WORKER_MB} MB RSS",
                status=verdict(peak["rss_sum_mb"] < T_WORKER_MB)
                if largest >= 100_000 or not args.smoke
                else "",
            )
        )
        if chunk_counts:
            for path, by_size in chunk_counts.items():
                (s1, c1), (s2, c2) = sorted(by_size.items())
                res.add(
                    Row(
                        f"queries per chunk, {path}",
                        f"{c1} at {s1} / {c2} at {s2} initiatives",
                        target="constant",
                        status="met" if c1 == c2 else "FAIL",
                    )
                )
        else:
            res.add(Row("queries per chunk", "not measured (N below the probe size)", status="FAIL"))

        # Reports.
        t_large, q_large = reports[largest]
        _t_small, q_small = reports[smallest]
        res.add(
            Row(
                f"weekly report N={largest:,} ({total_ratings:,} ratings)",
                f"{t_large:.2f} s",
                target=f"≤ {T_REPORT_S:.0f} s" if largest >= 100_000 else "—",
                status=verdict(t_large <= T_REPORT_S) if largest >= 100_000 else "",
            )
        )
        if smallest != largest:
            res.add(
                Row(
                    "weekly report queries",
                    f"{q_small} at N={smallest:,} / {q_large} at N={largest:,}",
                    target="same",
                    status="met" if q_small == q_large else "FAIL",
                )
            )

        # HTTP.
        if not args.skip_http:
            http = http_phase(args, env, tmp, profiles)
            ping = http["ping"]
            res.add(
                Row(
                    "HTTP plain Django JSON /bench/ping/ (the ceiling)",
                    f"{ping['rps']:,.0f} req/s, p99 {ping['p99_us'] / 1000:.1f} ms",
                )
            )
            specs = [
                ("detail", "HTTP GET initiatives/{id}/", T_DETAIL_SHARE, T_DETAIL_P99),
                ("list", "HTTP GET initiatives/ (50 rows, cursor)", T_LIST_SHARE, T_LIST_P99),
                ("preview", "HTTP POST scoring/preview/", None, T_POST_P99),
                ("score", "HTTP POST initiatives/{id}/score/", None, T_POST_P99),
            ]
            for key, label, share_t, p99_t in specs:
                r = http[key]
                share = r["rps"] / ping["rps"]
                p99 = r["p99_us"] / 1000
                ok = p99 <= p99_t and (share_t is None or share >= share_t)
                target = (f"≥ {share_t:.0%} of ceiling, " if share_t else "") + f"p99 ≤ {p99_t:.0f} ms"
                res.add(
                    Row(
                        label,
                        f"{r['rps']:,.0f} req/s, p50 {r['p50_us'] / 1000:.1f} ms, p99 {p99:.1f} ms",
                        f"{ping['rps']:,.0f} req/s",
                        f"{share:.0%}",
                        target,
                        verdict(ok),
                    )
                )
            errors = {k: v["errors"] for k, v in http.items()}
            res.add(
                Row(
                    "HTTP errors (non-2xx + socket errors + timeouts)",
                    ", ".join(f"{k} {v}" for k, v in errors.items()),
                    target="0",
                    status=verdict(sum(errors.values()) == 0),
                )
            )

        # The embedded default.
        if not args.skip_embedded:
            emb = embedded_phase(args, tmp, args.embedded_n)
            res.add(
                Row(
                    f"embedded default (SQLite + filesystem broker) re-score N={emb['n']:,}",
                    f"{fmt_rate(emb['n'] / emb['seconds'])} ({emb['seconds']:.2f} s; {emb['scores']:,} Scores written)",
                    target="every Score written",
                    status="met",
                )
            )

        res.add(
            Row(
                "machine: CPU busy with other work before the run / load average at start, end",
                f"{background:.0%} of {os.cpu_count()} CPUs / {load_start:.2f}, {loadavg():.2f}",
                target="idle (figures are pessimistic otherwise)",
            )
        )
        gen_note = ", ".join(f"{n:,}" for n in args.size_list)
        extra += [
            f"Portfolio: synthetic generator (one bank, grown to {gen_note} initiatives; {total_ratings:,} ratings "
            f"at N={largest:,}). Worker: `celery -A config worker -c 2` (prefork) with `CELERY_DB_REUSE_MAX=1000`, "
            f"chunks of 500; every run starts from no scores (TRUNCATE). Ceiling: `score_initiatives` chunk by chunk "
            f"in the bench process. HTTP: `gunicorn config.wsgi -w 2`, `wrk -t2 -c32 -d{args.http_duration}s "
            f"--latency` after {args.http_warmup} s of warm-up, no Celery worker running (score jobs queue up in "
            f"Redis). Embedded: `celery -A config worker --pool=threads --concurrency=2` (the Procfile's worker).",
        ]
    except BenchFailure as exc:
        res.failures.append(str(exc))
        print(f"\nBENCH FAILURE: {exc}", file=sys.stderr)
    finally:
        Proc.stop_all()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        if redis_client is not None:
            try:
                redis_client.flushdb()
            except Exception:
                pass
        if db_created and not args.keep_db:
            try:
                run_pg_tool("dropdb", "--if-exists", "--force", args.db_name)
            except subprocess.CalledProcessError as exc:
                print(f"could not drop {args.db_name}: {exc.stderr}", file=sys.stderr)
        if not args.keep_db:
            shutil.rmtree(tmp, ignore_errors=True)

    wall_s = time.monotonic() - wall
    table = table_markdown(res.rows)
    print()
    print(table)
    print()
    print(
        f"{len(res.rows)} figures; targets missed: {len(res.missed)}"
        + (f" ({'; '.join(res.missed)})" if res.missed else "")
        + f"; per-row / correctness failures: {len(res.failures)}"
        + (f" ({'; '.join(res.failures)})" if res.failures else "")
        + f". Wall time {wall_s / 60:.1f} min."
    )
    for title, lines in profiles.items():
        print(f"\nprofile — {title}:")
        for line in lines:
            print(f"  {line}")
    if args.write_doc and not res.failures:
        write_doc(args.write_doc, args, machine, table, extra, wall_s, profiles)
        print(f"figures written to {args.write_doc}")
    if res.failures:
        return 1
    if args.fail_on_target and res.missed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
