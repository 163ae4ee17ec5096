"""Process control for the benches and the tests at the real boundary (tests/processes.py imports it).

One implementation of: a free port, waiting for a condition, starting a program in a session of its own (its
process group is its PID, so whatever it forks can be found and stopped), and stopping it by that PID —
SIGTERM to the group, then SIGKILL to whatever of the group is left. Never by name. Also the bench's Celery
worker and gunicorn starters, a /proc memory sampler and the CPU / load figures of the machine.

No Django and no pytest here: the benches import it before ``django.setup()``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.common import BIN, ROOT, BenchFailure


class WaitTimeout(AssertionError):
    """``wait_for`` ran out of time (an AssertionError, so that a test reports it as a failure)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, interval: float = 0.1, message: str = "condition"):
    """Call ``predicate`` until it returns something true (returned), or raise WaitTimeout after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise WaitTimeout(f"timed out after {timeout} s waiting for {message}")


def group_pids(pgid: int) -> list[int]:
    """Every live process whose process group is ``pgid`` (a process started by ``spawn`` leads its own)."""
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


def spawn(cmd: list[str], env: dict, log: Path | None, *, cwd: Path = ROOT) -> subprocess.Popen:
    """Start ``cmd`` in a session of its own, output appended to ``log`` (or discarded)."""
    handle = open(log, "ab") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        if log is not None:
            handle.close()


def stop_process(popen: subprocess.Popen | None, timeout: float = 20) -> None:
    """SIGTERM (a graceful stop), up to ``timeout`` s, then SIGKILL; by PID only.

    A process that leads its own group (started by ``spawn``) is stopped with its whole group, so the pool
    processes of a worker or gunicorn are not left behind; any other process on its own."""
    if popen is None:
        return
    try:
        own_group = os.getpgid(popen.pid) == popen.pid
    except ProcessLookupError:
        own_group = False
    if popen.poll() is None:
        try:
            if own_group:
                os.killpg(popen.pid, signal.SIGTERM)
            else:
                popen.terminate()
        except ProcessLookupError:
            pass
        try:
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    if own_group:
        deadline = time.monotonic() + 5
        while group_pids(popen.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in group_pids(popen.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if popen.poll() is None:
        popen.kill()
    popen.wait(10)


class Proc:
    """A named subprocess started by ``spawn``, kept in a registry so that a ``finally`` can stop them all."""

    registry: list[Proc] = []

    def __init__(self, name: str, cmd: list[str], env: dict, logfile: Path):
        self.name, self.cmd, self.env, self.logfile = name, cmd, env, logfile
        self.popen: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self) -> Proc:
        self.popen = spawn(self.cmd, self.env, self.logfile)
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
        def seen() -> bool:
            if needle in self.log_tail(200_000):
                return True
            if not self.alive():
                raise BenchFailure(f"{self.name} exited early:\n{self.log_tail()}")
            return False

        try:
            wait_for(seen, timeout, message=f"{needle!r} in {self.name}'s log")
        except WaitTimeout as exc:
            raise BenchFailure(f"{self.name}: {exc}:\n{self.log_tail()}") from None

    def stop(self, timeout: float = 30) -> None:
        stop_process(self.popen, timeout)
        if self in Proc.registry:
            Proc.registry.remove(self)

    @classmethod
    def stop_all(cls) -> None:
        for proc in reversed(list(cls.registry)):
            try:
                proc.stop()
            except Exception as exc:  # keep stopping the others
                print(f"could not stop {proc.name} (pid {proc.popen.pid if proc.popen else '?'}): {exc}")


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
    """``gunicorn config.wsgi`` on 127.0.0.1:port; returns once the plain view (bench settings) answers."""
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

    def answers() -> bool:
        if not gunicorn.alive():
            raise BenchFailure(f"gunicorn exited:\n{gunicorn.log_tail()}")
        try:
            return http_call(f"http://127.0.0.1:{port}/bench/ping/", timeout=2)[0] == 200
        except OSError:
            return False

    try:
        wait_for(answers, 60, interval=0.2, message="gunicorn's /bench/ping/")
    except WaitTimeout:
        raise BenchFailure(f"gunicorn did not answer:\n{gunicorn.log_tail()}") from None
    return gunicorn


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
