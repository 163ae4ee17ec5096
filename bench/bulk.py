"""Bulk re-score: the end-to-end run through the worker, the independent ceiling, the app's scoring path in one
process, the query counts that must not grow with a chunk, and the portfolio they run on.

The ceiling (``ceiling_run``) is the irreducible work of a re-score, written here without the app's scoring
code, in this one process, on the same data in the same run:

1. read every rating of the initiatives' assessments on the published rubric versions with one
   ``COPY (SELECT initiative, version, assessment, criterion, value …) TO STDOUT`` (binary), and the weights and
   scales of the published versions' criteria with one small query;
2. in plain Python, per initiative: its inputs sorted by criterion, a weighted sum of the normalised values
   (0–100) and the tier from the version's thresholds, the canonical JSON of the sorted inputs
   (``sort_keys``, compact separators) and its sha256;
3. one ``COPY … FROM STDIN`` of one row per initiative into ``bench_ceiling_score``, an UNLOGGED table created
   ``LIKE scoring_score INCLUDING ALL`` (the same columns, defaults, identity and indexes; no foreign keys and
   no WAL), the canonical JSON as its breakdown, in one transaction.

Python rather than SQL for step 2 because the hash needs each initiative's inputs in this process anyway; the
figure is a ceiling for a Python worker, not for the database alone. ``app_path_run`` is the previous
"ceiling": ``score_initiatives`` chunk by chunk in this process — the app's own path, reported as such.
"""

from __future__ import annotations

import time

from bench.common import BenchFailure
from bench.procs import MemSampler

CEILING_TABLE = "bench_ceiling_score"
CEILING_COLUMNS = (
    "initiative_id",
    "rubric_version_id",
    "assessment_id",
    "total",
    "tier",
    "gate_passed",
    "failed_gates",
    "confidence",
    "provisional",
    "breakdown",
    "inputs_hash",
    "computed_at",
)


def clean_slate() -> None:
    """Delete every Score and CurrentScore of the bench database (it holds bench banks only), then flush what the
    runs before left dirty (``settle``)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE scoring_currentscore, scoring_score")
    settle()


def settle() -> None:
    """``CHECKPOINT`` before a timed run: the dirty pages and WAL the previous runs left are written now, so that
    no run pays for another's writes (left to chance, a checkpoint can fall inside a long 100k run and never
    inside a short 10k one). A run's own writes, and any checkpoint they cause, still count."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


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


def app_path_run(n: int) -> float:
    """The app's scoring path in this one process: ``score_initiatives`` chunk by chunk. Returns seconds."""
    from scoring.services.compute import score_initiatives

    clean_slate()
    started = time.perf_counter()
    scored = 0
    for bank_id, ids in plan_chunks():
        scored += score_initiatives(bank_id=bank_id, initiative_ids=ids).scored
    elapsed = time.perf_counter() - started
    if scored != n or counts() != (n, n):
        raise BenchFailure(f"the app's path in one process scored {scored}, stored {counts()}, expected {n}")
    return elapsed


def ceiling_prepare() -> None:
    """The ceiling's scratch table, the shape of ``scoring_score`` (columns, defaults, identity, indexes)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {CEILING_TABLE}")
        cursor.execute(f"CREATE UNLOGGED TABLE {CEILING_TABLE} (LIKE scoring_score INCLUDING ALL)")


def ceiling_run(n: int) -> dict:
    """The independent ceiling (module docstring): read, weighted sum, sha256, COPY, in this process.

    Returns seconds in all and of each step (read, compute, write)."""
    import datetime
    import hashlib
    import json

    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {CEILING_TABLE}")
    settle()  # as before the app's runs
    dumps, sha256 = json.dumps, hashlib.sha256
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, c.weight::float8, c.scale_min::float8, c.scale_max::float8 FROM scoring_criterion c "
            "JOIN scoring_rubricversion v ON v.id = c.version_id WHERE v.status = 'published'"
        )
        scales = {cid: (w, lo, (hi - lo) or 1.0) for cid, w, lo, hi in cursor.fetchall()}
        cursor.execute(
            "SELECT id, tier_a::float8, tier_b::float8, tier_c::float8 FROM scoring_rubricversion "
            "WHERE status = 'published'"
        )
        tiers = {vid: (a, b, c) for vid, a, b, c in cursor.fetchall()}
        # One group per initiative: (version, assessment, [(criterion, value), …]); the latest assessment wins.
        groups: dict[int, tuple[int, int, list]] = {}
        with cursor.copy(
            "COPY (SELECT a.initiative_id::int8, a.rubric_version_id::int8, a.id::int8, r.criterion_id::int8, "
            "r.value::float8 FROM scoring_rating r JOIN scoring_assessment a ON a.id = r.assessment_id "
            "JOIN scoring_rubricversion v ON v.id = a.rubric_version_id "
            "WHERE v.status = 'published' AND r.value IS NOT NULL) TO STDOUT (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "int8", "int8", "int8", "float8"])
            for iid, vid, aid, cid, value in copy.rows():
                group = groups.get(iid)
                if group is None or aid > group[1]:
                    groups[iid] = group = (vid, aid, [])
                elif aid < group[1]:
                    continue
                group[2].append((cid, value))
        read_done = time.perf_counter()
        now = datetime.datetime.now(datetime.UTC)
        rows = []
        for iid, (vid, aid, inputs) in groups.items():
            inputs.sort()
            num = den = 0.0
            for cid, value in inputs:
                weight, lo, span = scales[cid]
                num += weight * (value - lo) / span
                den += weight
            total = round(100 * num / den, 1) if den else 0.0
            tier_a, tier_b, tier_c = tiers[vid]
            tier = "A" if total >= tier_a else "B" if total >= tier_b else "C" if total >= tier_c else "D"
            canonical = dumps(
                {"assessment": aid, "inputs": inputs, "version": vid}, sort_keys=True, separators=(",", ":")
            )
            digest = sha256(canonical.encode()).hexdigest()
            rows.append((iid, vid, aid, total, tier, True, "[]", 1.0, False, canonical, digest, now))
        compute_done = time.perf_counter()
        with cursor.copy(f"COPY {CEILING_TABLE} ({', '.join(CEILING_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    finished = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), count(DISTINCT initiative_id) FROM {CEILING_TABLE}")
        stored = cursor.fetchone()
    if tuple(stored) != (n, n):
        raise BenchFailure(f"ceiling run stored {stored} rows / initiatives, expected {n}")
    return {
        "seconds": finished - started,
        "read_s": read_done - started,
        "compute_s": compute_done - read_done,
        "write_s": finished - compute_done,
    }


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


def one_job_queries() -> dict:
    """Queries of one single-initiative score job end to end, in this process: ``score_job_create`` in its
    transaction (with the enqueue after commit) and the job's task body ``score_job_run`` (plan, the one
    chunk in place, finish). Run once to warm the per-process caches (a worker's steady state), then counted
    from no scores. No worker may be running (it would take the enqueued job); the message left in the
    broker is flushed with the bench's Redis db."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from partnerships.models import Initiative
    from scoring.choices import JobStatus
    from scoring.models import ScoreJob
    from scoring.services.jobs import score_job_create, score_job_run

    bank_id, iid = Initiative.objects.order_by("id").values_list("bank_id", "id")[0]

    def once() -> tuple[int, list[str]]:
        clean_slate()
        with CaptureQueriesContext(connection) as ctx:
            with transaction.atomic():
                job = score_job_create(bank_id=bank_id, initiative_ids=[iid])
            score_job_run(job.pk)
        row = ScoreJob.objects.filter(pk=job.pk).values("status", "done").get()
        if row != {"status": JobStatus.SUCCEEDED, "done": 1} or counts() != (1, 1):
            raise BenchFailure(f"one-initiative job {job.pk}: {row}, stored {counts()}")
        return len(ctx), [q["sql"] for q in ctx.captured_queries]

    once()
    queries, statements = once()
    clean_slate()
    return {"queries": queries, "statements": statements, "summary": statement_summary(statements)}


def statement_summary(statements: list[str]) -> str:
    """``SELECT scoring_scorejob ×3, UPDATE …``: each statement by its verb and first table, in order of first use."""
    import re

    seen: dict[str, int] = {}
    for sql in statements:
        words = sql.split()
        verb = words[0].upper() if words else "?"
        # A row lock names its table (a locked read may hold subqueries of other tables before its own FROM);
        # otherwise the first table of the statement's own level (subqueries in parentheses left out; a WITH
        # statement's first table anywhere), not a function such as unnest (the lifecycle read selects from
        # unnest() and joins the contracts).
        top = sql
        while verb != "WITH" and (shorter := re.sub(r"\([^()]*\)", "", top)) != top:
            top = shorter
        table = (
            re.search(r'FOR UPDATE OF\s+"?([a-z_0-9]+)"?', sql)
            or re.search(r'(?:FROM|INTO|UPDATE|JOIN)\s+"?(?!unnest\b)([a-z_0-9]+)"?', top, re.IGNORECASE)
            or re.search(r'(?:FROM|INTO|UPDATE|JOIN)\s+"?([a-z_0-9]+)"?', sql, re.IGNORECASE)
        )
        key = f"{verb} {table.group(1)}" if table and verb not in ("SAVEPOINT", "RELEASE") else verb
        seen[key] = seen.get(key, 0) + 1
    return ", ".join(f"{k} ×{v}" if v > 1 else k for k, v in seen.items())


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
