"""The production smoke test (issue 19, `make prod-smoke`, CI): the service as an operator runs it, checked end to end.

    python -m bench.prod_smoke            # make prod-smoke
    python -m bench.prod_smoke --keep     # keep the database and the logs' folder afterwards

What runs, all on this machine, with ``config.settings.production`` and the environment docs/deploy.md lists:

* database ``scorecard_prodsmoke`` on the PostgreSQL at 127.0.0.1:5432 (dropped and created here, dropped at the
  end) and Redis db 12 at 127.0.0.1:6379 (flushed before and after);
* ``manage.py check --deploy --fail-level WARNING`` (any warning fails), ``migrate``, ``collectstatic``;
* ``gunicorn -c config/gunicorn.py config.wsgi`` (2 workers, PROMETHEUS_MULTIPROC_DIR set, LOG_FORMAT=json), one
  Celery worker and beat — each started here and stopped by its PID (its process group) in a ``finally``.

What it checks, as a client behind a TLS proxy would see it (``X-Forwarded-Proto: https``, Host
``scorecard.example.test``):

1. the admin's login page answers 200 and links a content-hashed ``admin/css/base.<hash>.css``, which answers 200
   as ``text/css``, cacheable for a year, gzip-compressed when asked; a plain-HTTP request is redirected to https;
2. HTTPS headers: HSTS (a year, subdomains, preload), ``X-Content-Type-Options: nosniff``, ``X-Frame-Options:
   DENY``, ``Referrer-Policy``, ``Cross-Origin-Opener-Policy``; the CSRF cookie and, after a real login, the
   session cookie are ``Secure`` (the session cookie also ``HttpOnly``) and ``SameSite=Lax``;
3. an ``X-Request-ID`` sent is returned, and the web process' JSON log line for that request carries it;
4. ``/healthz`` 200; ``/readyz`` 200 once the worker answers and beat has run the sweeper (beat's last run is set
   back first, so beat must really run it), asked by address (a Host outside ALLOWED_HOSTS, as a load balancer
   does); then 503 naming only ``worker`` once the worker is stopped, and 200 again once it is back;
5. ``/metrics``: 401 anonymously and with a wrong token, 200 with the token, in Prometheus' format with the
   service's own figures and gunicorn's workers added up.

Exit status 0 when every check passed; otherwise 1, naming the check, with the processes' last log lines.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.run import BIN, ROOT, Proc, free_port, run_pg_tool

DB_NAME = "scorecard_prodsmoke"
REDIS_URL = "redis://127.0.0.1:6379/12"
HOST = "scorecard.example.test"
ADMIN_USER = "smoke_admin"
_T0 = time.monotonic()
SENT = {"count": 0}  # requests sent to gunicorn, all of which its workers' metrics must count


def log(msg: str) -> None:
    print(f"[prod-smoke {time.monotonic() - _T0:5.1f} s] {msg}", flush=True)


class SmokeFailure(Exception):
    """A check failed: its message says which and what was seen."""


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)
    log(f"ok: {what.split(':')[0]}")


class Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def cookies(self) -> dict[str, str]:
        """Each Set-Cookie by name: the whole header line (value and flags)."""
        return {line.split("=", 1)[0]: line for line in self.headers.get_all("Set-Cookie") or []}


def request(
    port: int,
    path: str,
    *,
    method: str = "GET",
    https: bool = True,
    host: str = HOST,
    headers: dict | None = None,
    body: bytes | None = None,
) -> Response:
    """One request to gunicorn, as the TLS proxy would forward it (no redirect followed)."""
    sent = {"Host": host, **({"X-Forwarded-Proto": "https"} if https else {}), **(headers or {})}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request(method, path, body=body, headers=sent)
        resp = conn.getresponse()
        SENT["count"] += 1
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def wait_until(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise SmokeFailure(f"{what}: not within {timeout:g} s (last seen: {last!r})")


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise SmokeFailure(
            f"manage.py {' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return done.stdout + done.stderr


def production_env(tmp: Path, metrics_token: str) -> dict:
    """What production reads (docs/deploy.md), set as an operator would; nothing inherited that could differ."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "PROMETHEUS_"))}
    for name in ("DATABASE_URL", "REDIS_URL", "METRICS_TOKEN", "LOG_FORMAT", "SCORECARD_VAR_DIR"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=HOST,
        DJANGO_CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        REDIS_URL=REDIS_URL,
        SCORECARD_VAR_DIR=str(tmp / "var"),
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        DJANGO_MEDIA_ROOT=str(tmp / "media"),
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(tmp / "mail"),
        METRICS_TOKEN=metrics_token,
        LOG_FORMAT="json",
        PROMETHEUS_MULTIPROC_DIR=str(tmp / "prometheus"),
        CELERY_DB_REUSE_MAX="1000",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_gunicorn(env: dict, tmp: Path, port: int) -> Proc:
    web = Proc(
        "gunicorn",
        [
            str(BIN / "gunicorn"),
            "-c",
            "config/gunicorn.py",
            "config.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
        ],
        env,
        tmp / "web.log",
    ).start()

    def answers():
        if not web.alive():
            raise SmokeFailure(f"gunicorn exited:\n{web.log_tail()}")
        try:
            return request(port, "/healthz", https=False, host="127.0.0.1").status == 200
        except OSError:
            return False

    wait_until(answers, 60, "gunicorn answers /healthz", interval=0.2)
    return web


def start_celery(kind: str, env: dict, tmp: Path, *extra: str) -> Proc:
    cmd = [str(BIN / "celery"), "-A", "config", kind, "--loglevel=INFO", *extra]
    if kind == "worker":
        cmd += ["-c", "1", "--without-mingle", "--without-gossip", "-n", f"prodsmoke-{os.getpid()}@%h"]
    proc = Proc(kind, cmd, env, tmp / f"{kind}.log").start()
    if kind == "worker":
        proc.wait_for_log("ready.", 90)
    return proc


def readyz(port: int) -> tuple[int, dict]:
    # By address, as a load balancer asks: the Host is not in ALLOWED_HOSTS, and plain HTTP is not redirected.
    resp = request(port, "/readyz", https=False, host=f"127.0.0.1:{port}")
    try:
        return resp.status, json.loads(resp.body)
    except ValueError as exc:
        raise SmokeFailure(f"/readyz is not JSON ({resp.status}): {resp.text[:500]}") from exc


def check_static_and_headers(port: int) -> None:
    plain = request(port, "/admin/login/", https=False)
    check(
        plain.status == 301 and plain.headers.get("Location", "").startswith(f"https://{HOST}/"),
        f"plain HTTP is redirected to https: {plain.status} {plain.headers.get('Location')}",
    )
    login = request(port, "/admin/login/")
    check(login.status == 200 and 'name="username"' in login.text, f"admin login page: {login.status}")
    found = re.search(r'href="(/static/admin/css/base\.([0-9a-f]{12})\.css)"', login.text)
    check(found is not None, "the login page links a content-hashed admin/css/base.<hash>.css")
    css = request(port, found.group(1), headers={"Accept-Encoding": "gzip"})
    check(
        css.status == 200
        and css.headers.get("Content-Type", "").startswith("text/css")
        and css.headers.get("Content-Encoding") == "gzip"
        and "max-age=315360000" in css.headers.get("Cache-Control", "")
        and css.headers.get("X-Content-Type-Options") == "nosniff",
        f"{found.group(1)}: 200, text/css, gzip, cached for years: {css.status} {dict(css.headers)}",
    )
    check(
        request(port, "/static/admin/css/no-such-file.css").status == 404, "a missing static file answers 404"
    )

    h = login.headers
    check(
        h.get("Strict-Transport-Security") == "max-age=31536000; includeSubDomains; preload",
        f"HSTS: {h.get('Strict-Transport-Security')}",
    )
    for name, value in (
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ):
        check(h.get(name) == value, f"{name}: {value} (got {h.get(name)!r})")
    csrf = login.cookies().get("csrftoken", "")
    check(
        "; Secure" in csrf and "SameSite=Lax" in csrf,
        f"the CSRF cookie is Secure and SameSite=Lax: {csrf!r}",
    )


def check_login_cookies(port: int, password: str) -> None:
    page = request(port, "/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    cookie = page.cookies()["csrftoken"].split(";", 1)[0]
    form = f"csrfmiddlewaretoken={token}&username={ADMIN_USER}&password={password}&next=/admin/".encode()
    done = request(
        port,
        "/admin/login/",
        method="POST",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "Origin": f"https://{HOST}",
            "Referer": f"https://{HOST}/admin/login/",
        },
    )
    session = done.cookies().get("sessionid", "")
    check(done.status == 302, f"admin login over https: {done.status} {done.text[:300]}")
    check(
        "; Secure" in session and "; HttpOnly" in session and "SameSite=Lax" in session,
        f"the session cookie is Secure, HttpOnly and SameSite=Lax: {session!r}",
    )


def check_request_id(port: int, web: Proc) -> None:
    sent = f"prodsmoke-{secrets.token_hex(6)}"
    resp = request(port, "/metrics", headers={"X-Request-ID": sent})  # anonymous: 401, logged by Django
    check(
        resp.headers.get("X-Request-ID") == sent, f"X-Request-ID returned: {resp.headers.get('X-Request-ID')}"
    )

    def logged():
        for line in web.log_tail(200_000).splitlines():
            if sent in line and line.startswith("{"):
                record = json.loads(line)
                return record if record.get("request_id") == sent else None
        return None

    record = wait_until(logged, 10, f"a JSON log line of the web process with request_id {sent}")
    check({"time", "level", "logger", "message"} <= set(record), f"the JSON log line's fields: {record}")


def check_metrics(port: int, token: str) -> None:
    anonymous = request(port, "/metrics")
    check(
        anonymous.status == 401 and "Bearer" in anonymous.headers.get("WWW-Authenticate", ""),
        f"/metrics refuses an anonymous request: {anonymous.status}",
    )
    wrong = request(port, "/metrics", headers={"Authorization": "Bearer not-the-token"})
    check(wrong.status == 401, f"/metrics refuses a wrong token: {wrong.status}")
    good = request(port, "/metrics", headers={"Authorization": f"Bearer {token}"})
    text = good.text
    check(good.status == 200, f"/metrics answers the token: {good.status}")
    for needle in (
        'scorecard_score_jobs{status="queued"}',
        'scorecard_celery_queue_length{queue="celery"}',
        'scorecard_celery_tasks_total{state="failed",task="scoring.score_job_run"}',
        "scorecard_report_generation_seconds_bucket",
        'scorecard_metrics_source_up{source="queue"} 1.0',
        "django_http_requests_before_middlewares_total",
    ):
        check(needle in text, f"/metrics has {needle}")
    # Several gunicorn workers, one scrape: the multiprocess files add every worker's requests up, so the count
    # is at least every request this smoke has sent (whichever worker took each).
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("django_http_requests_before_middlewares_total ")
    )
    check(
        counted >= SENT["count"],
        f"/metrics adds up the requests of every gunicorn worker: {counted:g} counted, {SENT['count']} sent",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.prod_smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the database and the temporary folder")
    args = parser.parse_args(argv)

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)  # CI's stop: still stop every process and drop the database

    for tool in ("createdb", "dropdb"):
        if shutil.which(tool) is None:
            print(f"prod-smoke: {tool} not found (apt-get install -y postgresql-client)", file=sys.stderr)
            return 2
    import redis

    redis_client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        redis_client.ping()
    except redis.RedisError as exc:
        print(f"prod-smoke: Redis at {REDIS_URL} is unreachable: {exc}", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="scorecard-prodsmoke-"))
    metrics_token = secrets.token_urlsafe(32)
    password = secrets.token_urlsafe(16)
    env = production_env(tmp, metrics_token)
    port = free_port()
    failed = None
    try:
        log(f"database {DB_NAME}, Redis {REDIS_URL}, logs in {tmp}")
        run_pg_tool("dropdb", "--if-exists", "--force", DB_NAME)
        run_pg_tool("createdb", DB_NAME)
        redis_client.flushdb()

        out = manage(env, "check", "--deploy", "--fail-level", "WARNING")
        check("no issues" in out, f"check --deploy is clean: {out[-1500:]}")
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "collectstatic", "--noinput", "-v0")
        check((tmp / "static" / "staticfiles.json").exists(), "collectstatic wrote the manifest")
        manage(
            env,
            "shell",
            "-c",
            # An admin for the login check; beat's last run of every schedule set back ten minutes, so beat has to
            # run the sweeper at once for /readyz to be ready (a date in the past is what a stopped beat leaves).
            "import datetime; from django.utils import timezone; "
            "from django.contrib.auth import get_user_model; "
            "from django_celery_beat.models import PeriodicTask; "
            f"get_user_model().objects.create_superuser({ADMIN_USER!r}, 'smoke@example.test', {password!r}); "
            "old = timezone.now() - datetime.timedelta(minutes=10); "
            "PeriodicTask.objects.update(last_run_at=old, date_changed=old)",
        )

        web = start_gunicorn(env, tmp, port)
        log(f"gunicorn (pid {web.pid}) on 127.0.0.1:{port}")
        check_static_and_headers(port)
        check_login_cookies(port, password)
        check_request_id(port, web)

        health = request(port, "/healthz", https=False, host="10.0.0.1")
        check(health.status == 200 and json.loads(health.body) == {"status": "ok"}, "/healthz 200")
        status, body = readyz(port)
        check(
            status == 503 and {"worker", "beat"} <= set(body["failing"]),
            f"/readyz is 503 naming worker and beat before they run: {status} {body}",
        )

        worker = start_celery("worker", env, tmp)
        beat = start_celery("beat", env, tmp)
        log(f"worker (pid {worker.pid}) and beat (pid {beat.pid}) started")
        status, body = wait_until(lambda: (s := readyz(port))[0] == 200 and s, 60, "/readyz 200")
        check(
            body["checks"]["beat"]["last_run_seconds_ago"] is not None
            and body["checks"]["beat"]["last_run_seconds_ago"] <= 60,
            f"/readyz 200: database, broker, worker and beat (beat ran the sweeper): {body}",
        )

        check_metrics(port, metrics_token)

        worker.stop()
        log("worker stopped")
        status, body = wait_until(lambda: (s := readyz(port))[0] == 503 and s, 30, "/readyz 503")
        check(body["failing"] == ["worker"], f"/readyz 503 names the worker alone: {body}")

        worker = start_celery("worker", env, tmp)
        log(f"worker started again (pid {worker.pid})")
        wait_until(lambda: readyz(port)[0] == 200, 30, "/readyz 200 again with the worker back")
        log("ok: /readyz 200 again with the worker back")
        for proc in (web, worker, beat):
            check(proc.alive(), f"{proc.name} still running: {proc.log_tail()}")
    except (SmokeFailure, RuntimeError) as exc:
        failed = exc
    except KeyboardInterrupt:
        failed = SmokeFailure("interrupted")
    finally:
        tails = {proc.name: proc.log_tail(2500) for proc in Proc.registry}
        for proc in reversed(list(Proc.registry)):
            stopping = time.monotonic()
            try:
                proc.stop()
            except Exception as exc:  # keep stopping the others
                print(f"prod-smoke: could not stop {proc.name} (pid {proc.pid}): {exc}", file=sys.stderr)
            log(f"{proc.name} (pid {proc.pid}) stopped in {time.monotonic() - stopping:.1f} s")
        if failed is not None:
            for name, tail in tails.items():
                print(f"--- last lines of {name}'s log ---\n{tail}", file=sys.stderr)
        if not args.keep:
            try:
                run_pg_tool("dropdb", "--if-exists", "--force", DB_NAME)
            except subprocess.CalledProcessError as exc:
                print(f"prod-smoke: could not drop {DB_NAME}: {exc.stderr}", file=sys.stderr)
            redis_client.flushdb()
            shutil.rmtree(tmp, ignore_errors=True)
    if failed is not None:
        print(f"\nprod-smoke FAILED: {failed}", file=sys.stderr)
        return 1
    log("prod-smoke passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
