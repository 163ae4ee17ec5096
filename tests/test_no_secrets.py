"""No secret in the repository, and no password or token in the logs.

The scan walks the files a commit would hold (it skips .venv, var, .git, test-artifacts, caches, *.mo and the
other paths .gitignore names) and looks for private keys, AWS-style keys, credentials in URLs, password
literals and real-looking secret keys. Test-only values are allowed explicitly below, each with the reason;
anything new fails the test with the file, line and what was found (the value itself is not printed).

The log check captures every logger at DEBUG while a user signs in to the admin and to the API with a wrong
and then the right password, uses the token, presents a wrong token and revokes the token; no log record (its
message, arguments, extra attributes or traceback) may contain the password or the token.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import math
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import BankFactory, MembershipFactory, UserFactory

ROOT = Path(__file__).resolve().parents[1]

SKIP_DIRS = {
    ".venv",
    "var",
    ".git",
    "test-artifacts",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
}
SKIP_SUFFIXES = {".mo", ".pyc", ".sqlite3", ".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2"}
MAX_BYTES = 2 * 1024 * 1024

# --- what a secret looks like -----------------------------------------------------------------------------

PRIVATE_KEY = re.compile(r"-----BEGIN (?:(?:RSA|EC|DSA|OPENSSH|PGP|ENCRYPTED) )?PRIVATE KEY(?: BLOCK)?-----")
AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b")
AWS_SECRET = re.compile(
    r"(?i)aws.{0,20}(?:secret|private).{0,20}[=:]\s*[\"']?(?P<value>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
)
URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@\"']+:(?P<value>[^@\s/\"']+)@")
PASSWORD_LITERALS = [
    # password = "…", PASSWORD: "…", "password": "…", password="…", SCORECARD_DEMO_PASSWORD = "…"
    re.compile(r"(?i)\b\w*(?:password|passwd|pwd)\w*[\"']?\s*[:=]\s*[rbuf]?[\"'](?P<value>[^\"'\n]+)[\"']"),
    # set_password("…"), factory.django.Password("…"), make_password("…")
    re.compile(
        r"(?i)\b(?:set_password|make_password|check_password|Password)\(\s*[rbuf]?[\"'](?P<value>[^\"'\n]+)[\"']"
    ),
    # shell / env / Makefile style outside Python: DB_PASSWORD=hunter2
    re.compile(
        r"(?i)^\s*(?:export\s+)?\w*(?:password|passwd)\w*\s*=\s*(?P<value>[^\s\"'#$<{]{4,})\s*$", re.M
    ),
]
# SECRET_KEY = "…", "DJANGO_SECRET_KEY": "…", env("DJANGO_SECRET_KEY", default="…")
SECRET_KEY_LITERALS = [
    re.compile(r"(?i)\bsecret_key\w*[\"']?\s*[:=]\s*[rbu]?[\"'](?P<value>[^\"'\s]{8,})[\"']"),
    re.compile(r"(?i)secret_key.*\bdefault\s*=\s*[rbu]?[\"'](?P<value>[^\"'\s]{8,})[\"']"),
]
# A quoted run of the characters random keys are made of (no "/", ":", ",", "{": URLs, CSV, templates).
KEY_LIKE = re.compile(r"[\"'](?P<value>[A-Za-z0-9!@#$%^&*()\-_=+~.]{40,})[\"']")

# --- explicitly allowed, test-only values -----------------------------------------------------------------

# path -> literals there that look like secrets but are not.
ALLOWED = {
    # Django's fallback for local runs; production.py refuses any "django-insecure" key.
    "config/settings/base.py": {"django-insecure-local-only-not-for-production"},
    "config/settings/test.py": {"test-only-secret-key-not-used-anywhere-else-0123456789"},
    # The benchmark runs production settings locally with a fixed key that is never deployed.
    "config/settings/bench.py": {"bench-only-secret-5f3c9a1e7b2d4c6e8f0a1b3c5d7e9f2a4c6e8b0d2f4a6c8e"},
    # The benchmark's users live in a throw-away database it creates and drops (bench/common.py since the split).
    "bench/common.py": {"bench-password-not-a-secret-0123", "bench-demo-password-not-a-secret"},
    # The soak's demo users live in a throw-away SQLite file under a temporary folder.
    "bench/soak.py": {"soak-demo-password-not-a-secret"},
    # A webhook URL with credentials in it, which the endpoint validation must refuse.
    "tests/webhooks/test_endpoints.py": {"pw"},
}
# path -> SHA-256 (first 16 hex digits) of key-like literals, named by fingerprint so this file does not
# repeat them.
ALLOWED_FINGERPRINTS = {
    # REAL_KEY: a key of the production format, so the production settings check passes in a subprocess.
    "tests/test_settings.py": {"51749f03070a4595"},
    # The SECRET_KEY of the OIDC provider the sign-on tests run for themselves (tests/signon/provider/), never deployed.
    "tests/signon/provider/settings.py": {"bbf8c5abd0249ae0"},
}
# Passwords that tests and fixtures use on throw-away users in the test database.
TEST_PASSWORDS = {
    "pw-for-tests-only",  # tests.factories.UserFactory
    "the-right-password-9",  # tests/test_security.py
    "e2e-Journey-pw-0427",  # tests/e2e
    "a-demo-password-from-env",  # tests/test_seed_demo.py
    "Log-Check-Pw-7Qz!Kc42",  # this file's log check
    "Log-Check-Wrong-9Xv!Lm13",  # this file's log check
    "wrong",
}
TEST_DIRS = ("tests/", "fixtures/")
# Within tests, a value that says it is fake, in a word of its own ("pw-for-tests-only"), is taken at its word.
FAKE_WORD = re.compile(r"(?i)(?<![a-z])(?:tests?|wrong|fake|dummy|example|not-a-secret|bad)(?![a-z])")
# Not values: placeholders and references (§ marks where this file's samples put their value).
PLACEHOLDER = re.compile(
    r"^(?:\.\.\.|…|§|\*+|<[^>]*>|\$\{?\w+\}?|%\(\w+\)s|\{\w*\}|xxx+|changeme|change-me)$", re.I
)


def _ignored_by_gitignore() -> list[str]:
    path = ROOT / ".gitignore"
    if not path.is_file():
        return []
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith(("#", "!"))]


def _skipped(relative: Path, patterns: list[str]) -> bool:
    parts = relative.parts
    if any(part in SKIP_DIRS for part in parts[:-1]) or relative.suffix in SKIP_SUFFIXES:
        return True
    text = relative.as_posix()
    for pattern in patterns:
        bare = pattern.strip("/")
        if pattern.endswith("/"):  # a directory anywhere (or at that path)
            if bare in parts[:-1] or text.startswith(bare + "/"):
                return True
        elif fnmatch.fnmatch(relative.name, bare) or fnmatch.fnmatch(text, bare):
            return True
    return False


def _repository_files() -> list[Path]:
    """The files a commit would hold, walking only directories that are neither skipped nor ignored."""
    patterns = _ignored_by_gitignore()
    files = []
    for directory, subdirectories, names in os.walk(ROOT):
        here = Path(directory).relative_to(ROOT)
        subdirectories[:] = sorted(
            d for d in subdirectories if d not in SKIP_DIRS and not _skipped(here / d / "x", patterns)
        )
        for name in sorted(names):
            path = Path(directory) / name
            if not path.is_symlink() and not _skipped(here / name, patterns):
                files.append(path)
    return files


def _text(path: Path) -> str | None:
    data = path.read_bytes()[:MAX_BYTES]
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _looks_like_a_generated_key(value: str) -> bool:
    """A long random string of several character classes, like get_random_secret_key()'s output."""
    classes = sum(
        [
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        ]
    )
    return len(value) >= 40 and classes >= 3 and _entropy(value) >= 4.5 and " " not in value


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def _is_allowed(relative: str, value: str, *, password: bool) -> bool:
    if value in ALLOWED.get(relative, ()) or PLACEHOLDER.match(value.strip()):
        return True
    if _fingerprint(value) in ALLOWED_FINGERPRINTS.get(relative, ()):
        return True
    if password and relative.startswith(TEST_DIRS):
        return value in TEST_PASSWORDS or bool(FAKE_WORD.search(value))
    return False


def _findings(path: Path, text: str) -> list[str]:
    relative = path.relative_to(ROOT).as_posix()
    found = []

    def add(line_no: int, what: str) -> None:
        found.append(f"{relative}:{line_no}: {what}")

    for number, line in enumerate(text.splitlines(), 1):
        if PRIVATE_KEY.search(line):
            add(number, "a private key")
        if AWS_KEY_ID.search(line):
            add(number, "an AWS access key id")
        for match in AWS_SECRET.finditer(line):
            if not _is_allowed(relative, match["value"], password=False):
                add(number, "an AWS secret access key")
        for match in URL_CREDENTIALS.finditer(line):
            if not _is_allowed(relative, match["value"], password=False):
                add(number, "a password in a URL")
        for index, pattern in enumerate(PASSWORD_LITERALS):
            if index == 2 and path.suffix == ".py":
                continue  # in Python an unquoted value is a name, not a literal
            for match in pattern.finditer(line):
                value = match["value"]
                template = "{" in value and "}" in value  # f"guess-{i}"
                if len(value) >= 4 and not template and not _is_allowed(relative, value, password=True):
                    add(number, f"a password literal ({len(value)} characters)")
        keys = {m["value"] for pattern in SECRET_KEY_LITERALS for m in pattern.finditer(line)}
        keys = {v for v in keys if not v.startswith("django-insecure")}  # production refuses these
        keys |= {m["value"] for m in KEY_LIKE.finditer(line) if _looks_like_a_generated_key(m["value"])}
        for value in sorted(keys):
            if not _is_allowed(relative, value, password=False):
                add(number, f"a secret-key-like literal ({len(value)} characters)")
    return found


# --- the repository ---------------------------------------------------------------------------------------


def test_the_scan_sees_the_repository_and_skips_what_a_commit_would_not_hold():
    files = {p.relative_to(ROOT).as_posix() for p in _repository_files()}
    assert {"manage.py", "config/settings/base.py", "partnerships/resources.py", "README.md"} <= files
    assert not [f for f in files if f.startswith((".venv/", "var/", ".git/", "test-artifacts/"))]
    assert not [f for f in files if f.endswith(".mo") or "/__pycache__/" in f]
    patterns = _ignored_by_gitignore()
    assert ".env" in patterns  # a local .env (which may hold a real key) is never committed


def _sample(template: str, *chunks: str) -> str:
    """A sample line: the value is assembled from short chunks so this file itself holds no sample secret."""
    return template.replace("§", "".join(chunks))


def test_the_patterns_catch_what_they_are_for():
    sample = ROOT / "partnerships" / "sample.py"
    cases = [
        (_sample("-----BEGIN § PRIVATE KEY-----", "RSA"), "a private key"),
        (_sample("aws_access_key_id = §", "AKIA", "ABCDEFGH", "IJKLMNOP"), "an AWS access key id"),
        (
            _sample("aws_secret_access_key = §", "wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYEXAMPLEKEY"),
            "an AWS secret",
        ),
        (_sample('DATABASE_URL = "postgres://app:§@db.internal/app"', "hunter2"), "a password in a URL"),
        (_sample('password = "§"', "Hunter2", "-prod"), "a password literal"),
        (_sample('user.set_password("§")', "Hunter2", "-prod"), "a password literal"),
        (_sample("DB_PASSWORD=§", "Hunter2", "-prod"), "a password literal"),
        (_sample('SECRET_KEY = "§"', "prod-key-", "abcdefghij", "klmnopq"), "a secret-key-like literal"),
        (
            _sample('KEY = "§"', "q9#Vt2$Lm7@Xe4!", "Rb8%Zp1^Wc6&Ny3*", "Hd5(Gf0)Js"),
            "a secret-key-like literal",
        ),
    ]
    for line, what in cases:
        if line.startswith("DB_PASSWORD"):
            found = _findings(ROOT / "docs" / "sample.env", line)
        else:
            found = _findings(sample, line)
        assert found and what in found[0], (line, found)
    for harmless in (
        'SECRET_KEY = env("DJANGO_SECRET_KEY")',
        'DATABASE_URL = "postgres://postgres@127.0.0.1:5432/scorecard"',
        'password = "…"',
        "password = form.cleaned_data['password']",
        _sample('sha = "§"', "3f786850e387550fdab836ed", "7e6dc881de23001b3f786850e3"),
    ):
        assert not _findings(sample, harmless), harmless
    test_only = _sample('PASSWORD = "§"', "pw-for-", "tests-only")
    assert not _findings(ROOT / "tests" / "sample.py", test_only)
    assert _findings(ROOT / "config" / "sample.py", test_only)  # allowed in tests only


def test_the_repository_holds_no_secret():
    findings = []
    for path in _repository_files():
        text = _text(path)
        if text is not None:
            findings += _findings(path, text)
    assert not findings, (
        "possible secrets (allow a test-only value in ALLOWED with its reason):\n" + "\n".join(findings)
    )


# --- the logs ---------------------------------------------------------------------------------------------

PASSWORD = "Log-Check-Pw-7Qz!Kc42"
WRONG_PASSWORD = "Log-Check-Wrong-9Xv!Lm13"
TOKEN_URL = "/api/v1/auth/token/"


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def all_logs(caplog):
    """Every logger at DEBUG; returns every record (caplog's, plus those of loggers that do not propagate)."""
    caplog.set_level(logging.DEBUG)
    extra = _Records()
    changed = []
    for logger in list(logging.root.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger):
            continue
        changed.append((logger, logger.level, logger.disabled))
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if not logger.propagate:
            logger.addHandler(extra)
    yield lambda: [*caplog.records, *extra.records]
    for logger, level, disabled in changed:
        logger.setLevel(level)
        logger.disabled = disabled
        if extra in logger.handlers:
            logger.removeHandler(extra)


def _record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args), record.stack_info or ""]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    for key, value in vars(record).items():
        if key not in ("msg", "args", "exc_info", "exc_text", "stack_info"):
            try:
                parts.append(f"{key}={value!r}")
            except Exception as exc:  # a repr that fails is reported, not hidden
                parts.append(f"{key}=<repr failed: {exc!r}>")
    return "\n".join(parts)


def _leaks(records, *secrets: str) -> list[str]:
    leaks = []
    for record in records:
        text = _record_text(record)
        for secret in secrets:
            if secret in text:
                leaks.append(f"{record.name} {record.levelname}: {record.getMessage()[:200]}")
    return leaks


@pytest.fixture
def member(db):
    user = UserFactory(username="log_check_user", password=None)
    user.set_password(PASSWORD)
    user.save()
    MembershipFactory(user=user, bank=BankFactory(code="bank-log"), role="analyst")
    return user


@pytest.mark.django_db
def test_admin_sign_in_logs_no_password(member, client, all_logs):
    url = reverse("admin:login")
    wrong = client.post(url, {"username": member.username, "password": WRONG_PASSWORD, "next": "/admin/"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session
    right = client.post(url, {"username": member.username, "password": PASSWORD, "next": "/admin/"})
    assert right.status_code == 302 and client.session["_auth_user_id"] == str(member.pk)
    assert client.get("/admin/").status_code == 200
    records = all_logs()
    assert records, "nothing was captured: the check would prove nothing"
    assert not _leaks(records, PASSWORD, WRONG_PASSWORD)
    # django-axes keeps its own log of attempts in the database: the password is masked there too.
    for row in [*AccessAttempt.objects.all(), *AccessLog.objects.all(), *AccessFailureLog.objects.all()]:
        stored = repr(vars(row))
        assert PASSWORD not in stored and WRONG_PASSWORD not in stored


@pytest.mark.django_db
def test_api_sign_in_and_token_use_log_neither_password_nor_token(member, all_logs):
    api = APIClient()
    refused = api.post(TOKEN_URL, {"username": member.username, "password": WRONG_PASSWORD}, format="json")
    assert refused.status_code == 400
    # The API takes JSON bodies only (issue 16): a form body is refused before it is parsed, and logged no more.
    form = api.post(TOKEN_URL, {"username": member.username, "password": WRONG_PASSWORD}, format="multipart")
    assert form.status_code == 415
    issued = api.post(TOKEN_URL, {"username": member.username, "password": PASSWORD}, format="json")
    assert issued.status_code == 200
    token = issued.json()["token"]

    signed_in = APIClient()
    signed_in.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert signed_in.get("/api/v1/initiatives/").status_code == 200
    assert signed_in.get("/api/v1/no-such-endpoint/").status_code == 404
    wrong_token = token[::-1]
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Token {wrong_token}")
    assert forged.get("/api/v1/initiatives/").status_code == 401
    assert signed_in.delete(TOKEN_URL).status_code == 204
    assert signed_in.get("/api/v1/initiatives/").status_code == 401  # the revoked token, now unknown

    records = all_logs()
    assert [r for r in records if r.levelno >= logging.WARNING], "the 4xx answers were not logged"
    assert not _leaks(records, PASSWORD, WRONG_PASSWORD, token, wrong_token)


@pytest.mark.django_db
def test_sql_logging_stays_off_at_the_configured_levels(member, settings, caplog):
    """With DEBUG's SQL logging on, the token is in the SQL of its lookup. LOGGING keeps django.db.backends at
    WARNING, so even DJANGO_LOG_LEVEL=DEBUG does not print it; at DEBUG it would."""
    from partnerships.api.token_cache import token_cache_forget

    sql_logger = logging.getLogger("django.db.backends")
    assert settings.LOGGING["loggers"]["django.db.backends"]["level"] == "WARNING"
    assert sql_logger.level == logging.WARNING  # as configured at start-up
    caplog.set_level(logging.DEBUG)  # the root at DEBUG, as with DJANGO_LOG_LEVEL=DEBUG
    issued = APIClient().post(TOKEN_URL, {"username": member.username, "password": PASSWORD}, format="json")
    token = issued.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    connection.force_debug_cursor = True  # what DEBUG = True does
    try:
        assert client.get("/api/v1/initiatives/").status_code == 200
        assert not _leaks(caplog.records, token, PASSWORD)
        caplog.set_level(logging.DEBUG, logger="django.db.backends")  # what the configuration prevents
        token_cache_forget(token_key=token)  # so that this request reads the token again (token cache)
        assert client.get("/api/v1/initiatives/").status_code == 200
        assert _leaks(caplog.records, token), "the check would not see a token in the SQL log"
    finally:
        connection.force_debug_cursor = False
