"""Static files through WhiteNoise under gunicorn: the admin is styled with the production and local settings alike.

Production: `collectstatic` into a folder of this test, then the login page links a content-hashed CSS file that
gunicorn serves as text/css, compressed, cacheable for a year. Local (DEBUG on, nothing collected): the plain
names are served from the apps' folders.
"""

from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.request

import pytest

from tests.processes import GunicornProcess, manage, service_env

pytestmark = [pytest.mark.services, pytest.mark.slow]

HOST = "scorecard.example.test"


def get(url: str, **headers) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def env_for(settings_module: str, tmp_path, **extra) -> dict:
    env = service_env("memory://", DJANGO_SETTINGS_MODULE=settings_module, **extra)
    for name in ("REDIS_URL", "DATABASE_URL"):
        env.pop(name)  # the embedded default: nothing here reads the database or the broker
    env.update(SCORECARD_VAR_DIR=str(tmp_path / "var"), DJANGO_STATIC_ROOT=str(tmp_path / "static"))
    return env


def test_production_serves_the_admin_css_hashed_and_compressed(tmp_path):
    env = env_for(
        "config.settings.production",
        tmp_path,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=HOST,
    )
    manage(env, "collectstatic", "--noinput", "-v0")
    assert (tmp_path / "static" / "staticfiles.json").exists()
    server = GunicornProcess(env, tmp_path / "gunicorn.log", workers=1).start()
    try:
        proxied = {"Host": HOST, "X-Forwarded-Proto": "https"}
        status, _headers, body = get(f"{server.url}/admin/login/", **proxied)
        assert status == 200, body[:500]
        found = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', body)
        assert found, "the login page links the hashed admin CSS"

        status, headers, css = get(f"{server.url}{found.group(1).decode()}", **proxied)
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert b"#header" in css  # the admin's own stylesheet
        assert headers["Cache-Control"] == "max-age=315360000, public, immutable"
        status, headers, packed = get(
            f"{server.url}{found.group(1).decode()}", **proxied, **{"Accept-Encoding": "gzip"}
        )
        assert status == 200 and headers.get("Content-Encoding") == "gzip" and len(packed) < len(css)

        # The plain name stays reachable for old links, but is not cached for long.
        status, headers, _ = get(f"{server.url}/static/admin/css/base.css", **proxied)
        assert status == 200 and "immutable" not in headers["Cache-Control"]
    finally:
        server.stop()


def test_local_settings_serve_the_admin_css_without_collectstatic(tmp_path):
    env = env_for("config.settings.local", tmp_path)  # DEBUG on; STATIC_ROOT is an empty, missing folder
    server = GunicornProcess(env, tmp_path / "gunicorn.log", workers=1).start()
    try:
        status, _headers, body = get(f"{server.url}/admin/login/")
        assert status == 200 and b'href="/static/admin/css/base.css"' in body
        status, headers, css = get(f"{server.url}/static/admin/css/base.css")
        assert status == 200 and headers["Content-Type"].startswith("text/css") and b"#header" in css
    finally:
        server.stop()
