"""Log lines: JSON objects when LOG_FORMAT=json (python-json-logger), plain text otherwise; the request id on each.

Each case runs Django in a subprocess with the environment under test, as a deployment would, and sends one
request through Django's test client there (a 404, which django.request logs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CODE = """
import logging
from django.test import Client
Client().get("/no-such-page/", HTTP_X_REQUEST_ID="log-test-42")
logging.getLogger("scorecard.test").warning("outside any request: 评分卡")
"""


def run(tmp_path, **env_extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LOG_FORMAT")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test", SCORECARD_VAR_DIR=str(tmp_path / "var"), **env_extra
    )
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CODE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_json_log_lines_carry_the_request_id(tmp_path):
    done = run(tmp_path, LOG_FORMAT="json")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    by_message = {r["message"]: r for r in records}
    request_line = by_message["Not Found: /no-such-page/"]
    assert request_line["request_id"] == "log-test-42"
    assert request_line["logger"] == "django.request" and request_line["level"] == "WARNING"
    assert request_line["status_code"] == 404
    outside = by_message["outside any request: 评分卡"]  # non-ASCII kept as it is
    assert outside["request_id"] is None and outside["logger"] == "scorecard.test"
    assert set(outside) >= {"time", "level", "logger", "request_id", "message"}


def test_plain_log_lines_carry_the_request_id(tmp_path):
    done = run(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING django.request [log-test-42] Not Found: /no-such-page/" in done.stderr
    assert "WARNING scorecard.test [-] outside any request: 评分卡" in done.stderr
    with pytest.raises(json.JSONDecodeError):
        json.loads(done.stderr.splitlines()[-1])


def test_an_unknown_log_format_is_refused_at_start(tmp_path):
    done = run(tmp_path, LOG_FORMAT="xml")
    assert done.returncode != 0
    assert "LOG_FORMAT must be 'plain' or 'json', not 'xml'" in done.stderr
