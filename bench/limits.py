"""The joint-lending limit check at size (issue 13): one bank, 1,000 partners × 36 months of exposure, on PostgreSQL.

    python -m bench.limits                       # make bench-limits: 1,000 partners × 36 months, 7 repetitions
    python -m bench.limits --partners 200 --months 12 --reps 3 --keep-db
    python -m bench.limits --write-doc docs/limits.md     # also keep the figures (make bench-limits does)

What it measures, in this process on a database of its own (``scorecard_bench_limits``, dropped and created here,
dropped at the end unless --keep-db): ``partnerships.services.limits.limit_utilisation`` for the bank — the month
found, its exposures, figures and limits read in four queries, and every limit of the 2021 notice (plus one internal
limit) checked for every partner and related-party group with exact arithmetic — next to a minimal path measured in
the same run on the same rows: one hand-written SQL aggregate (the latest month's own part per related-party group,
and the bank's total), with nothing else. Partners come in groups of five related parties, a third of them without a
group; every exposure row has every figure, so nothing is skipped as unknown. The median of the repetitions is
reported, with the target (< 1 s). Exit status 1 when the query count differs between a small and the full bank (the
check would have turned per-row); the time target is reported, and enforced only with --fail-on-target.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", "5432", "postgres"
DEFAULT_DB = "scorecard_bench_limits"
TARGET_S = 1.0
DOC_BEGIN = "<!-- bench.limits: begin (written by `python -m bench.limits --write-doc`) -->"
DOC_END = "<!-- bench.limits: end -->"


def log(message: str) -> None:
    print(f"[bench-limits] {message}", flush=True)


def pg_tool(*cmd: str) -> None:
    subprocess.run(
        [*cmd, "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER], check=True, capture_output=True, text=True
    )


def month_ends(last: datetime.date, n: int) -> list[datetime.date]:
    out, year, month = [], last.year, last.month
    for _ in range(n):
        nxt = datetime.date(year + (month == 12), month % 12 + 1, 1)
        out.append(nxt - datetime.timedelta(days=1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def load_exposure(
    bank_id: int, partner_ids: list[int], ends: list[datetime.date], *, rng, source: str
) -> int:
    """Quarterly bank figures and, for every month end and partner, joint lending (30–50 % partner-funded, now and
    then a little out of region) and facilitation, written by COPY over what the bank had. Returns the rows."""
    from django.db import connection

    from partnerships.models import BankPeriodFigures

    BankPeriodFigures.objects.filter(bank_id=bank_id).delete()
    BankPeriodFigures.objects.bulk_create(
        BankPeriodFigures(
            bank_id=bank_id,
            period_end=end,
            tier1_net_capital=rng.randint(5_000_000, 9_000_000),
            total_loans=rng.randint(80_000_000, 120_000_000),
            source=source,
        )
        for end in ends
        if end.month in (3, 6, 9, 12)
    )
    buffer = io.StringIO()
    now = datetime.datetime.now(datetime.UTC).isoformat()
    rows = 0
    for end in ends:
        for partner_id in partner_ids:
            balance = rng.randint(1_000, 200_000)
            funded = round(balance * rng.uniform(0.3, 0.5), 2)
            outside = round(balance * rng.choice([0, 0, 0, 0.01]), 2)
            low = round(rng.uniform(30, 40), 4)
            buffer.write(
                f"{bank_id}\t{partner_id}\t{end}\tjoint_lending\t{balance}\t{funded}\t{low}\t{outside}\t{source}\t{now}\n"
            )
            buffer.write(
                f"{bank_id}\t{partner_id}\t{end}\tfacilitation\t{balance // 3}\t\\N\t\\N\t0\t{source}\t{now}\n"
            )
            rows += 2
    columns = (
        "bank_id, partner_id, period_end, product, balance, partner_funded_balance, lowest_partner_share_percent, "
        "out_of_region_balance, source, updated_at"
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM partnerships_partnerexposure WHERE bank_id = %s", [bank_id])
        with cursor.copy(f"COPY partnerships_partnerexposure ({columns}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        for table in ("partnerexposure", "bankperiodfigures", "techpartner"):
            cursor.execute(f"ANALYZE partnerships_{table}")
    return rows


def generate(*, partners: int, months: int, seed: int) -> tuple[int, datetime.date]:
    """A bank with ``partners`` partners (groups of five related parties, a third ungrouped) and ``months`` months
    of joint lending and facilitation with each, by COPY; quarterly figures. Returns the bank id and last month."""

    from partnerships.models import Bank, TechPartner
    from partnerships.services.limit_register import limits_load

    rng = random.Random(seed)
    limits_load()
    bank = Bank.objects.create(
        code="bench-limits",
        name_zh_hans="基准城商行",
        name_en="Bench City Bank",
        bank_type="city_commercial",
        home_region="33",
        limit_warning_percent=80,
    )
    TechPartner.objects.bulk_create(
        TechPartner(
            key=f"bench-p{i:04d}",
            name_zh_hans=f"基准合作方{i}",
            name_en=f"Bench partner {i}",
            related_party_group="" if i % 3 == 0 else f"基准集团{i // 5}",
        )
        for i in range(partners)
    )
    ids = list(
        TechPartner.objects.filter(key__startswith="bench-p").order_by("key").values_list("id", flat=True)
    )
    last = datetime.date(2025, 6, 30)
    rows = load_exposure(bank.pk, ids, month_ends(last, months), rng=rng, source="bench")
    log(f"generated {rows:,} exposure rows ({partners:,} partners × {months} months × 2 products)")
    return bank.pk, last


# The minimal path: what the database must do at the least for the capital and total-loans limits of the latest month
# — one aggregate over the month's joint-lending rows, grouped by related-party group — and nothing else.
MINIMAL_SQL = """
SELECT COALESCE(NULLIF(p.related_party_group, ''), p.key) AS subject,
       SUM(e.balance - COALESCE(e.partner_funded_balance, 0)) AS own
FROM partnerships_partnerexposure e JOIN partnerships_techpartner p ON p.id = e.partner_id
WHERE e.bank_id = %(bank)s AND e.product = 'joint_lending'
  AND e.period_end = (SELECT MAX(period_end) FROM partnerships_partnerexposure
                      WHERE bank_id = %(bank)s AND period_end <= %(as_of)s)
GROUP BY 1
"""


def timed(fn, reps: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=1000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--db-name", default=DEFAULT_DB)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--fail-on-target", action="store_true")
    parser.add_argument("--write-doc", type=Path, help="write the figures into this file, between markers")
    args = parser.parse_args()
    wall = time.perf_counter()

    os.environ["DATABASE_URL"] = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{args.db_name}"
    os.environ.pop("REDIS_URL", None)  # nothing is enqueued here
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.bench"
    sys.path.insert(0, str(ROOT))
    log(f"database {args.db_name} (drop, create)")
    pg_tool("dropdb", "--if-exists", "--force", args.db_name)
    pg_tool("createdb", args.db_name)
    failed = False
    try:
        import django

        django.setup()
        import logging

        logging.getLogger().setLevel(logging.WARNING)
        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from partnerships.services.limit_register import limit_rule_create
        from partnerships.services.limits import limit_utilisation

        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        log(f"migrated in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        bank_id, last = generate(partners=args.partners, months=args.months, seed=args.seed)
        limit_rule_create(
            user=None,
            data={
                "bank": bank_id,
                "key": "bench-own-capital",
                "version": 1,
                "kind": "partner_capital_share",
                "threshold_percent": "5",
                "products": ["joint_lending"],
                "name_zh_hans": "单一合作方不超过一级资本净额的5%",
                "name_en": "One partner at most 5% of capital",
                "source_zh_hans": "基准",
                "source_en": "bench",
                "valid_from": "2021-01-01",
            },
        )
        log(f"data ready in {time.perf_counter() - started:.1f} s")
        as_of = last + datetime.timedelta(days=15)

        result = limit_utilisation([bank_id], as_of=as_of)[bank_id]
        assert result.month_end == last, result.month_end
        statuses: dict[str, int] = {}
        for row in result.rows:
            statuses[row.status] = statuses.get(row.status, 0) + 1
        with CaptureQueriesContext(connection) as full_queries:
            limit_utilisation([bank_id], as_of=as_of)

        check_s, check_times = timed(lambda: limit_utilisation([bank_id], as_of=as_of), args.reps)

        def minimal():
            with connection.cursor() as cursor:
                cursor.execute(MINIMAL_SQL, {"bank": bank_id, "as_of": as_of})
                return cursor.fetchall()

        minimal()
        sql_s, sql_times = timed(minimal, args.reps)

        # A small bank of the same shape: the query count must not grow with the partners.
        from partnerships.models import Bank, PartnerExposure

        small = Bank.objects.create(
            code="bench-small",
            name_zh_hans="小行",
            name_en="Small",
            bank_type="city_commercial",
            home_region="33",
        )
        sample = PartnerExposure.objects.filter(bank_id=bank_id, period_end=last)[:10]
        PartnerExposure.objects.bulk_create(
            PartnerExposure(
                bank=small,
                partner_id=e.partner_id,
                period_end=e.period_end,
                product=e.product,
                balance=e.balance,
                partner_funded_balance=e.partner_funded_balance,
                lowest_partner_share_percent=e.lowest_partner_share_percent,
                out_of_region_balance=e.out_of_region_balance,
            )
            for e in sample
        )
        with CaptureQueriesContext(connection) as small_queries:
            limit_utilisation([small.pk], as_of=as_of)
        if len(small_queries) != len(full_queries):
            failed = True
            log(
                f"FAILED: {len(small_queries)} queries for a small bank, {len(full_queries)} for the full one"
            )

        met = check_s < TARGET_S
        ratio = check_s / sql_s if sql_s else float("inf")
        in_db = sum(float(q["time"]) for q in full_queries.captured_queries)
        lines = [
            f"Limit check for one bank: {args.partners:,} partners × {args.months} months "
            f"({args.partners * args.months * 2:,} exposure rows), month {last}, median of {args.reps}.",
            "",
            f"- rows checked: {len(result.rows):,} "
            f"({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))})",
            f"- queries: {len(full_queries)} (a bank with 10 rows: {len(small_queries)}), "
            f"{in_db * 1000:.1f} ms of one run in the database; the rest is Python: reading the rows into objects "
            "and the exact check of every row",
            "",
            "| figure | value | minimal SQL (same run) | ratio | target | |",
            "| --- | --- | --- | --- | --- | --- |",
            f"| `limit_utilisation` (read + check) | {check_s * 1000:.1f} ms | {sql_s * 1000:.1f} ms | "
            f"{ratio:.1f}× | < 1 s | {'met' if met else 'MISSED'} |",
            "",
            f"Runs (ms): check {[round(t * 1000, 1) for t in check_times]}, "
            f"SQL {[round(t * 1000, 1) for t in sql_times]}.",
        ]
        print()
        print("\n".join(lines))
        if args.write_doc:
            import platform

            from bench.report_exposure import write_block

            command = " ".join(["python -m bench.limits", *sys.argv[1:]])
            head = [
                f"Run on {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} with `{command}`, "
                f"{(time.perf_counter() - wall) / 60:.1f} minutes in all; {os.cpu_count()} CPUs, load average "
                f"{os.getloadavg()[0]:.1f} at the end, Python {platform.python_version()}.",
                "",
            ]
            write_block(args.write_doc, DOC_BEGIN, DOC_END, head + lines)
            log(f"figures written to {args.write_doc}")
        if args.fail_on_target and not met:
            failed = True
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            pg_tool("dropdb", "--if-exists", "--force", args.db_name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
