"""`check --deploy` warns about a weak METRICS_TOKEN (ops.W001); a strong one, or none (the endpoint then answers
nobody), is clean."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def check_deploy(**env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "METRICS_TOKEN"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="scorecard.example.com",
        **env_extra,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("token", ["short-token", "a" * 40])
def test_a_weak_metrics_token_is_a_deploy_warning(token):
    done = check_deploy(METRICS_TOKEN=token)
    assert done.returncode != 0
    assert "ops.W001" in done.stderr and "METRICS_TOKEN" in done.stderr


@pytest.mark.parametrize("token", [None, "strong"])
def test_a_strong_or_no_metrics_token_is_clean(token):
    extra = {"METRICS_TOKEN": secrets.token_urlsafe(32)} if token else {}
    done = check_deploy(**extra)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ops.W001" not in done.stdout + done.stderr
