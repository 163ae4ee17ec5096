"""What every bench module shares: paths, the bench's settings and environment, its log line, its failure.

No Django import here (the benches set the environment up before ``django.setup()``), and no pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WRK_DIR = ROOT / "bench" / "wrk"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", "5432", "postgres"
SETTINGS = "config.settings.bench"
BENCH_PASSWORD = "bench-password-not-a-secret-0123"

_T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[bench {time.monotonic() - _T0:6.1f} s] {msg}", flush=True)


class BenchFailure(Exception):
    """A correctness failure (missing scores, failed job, a process that would not start): exit status 1."""


def clean_env() -> dict:
    """This process's environment without a database, broker or settings of its own: the bench settings."""
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


def pg_env(db_name: str, redis_url: str, var_dir: Path) -> dict:
    env = clean_env()
    env.update(
        DATABASE_URL=f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{db_name}",
        REDIS_URL=redis_url,
        SCORECARD_VAR_DIR=str(var_dir),
    )
    return env


def run_pg_tool(*cmd: str) -> None:
    subprocess.run(
        [*cmd, "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER], check=True, capture_output=True, text=True
    )


def preflight(args) -> None:
    """wrk (unless --skip-http), createdb / dropdb, celery and gunicorn in the venv; exit 2 naming what is missing."""
    missing = []
    if not getattr(args, "skip_http", False) and shutil.which("wrk") is None:
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


def take_lock(db_name: str, redis_url: str):
    """One bench run at a time per database / Redis db: a second run would drop the first one's database."""
    import fcntl

    lock_path = Path(tempfile.gettempdir()) / f"scorecard-bench-{db_name}.lock"
    handle = open(lock_path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        print(
            f"bench: another bench run (pid {holder}) is using database {db_name} and {redis_url}; "
            "wait for it, or give this one --db-name and --redis-url of its own",
            file=sys.stderr,
        )
        sys.exit(2)
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle  # held (and the lock with it) until this process ends
