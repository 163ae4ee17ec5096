"""Production settings: refuse to start without a real secret key; `check --deploy` is clean once configured."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_KEY = "x8$kQ2!vN7@pL4#wR9^tZ1&cM6*bH3(eJ5)gD0_fS2+yU8=aK4-oI7~qW3.nE5"


def _manage(*args: str, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production", **env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _python_json(code: str, *args: str, strip: tuple[str, ...] = ("DJANGO_",), **env_extra: str):
    """``code`` run by a fresh Python under the test settings (variables starting with ``strip`` removed, then
    ``env_extra`` set); its last line of output, as JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(strip)}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    env.update(env_extra)
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_production_refuses_to_start_without_a_secret_key():
    done = _manage("check", DJANGO_ALLOWED_HOSTS="scorecard.example.com")
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY" in done.stderr


def test_production_refuses_an_insecure_secret_key():
    done = _manage(
        "check", DJANGO_SECRET_KEY="django-insecure-abc", DJANGO_ALLOWED_HOSTS="scorecard.example.com"
    )
    assert done.returncode != 0 and "DJANGO_SECRET_KEY" in done.stderr


def test_check_deploy_is_clean_when_configured():
    done = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY=REAL_KEY,
        DJANGO_ALLOWED_HOSTS="scorecard.example.com",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def _installed_apps_as(argv: list[str]) -> list[str]:
    code = (
        "import sys, json; sys.argv = json.loads(sys.argv[1]); import django; django.setup(); "
        "from django.apps import apps; from django.contrib import admin; "
        "print(json.dumps([[c.name for c in apps.get_app_configs()], len(admin.site._registry)]))"
    )
    return _python_json(code, json.dumps(argv))


def test_celery_processes_leave_out_what_only_serves_http():
    web_apps, web_admin = _installed_apps_as(["manage.py", "runserver"])
    worker_apps, worker_admin = _installed_apps_as(["/venv/bin/celery", "-A", "config", "worker"])
    beat_apps, _ = _installed_apps_as(["/venv/bin/celery", "-A", "config", "beat"])
    http_only = {"drf_spectacular", "drf_spectacular_sidecar", "import_export"}
    assert http_only <= set(web_apps) and web_admin > 10  # the admin's modules were discovered
    assert not http_only & set(worker_apps) and worker_admin == 0
    assert worker_apps == beat_apps == [a for a in web_apps if a not in http_only]  # every model app stays


def test_make_runs_mail_goes_to_files_not_to_the_processes_log(tmp_path):
    """The embedded default writes each mail (a weekly report with its attachments) under var/mail/; nothing of it
    reaches the worker's log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", SCORECARD_VAR_DIR=str(tmp_path / "var"))
    code = (
        "from django.core.mail import EmailMessage; "
        "m = EmailMessage('周报', 'REPORT-BODY-MARKER', to=['a@example.com']); "
        "m.attach('report.csv', 'ATTACHMENT-MARKER', 'text/csv'); m.send()"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "MARKER" not in done.stdout + done.stderr
    files = list((tmp_path / "var" / "mail").iterdir())
    assert len(files) == 1 and "REPORT-BODY-MARKER" in files[0].read_text()


def _worker_modules(skip_checks: str | None, **env_extra: str) -> list[str]:
    """The modules a worker process holds once Celery's Django fixup has run (as `celery -A config worker`)."""
    code = (
        "import sys, json; sys.argv = ['/venv/bin/celery', '-A', 'config', 'worker']\n"
        "import django; django.setup()\n"
        "from config.celery_app import app\n"
        "app.loader.import_default_modules()\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    if skip_checks is not None:
        env_extra["CELERY_SKIP_CHECKS"] = skip_checks
    return _python_json(code, strip=("DJANGO_", "CELERY_SKIP_CHECKS"), **env_extra)


def test_a_worker_does_not_import_the_urlconf_and_what_only_serves_http():
    """Celery's Django fixup runs the system checks at start-up, and the URL checks import the URLconf with the
    API, import-export and openpyxl (~30 MB a process); config/celery_app.py skips them in workers."""
    heavy = {"config.urls", "openpyxl", "import_export", "drf_spectacular"}
    assert not heavy & set(_worker_modules(None))
    assert heavy <= set(_worker_modules(""))  # with the checks on again, they are all there


def test_a_worker_leaves_out_drf_fields_and_python_ldap_when_no_directory_is_configured():
    """DRF's fields (for the strict string fields) pull in requests, urllib3, pygments and uritemplate, and the
    LDAP settings python-ldap and pyasn1: ≈14 MB in each of a worker's processes, none of it used there."""
    modules = set(_worker_modules(None))
    assert (
        not {"rest_framework.fields", "requests", "pygments", "ldap", "pyasn1", "django_auth_ldap.config"}
        & modules
    )
    with_directory = set(_worker_modules(None, LDAP_SERVER_URI="ldap://directory.bank.example"))
    assert {"ldap", "django_auth_ldap.config"} <= with_directory  # a configured directory is still set up


def _setting_and_strictness(argv: list[str], **env_extra: str) -> list:
    code = (
        "import sys, json; sys.argv = json.loads(sys.argv[1]); import django; django.setup()\n"
        "from django.conf import settings\n"
        "search = getattr(settings, 'AUTH_LDAP_USER_SEARCH', None)\n"
        "strict = 'rest_framework.fields' in sys.modules and "
        "sys.modules['rest_framework.fields'].CharField.to_internal_value.__name__ == '_strict_to_internal_value'\n"
        "print(json.dumps([settings.AUTH_LDAP_SERVER_URI, type(search).__name__, strict]))"
    )
    return _python_json(code, json.dumps(argv), strip=("DJANGO_", "LDAP_"), **env_extra)


def test_the_web_process_keeps_strict_string_fields_and_the_directory_settings():
    web = ["manage.py", "runserver"]
    assert _setting_and_strictness(web) == ["", "NoneType", True]  # no directory: LDAP off, strict fields on
    uri = "ldaps://ad.bank.example:636"
    assert _setting_and_strictness(web, LDAP_SERVER_URI=uri) == [uri, "LDAPSearch", True]


def test_a_wrong_ldap_group_type_is_refused_at_start_up_with_or_without_a_directory():
    for extra in ({}, {"LDAP_SERVER_URI": "ldap://directory.bank.example"}):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LDAP_"))}
        env.update(DJANGO_SETTINGS_MODULE="config.settings.test", LDAP_GROUP_TYPE="nonsense", **extra)
        done = subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode != 0 and "LDAP_GROUP_TYPE must be one of" in done.stderr, extra
