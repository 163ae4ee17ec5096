"""The service's own start-up on the embedded default: no PostgreSQL, no Redis.

Runs the Procfile (web, worker, beat) through honcho exactly as `make run` does, against a SQLite file
and kombu's filesystem broker in a temporary var/ folder, then checks the admin login page and one Celery
task round trip through the real worker process.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def embedded_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        SCORECARD_VAR_DIR=str(tmp_path / "var"),
        WEB_PORT=str(_free_port()),
        PYTHONUNBUFFERED="1",
    )
    return env


def _run(args: list[str], env: dict, timeout: int = 120) -> str:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _migrate_and_start(env: dict, log) -> subprocess.Popen:
    """Migrate the embedded database, then start the Procfile through honcho as `make run` does."""
    _run([str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"], env)
    return subprocess.Popen(
        [str(VENV_BIN / "honcho"), "start"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.services
@pytest.mark.slow
def test_embedded_service_serves_admin_and_runs_a_task(embedded_env, tmp_path):
    python = str(VENV_BIN / "python")
    log = open(tmp_path / "honcho.log", "w")
    honcho = _migrate_and_start(embedded_env, log)
    try:
        url = f"http://127.0.0.1:{embedded_env['WEB_PORT']}/admin/login/"
        body = ""
        for _ in range(120):
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    assert response.status == 200
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert 'name="username"' in body, (tmp_path / "honcho.log").read_text()

        out = _run(
            [
                python,
                "manage.py",
                "shell",
                "-c",
                "from scoring.tasks import ping_task; print(ping_task.delay('往返').get(timeout=60))",
            ],
            embedded_env,
            timeout=90,
        )
        assert "'payload': '往返'" in out and "'database': 'sqlite'" in out, out
        assert (tmp_path / "var" / "db.sqlite3").exists()
    finally:
        os.killpg(honcho.pid, signal.SIGINT)
        try:
            honcho.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait()
        log.close()
    # Every process of the group has stopped.
    with pytest.raises(ProcessLookupError):
        os.killpg(honcho.pid, 0)


@pytest.mark.services
@pytest.mark.slow
def test_a_process_that_dies_stops_the_service_loudly(embedded_env, tmp_path):
    """When the worker dies (here SIGKILL), honcho stops web and beat too and exits non-zero, naming the process:
    the service never runs on silently without a worker. (`make run` then prints why it stopped.)"""
    log_path = tmp_path / "honcho.log"
    with open(log_path, "w") as log:
        honcho = _migrate_and_start(embedded_env, log)
        try:
            worker_pid = None
            for _ in range(240):
                found = re.search(r"worker\.1 started \(pid=(\d+)\)", log_path.read_text())
                if found and "ready." in log_path.read_text():
                    worker_pid = int(found.group(1))
                    break
                time.sleep(0.5)
            assert worker_pid, log_path.read_text()
            os.kill(worker_pid, signal.SIGKILL)  # the Procfile execs: this is the worker itself
            code = honcho.wait(timeout=60)
        finally:
            if honcho.poll() is None:
                os.killpg(honcho.pid, signal.SIGKILL)
                honcho.wait()
            for pid in re.findall(r"\w+\.1 started \(pid=(\d+)\)", log_path.read_text()):
                try:  # honcho starts each process in a group of its own: leave none behind
                    os.killpg(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
    text = log_path.read_text()
    assert code != 0
    assert re.search(r"worker\.1 stopped \(rc=-9\)", text), text[-3000:]
    assert "web.1 stopped" in text and "beat.1 stopped" in text
    with pytest.raises(ProcessLookupError):
        os.killpg(honcho.pid, 0)
