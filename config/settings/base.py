"""Settings shared by every environment, read from the process environment (django-environ).

Defaults give the embedded set-up: a SQLite file and a filesystem Celery broker under ``var/``, so the
whole service (web, worker, beat) runs with no outside server. ``DATABASE_URL`` and ``REDIS_URL`` switch
to PostgreSQL and Redis.
"""

import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from django_guid.integrations import CeleryIntegration

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(environ.Env().str("SCORECARD_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(str(BASE_DIR / ".env"))

# --- Core -------------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="django-insecure-local-only-not-for-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SIMPLE_HISTORY_REVERT_DISABLED = True  # a revert would bypass validation and tenancy checks

# A Celery worker or beat process serves no HTTP: it loads the admin app without autodiscovering every app's
# admin module (and with them import-export's resources, openpyxl, tablib) and leaves out the apps that only
# serve HTTP: less memory in each of a prefork worker's three processes (docs/performance.md).
IS_CELERY_PROCESS = Path(sys.argv[0]).name == "celery" and any(a in sys.argv for a in ("worker", "beat"))
INSTALLED_APPS = [
    "django.contrib.admin.apps.SimpleAdminConfig" if IS_CELERY_PROCESS else "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "import_export",
    "django_celery_beat",
    "django_celery_results",
    "axes",
    # The second factor of local accounts (TOTP and recovery codes; partnerships.signon, docs/sign-on.md).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_guid",  # the request id (X-Request-ID) of every response, log line and the tasks a request causes
    "django_prometheus",
    "partnerships",
    "scoring",
    "config.ops",  # /healthz, /readyz, /metrics and the request id's plumbing (config/ops/, docs/deploy.md)
]
if (
    IS_CELERY_PROCESS
):  # apps with no models that serve only HTTP: the API schema, its assets, admin import/export
    INSTALLED_APPS = [
        a for a in INSTALLED_APPS if a not in ("drf_spectacular", "drf_spectacular_sidecar", "import_export")
    ]

MIDDLEWARE = [
    # First: every response, the ops endpoints' included, carries X-Request-ID (an incoming one is kept when it is
    # sane, ops.request_id), and every log line of the request and of the tasks it causes carries it too.
    "config.ops.request_id.RequestIdHeaderMiddleware",
    "django_guid.middleware.guid_middleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # /healthz, /readyz and /metrics, answered before host checks, the HTTPS redirect, sessions and transactions:
    # a load balancer or a scraper reaches the process by its address, over plain HTTP (ops.middleware).
    "config.ops.middleware.OpsEndpointsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (hashed, compressed, cached for a year) straight from STATIC_ROOT, in every settings module.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before anything reads the body (CSRF reads admin forms): NUL bytes and the size limit, chunked bodies too.
    "config.middleware.RequestGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(), then the gate that holds a password sign-in until its second factor.
    "django_otp.middleware.OTPMiddleware",
    "partnerships.signon.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Just outside axes, so the status it counts is the one sent (a lockout's 429 included).
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Role-based model permissions come from bank memberships (see partnerships.auth), on top of Django's own.
AUTHENTICATION_BACKENDS = [
    # First: django-axes refuses logins for a username + address after repeated failures (brute force).
    "axes.backends.AxesStandaloneBackend",
    # Local passwords, then the bank's directory and identity provider when configured (partnerships.signon).
    "partnerships.signon.backends.LocalPasswordBackend",
    "partnerships.signon.backends.DirectoryBackend",
    "partnerships.signon.backends.IdentityProviderBackend",
    "partnerships.auth.MembershipRoleBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Brute-force protection for the admin and token logins (django-axes): 5 failures for one username from
# one address lock that pair out for 15 minutes; a successful login resets the count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "axes/lockout.html"
AXES_HTTP_RESPONSE_CODE = 429

# --- Database ---------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write side by side: WAL plus IMMEDIATE transactions, or writers fail with
    # "database is locked" (measured: 718 of 1,000 concurrent tasks without IMMEDIATE; see shared NOTES).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Reconnecting per request cut the detail endpoint's rate about tenfold on this machine.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env.bool(
        "DJANGO_PG_JIT", False
    ):
        # PostgreSQL's JIT compiler spent 0.8–1.8 s compiling each of the weekly report's portfolio-wide
        # queries at 100k initiatives, more than they took to run; the short queries never reach it.
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
        "DJANGO_PG_PREPARED", True
    ):
        # Statements read through the backend's prepared cursor (the API's initiative reads) are planned once
        # per connection after this many runs; Django's own cursors never prepare (config/db/postgresql/base.py).
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend with a health check that needs no round trip while the socket is quiet
        # (config/db/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "config.db.postgresql"
IS_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"

# --- Cache and Celery broker ------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Redis redelivers an unacknowledged (acks_late) task only after the visibility timeout: keep it
        # above the longest task's hard time limit.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        # How often a worker looks for unacknowledged messages past their timeout (fault tests lower these).
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
        "unacked_mutex_expire": env.int("CELERY_UNACKED_MUTEX_EXPIRE", default=300),
        "socket_connect_timeout": 3,
    }
    # A request must not hang when the broker is down: fail fast, the job stays queued for the sweeper.
    CELERY_TASK_PUBLISH_RETRY_POLICY = {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    # kombu's filesystem transport with whole-file writes (config/broker.py: a consumer never reads a message
    # half-written, which stopped the worker): an embedded broker with no server. At-most-once when the whole
    # worker is killed, which is why queued/running ScoreJobs are swept and re-enqueued periodically.
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "out").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "scorecardfs://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        # Fanout (remote control, pidbox) files: kept under var/ too, or kombu writes them to ./control.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }

CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_ENABLE_UTC = True
CELERY_TASK_TIME_LIMIT = 10 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 9 * 60
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Internationalisation ---------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
# locale_overrides/: our translations of third-party messages, kept out of the catalogue makemessages rewrites.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_overrides"]
# Number grouping per language (config/formats): grouped figures read 3,438 in Chinese as in English.
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# --- Static and uploaded files ----------------------------------------------------------------------
STATIC_URL = "static/"
# `manage.py collectstatic` (make setup, and every deployment) fills it; WhiteNoise serves it.
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Content-hashed names (admin/css/base.<hash>.css) with gzip copies: a browser keeps them for a year and a
    # deployment never serves a stale one. With DEBUG on, names stay plain and WhiteNoise reads the apps' folders.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Evidence uploads: size and type limits are enforced by partnerships.validators.
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=10 * 1024 * 1024)
EVIDENCE_EXTENSIONS = ["pdf", "png", "jpg", "jpeg", "xlsx", "docx", "pptx", "csv", "txt"]
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Every request body (config.middleware): 5 MB, chunked bodies included; a multipart upload may carry an evidence
# file up to EVIDENCE_MAX_BYTES plus the form around it.
REQUEST_MAX_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
UPLOAD_MAX_BYTES = EVIDENCE_MAX_BYTES + 1024 * 1024
# JSON bodies nested deeper than this are refused (400) before any view walks them.
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
# How long an Idempotency-Key's first answer is replayed (partnerships.api.idempotency); older records are purged.
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)

# --- Import / export --------------------------------------------------------------------------------
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# --- Logging ----------------------------------------------------------------------------------------
# Every line carries the request id (``-`` outside a request or task). LOG_FORMAT=json: one JSON object a line
# (python-json-logger) with time, level, logger, request_id and message, for a log shipper.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    # False, or Celery's own loggers go silent.
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.ops.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {
            "()": "config.ops.logging.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "json_ensure_ascii": False,
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    # django_guid logs every id it reads or makes at INFO: noise, the id is on every line anyway.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "django_guid": {"level": "WARNING"}},
}

# --- Operations: request ids, health, metrics (config/ops/, docs/deploy.md) --------------------------------
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    # ops.request_id.RequestIdHeaderMiddleware has already dropped an incoming id that is not sane (1–64 of
    # A-Z a-z 0-9 . _ : -); django-guid's own check would accept only UUIDs, refusing e.g. a proxy's ids.
    "VALIDATE_GUID": False,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": True,
    # Carries the id into the tasks a request publishes (a task header) and sets it while the task runs.
    "INTEGRATIONS": [CeleryIntegration()],
}
# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it answers nobody.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# /readyz: a worker must answer a ping within READYZ_WORKER_TIMEOUT seconds; the answer (or its absence) is kept
# READYZ_WORKER_CACHE_SECONDS in the cache, so a load balancer may call every few seconds. Beat is late when the
# most frequent periodic task (the score-job sweeper, every minute) last ran longer ago than its interval plus
# READYZ_BEAT_GRACE_SECONDS.
READYZ_WORKER_TIMEOUT = env.float("READYZ_WORKER_TIMEOUT", default=2.0)
READYZ_WORKER_CACHE_SECONDS = env.float("READYZ_WORKER_CACHE_SECONDS", default=5.0)
READYZ_BEAT_GRACE_SECONDS = env.int("READYZ_BEAT_GRACE_SECONDS", default=60)
# Beat writes a periodic task's last run to the database after every task it sends (not every 3 minutes), so
# /readyz reads how recent beat's last run really is.
CELERY_BEAT_SYNC_EVERY = 1

# --- Application ------------------------------------------------------------------------------------
SCORECARD_REPORT_STALE_DAYS = env.int("SCORECARD_REPORT_STALE_DAYS", default=30)
# Items kept in each of a report's lists (failed gates, stale scores, KPIs), most urgent first; counts cover all.
SCORECARD_REPORT_LIST_LIMIT = env.int("SCORECARD_REPORT_LIST_LIMIT", default=1000)
SCORECARD_REPORT_TIMEZONE = "Asia/Shanghai"
# On PostgreSQL, outside a transaction, a report's failed-gates, stale and KPI sections are worked out in two threads
# beside the rest, each on a database connection of its own (so a report holds up to three connections); and
# Python's cyclic garbage collector waits while a report is built and saved (scoring/reports/build.py,
# docs/performance.md). Either can be turned off here; the payload is the same either way.
SCORECARD_REPORT_CONCURRENT = env.bool("SCORECARD_REPORT_CONCURRENT", default=True)
SCORECARD_REPORT_PAUSE_GC = env.bool("SCORECARD_REPORT_PAUSE_GC", default=True)
# Rubric version 2's partner strength marks a partner's figures stale when their period ended more than this many
# days before the scoring date (548 ≈ 18 months, RUBRIC.md "Version 2"); the value is stored with each score.
SCORECARD_PARTNER_FIGURES_STALE_DAYS = env.int("SCORECARD_PARTNER_FIGURES_STALE_DAYS", default=548)
# Joint-lending limits (partnerships.limit_rules): a bank's figures (tier-1 net capital, total loans) serve a month
# when their period ended at most this many days before the month's end (92: quarterly figures serve their quarter);
# older or none, and the limits that need them are "unknown".
LIMIT_FIGURES_MAX_AGE_DAYS = env.int("LIMIT_FIGURES_MAX_AGE_DAYS", default=92)
# Webhooks (issue 14, docs/webhooks.md): connect and read timeouts of a delivery (seconds), the back-off between
# attempts (seconds, after the 1st, 2nd, … failed attempt, each ± 10 % jitter; the last value repeats), the attempts
# before a delivery is failed, and whether http://127.0.0.1 / localhost endpoints are accepted (tests, local runs).
WEBHOOKS_CONNECT_TIMEOUT = env.float("WEBHOOKS_CONNECT_TIMEOUT", default=3.0)
WEBHOOKS_READ_TIMEOUT = env.float("WEBHOOKS_READ_TIMEOUT", default=10.0)
WEBHOOKS_BACKOFF_SECONDS = [
    int(s) for s in env.list("WEBHOOKS_BACKOFF_SECONDS", default=["30", "120", "600", "3600", "21600"])
]
WEBHOOKS_MAX_ATTEMPTS = env.int("WEBHOOKS_MAX_ATTEMPTS", default=6)
WEBHOOKS_ALLOW_HTTP_LOCALHOST = env.bool("WEBHOOKS_ALLOW_HTTP_LOCALHOST", default=False)
SCORECARD_BASE_URL = env("SCORECARD_BASE_URL", default="")  # for links in report e-mails
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="scorecard@localhost")
# Fault-injection only: seconds a score chunk waits before it commits, so a test can kill a worker mid-task.
SCORING_FAULT_DELAY = env.float("SCORING_FAULT_DELAY", default=0.0)
# Demo users' password: taken from the environment, else generated once by seed_demo and kept in
# var/demo-credentials.txt (never in the repository).
SCORECARD_DEMO_PASSWORD = env("SCORECARD_DEMO_PASSWORD", default="")

# --- REST API ---------------------------------------------------------------------------------------
# /api/v1/ (config.api): token or session auth; every queryset scoped to the user's banks; one JSON error shape
# (config.api_errors); numbered pages with a cursor switch; throttles per user, per anonymous caller (by IP) and
# for sign-in and scoring requests. Rates are "N/second|minute|hour|day".
API_THROTTLE_RATES = {
    "anon": env("API_THROTTLE_ANON", default="60/minute"),
    "user": env("API_THROTTLE_USER", default="1200/minute"),
    "auth": env("API_THROTTLE_AUTH", default="10/minute"),
    "scoring": env("API_THROTTLE_SCORING", default="120/minute"),
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous request then gets 401 with WWW-Authenticate: Token, not 403.
        "partnerships.api.authentication.TokenAuthentication",  # DRF's, with the bank roles in one query
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "partnerships.api.pagination.ApiPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=25),
    # JSON bodies only (the schema then offers one media type a request, and generated clients send JSON); the
    # file imports set partnerships.api.parsers.MultiPartParser on their own actions.
    "DEFAULT_PARSER_CLASSES": ["partnerships.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        # DRF's throttles counted in fixed windows: one Redis round trip a request (see the module).
        "partnerships.api.throttling.AnonRateThrottle",
        "partnerships.api.throttling.UserRateThrottle",
        "partnerships.api.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": API_THROTTLE_RATES,
    # Anonymous callers are throttled by address; trust X-Forwarded-For only behind this many proxies.
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
    "EXCEPTION_HANDLER": "config.api_errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.api_errors.ApiAutoSchema",
    "COERCE_DECIMAL_TO_STRING": False,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Partnership Scorecard API",
    "DESCRIPTION": (
        "Bank–tech partnership initiatives, their scores against versioned rubrics, score jobs and reports. "
        "Sign in with POST /api/v1/auth/token/ and send `Authorization: Token <token>`. You see the banks you "
        "belong to: viewers read, analysts write initiatives and assessments and ask for scores, managers also "
        "approve. Another bank's object answers 404. Errors: "
        '`{"error": {"status", "code", "message", "fields"?, "extra"?}}`. Lists: `?page=` (default) or '
        "`?pagination=cursor` (then follow next/previous), `page_size` from 1 to 200. Request bodies are JSON "
        "(application/json); only file uploads take multipart/form-data. A query parameter outside its stated "
        "type, bounds or values, or given with no value, is a 400 naming it; `search` may be empty."
    ),
    "VERSION": "1.0.0",
    # OpenAPI 3.1 (JSON Schema 2020-12): a nullable nested object is oneOf [$ref, {type: null}], which strict
    # validators (openapi-core) and client generators (openapi-python-client) read as meant; 3.0's
    # "nullable: true" beside an allOf is refused by openapi-core.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "DEFAULT_GENERATOR_CLASS": "config.api_errors.EnglishSchemaGenerator",  # identifiers never follow the language
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl None: Swagger UI would otherwise fetch a badge from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "InitiativeStatusEnum": "partnerships.choices.InitiativeStatus",
        "PillarKeyEnum": "partnerships.choices.PillarKey",
        "PartnerRoleEnum": "partnerships.choices.PartnerRole",
        "BankRoleEnum": "partnerships.choices.Role",
        "PersonalDataCategoryEnum": "partnerships.choices.PersonalDataCategory",
        "LawfulBasisEnum": "partnerships.choices.LawfulBasis",
        "TransferMechanismEnum": "partnerships.choices.TransferMechanism",
        "MetricUnitEnum": "partnerships.choices.MetricUnit",
        "ScenarioGroupEnum": "partnerships.choices.ScenarioGroup",
        "BankTypeEnum": "partnerships.choices.BankType",
        "LendingProductEnum": "partnerships.choices.LendingProduct",
        "TriStateEnum": "partnerships.choices.TriState",  # yes / no / unknown facts (the contract register)
        "ProvinceEnum": "partnerships.choices.Province",
        "LimitKindEnum": "partnerships.choices.LimitKind",
        "LimitStatusEnum": "partnerships.choices.LimitStatus",
        "AssessmentStatusEnum": "scoring.choices.AssessmentStatus",
        "VersionStatusEnum": "scoring.choices.VersionStatus",
        "JobStatusEnum": "scoring.choices.JobStatus",
        "JobKindEnum": "scoring.choices.JobKind",
        "TierEnum": "scoring.choices.Tier",
        "CriterionSourceEnum": "scoring.choices.CriterionSource",
        "ReportKindEnum": "scoring.models.report.ReportKind",
        "ReportStatusEnum": "scoring.models.report.ReportStatus",
        "WebhookEventTypeEnum": "partnerships.choices.WebhookEventType",
        "WebhookDeliveryStatusEnum": "partnerships.choices.WebhookDeliveryStatus",
    },
}

# --- Sign-on: LDAP / AD, OIDC and the second factor, from the environment (docs/sign-on.md) -------------
from .signon import *  # noqa: E402, F403
