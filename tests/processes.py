"""Real processes for tests at the boundary: a private Redis server and Celery worker / beat subprocesses.

A private Redis (its own port) lets a test stop and restart the broker without touching anyone else's.
Workers run as real subprocesses against the test database, so a test can SIGKILL one by PID.

Process control (a free port, waiting for a condition, starting a program in a session of its own and stopping
it with its process group by PID) is the benches' own, ``bench/procs.py``: one implementation for both.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings

from bench.common import BIN, ROOT
from bench.procs import free_port, spawn, stop_process, wait_for

__all__ = ["BIN", "ROOT", "free_port", "terminate", "wait_for"]


class PrivateRedis:
    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = spawn(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            dict(os.environ),
            None,
        )
        wait_for(self._up, 10, message=f"redis on port {self.port}")

    def _up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        stop_process(self.proc, 10)
        self.proc = None


def terminate(proc: subprocess.Popen | None) -> None:
    """SIGTERM (a graceful stop; to its process group when it leads one), then SIGKILL after 20 s."""
    stop_process(proc, 20)


def test_database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    auth = f"{user}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{user}@"
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def service_env(broker_url: str, **extra: str) -> dict:
    """Environment for a worker / beat subprocess on the test database and the given broker."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=test_database_url(),
        REDIS_URL=broker_url,
        CELERY_DB_REUSE_MAX="1000",
        CELERY_VISIBILITY_TIMEOUT="4",
        CELERY_UNACKED_RESTORE_INTERVAL="1",
        CELERY_UNACKED_RESTORE_THROTTLE="1",
        CELERY_UNACKED_MUTEX_EXPIRE="4",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class CeleryProcess:
    """`celery -A config worker|beat` as a subprocess with its log in a file."""

    def __init__(self, kind: str, env: dict, log: Path, *args: str):
        self.kind, self.env, self.log, self.args = kind, env, log, args
        self.proc: subprocess.Popen | None = None

    def start(self, ready_timeout: float = 60) -> CeleryProcess:
        cmd = [str(BIN / "celery"), "-A", "config", self.kind, "--loglevel=INFO", *self.args]
        if self.kind == "worker":
            cmd += [
                "--pool=solo",
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"test-{os.getpid()}-{time.time_ns()}@%h",
            ]
        self.proc = spawn(cmd, self.env, self.log)
        if self.kind == "worker":
            wait_for(
                lambda: "ready." in self.log.read_text(errors="replace") or self.proc.poll() is not None,
                ready_timeout,
                message=f"worker ready (log {self.log})",
            )
            assert self.proc.poll() is None, self.log.read_text(errors="replace")[-3000:]
        return self

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        terminate(self.proc)


class PrivatePostgres:
    """A throwaway PostgreSQL server of the test's own: its own data folder and port, started and stopped by the
    test, so a test may restart or kill it without touching the machine's cluster that everyone else uses.

    PostgreSQL refuses to run as root; as root (CI) the server runs as the ``postgres`` system user.
    """

    def __init__(self):
        self.port = free_port()
        self.bindir = self._bindir()
        # Not under pytest's tmp_path: it is private to root (0700) and the server's user must reach it.
        self.root = Path(tempfile.mkdtemp(prefix="scorecard-pg-", dir="/tmp"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.log = self.root / "server.log"

    @staticmethod
    def _bindir() -> Path:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if found:
            return found[-1].parent
        initdb = shutil.which("initdb")
        if initdb is None:
            raise AssertionError("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
        return Path(initdb).parent

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{' '.join(cmd)}: {done.stdout}{done.stderr}"
        return done

    def start(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self._pg_ctl("start")
        return self

    def _pg_ctl(self, action: str) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-m", "fast", action
        )

    def restart(self) -> None:
        self._pg_ctl("restart")

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, dbname: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", dbname)
        return self.url(dbname)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            cmd = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-m", "immediate", "stop"]
            if os.geteuid() == 0:
                cmd = ["runuser", "-u", "postgres", "--", *cmd]
            subprocess.run(cmd, capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    """``python manage.py …`` in a subprocess with the given environment; its output, or the failure."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


class GunicornProcess:
    """The web app under gunicorn (real HTTP, several worker processes) on the test database, for tests of what
    only a real server shows: concurrent requests racing each other, chunked request bodies."""

    def __init__(self, env: dict, log: Path, workers: int = 4):
        self.port = free_port()
        self.env, self.log, self.workers = env, log, workers
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 60) -> GunicornProcess:
        cmd = [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "-w",
            str(self.workers),
            "-b",
            f"127.0.0.1:{self.port}",
            "--graceful-timeout",
            "5",
        ]
        self.proc = spawn(cmd, self.env, self.log)
        wait_for(self._up, ready_timeout, message=f"gunicorn on port {self.port} (log {self.log})")
        return self

    def _up(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text(errors="replace")[
            -3000:
        ]
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        terminate(self.proc)
