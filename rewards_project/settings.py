"""Settings, read from the environment (twelve-factor).

Every knob is an environment variable; the README lists them. PostgreSQL is the one
database: ``make run`` and ``make test`` start an embedded one when there is no other.
"""

import os
import re
import zoneinfo
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import environ
import pghistory
from django.core.exceptions import ImproperlyConfigured

from rewards_project.devenv import DEFAULT_DATABASE_URL

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

# Management commands (migrations, checks) run without a key; serving with DEBUG off
# refuses this one (see wsgi.py), so production must set SECRET_KEY.
INSECURE_DEVELOPMENT_KEY = "insecure-development-key-never-serve-with-it"
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEVELOPMENT_KEY)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "core.errors.csrf_failure"

INSTALLED_APPS = [
    # First, so its admin/base_site.html (the program's accent on admin's header) is the one found.
    "core",
    "django.contrib.admin",
    "django.contrib.humanize",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Who changed what: audit triggers (core/audit.py, docs/AUDIT.md).
    "pgtrigger",
    "core.apps.AuditConfig",  # pghistory, named "Audit" in admin
    "rewards",
    "loyalty",
]

MIDDLEWARE = [
    "core.logging.RequestLogMiddleware",
    "core.middleware.HealthCheckMiddleware",
    "core.middleware.RequestGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # django-cors-headers' CorsMiddleware, cheaper for a request without an Origin.
    "core.middleware.OriginCorsMiddleware",
    # Sessions, CSRF, the user and messages serve the site only (admin, docs): API
    # requests pass by them (core/middleware.py, SiteOnly).
    "core.middleware.SiteSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.SiteCsrfViewMiddleware",
    "core.middleware.SiteAuthenticationMiddleware",
    # After the site's user is known: admin changes carry the staff user, API ones the app.
    "core.audit.AuditContextMiddleware",
    "core.middleware.SiteMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "rewards_project.urls"
WSGI_APPLICATION = "rewards_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    # PostgreSQL is the one database. `make run` and `make test` start an embedded one when
    # there is no other (deploy/embedded_postgres.py) and set DATABASE_URL to it; manage.py and
    # the Celery worker in a second terminal find `make run`'s there (rewards_project/devenv.py).
    "default": env.db_url("DATABASE_URL", default=DEFAULT_DATABASE_URL),
}
# Persistent connections: a new PostgreSQL connection per request costs more than
# most of our requests do.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Transactions belong to the service functions, so locks are held only as long as
# the service needs them.
DATABASES["default"]["ATOMIC_REQUESTS"] = False

# A request never outlives its answer: every database wait is bounded, each well
# below gunicorn's worker timeout (GUNICORN_TIMEOUT, 30 s), so a request that was
# answered 503 was rolled back and a retry cannot double a write. 0 turns one off.
DB_CONNECT_TIMEOUT = env.int("DB_CONNECT_TIMEOUT", default=3)  # seconds; libpq's minimum is 2
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=5_000)
# A request waiting for a row lock holds a worker: a customer whose row something else holds
# (a long import, a stuck session) must not hold them all. An API write waits at most this
# long, then answers 503 with Retry-After (safe to retry with its Idempotency-Key). Among
# the app's own requests a row is held for milliseconds, and at most one per worker waits.
DB_LOCK_TIMEOUT_MS = env.int("DB_LOCK_TIMEOUT_MS", default=100)
DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = env.int("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", default=10_000)
# Behind PgBouncer in transaction pooling, each transaction may run on another server
# connection: nothing may live in the session. No server-side cursors, no startup options
# (set the timeouts on the database instead: docs/ARCHITECTURE.md).
DB_TRANSACTION_POOLING = env.bool("DB_TRANSACTION_POOLING", default=False)
if env.bool("LOYALTY_BACKGROUND", default=False):
    # Set by manage.py (migrate, check_ledger, imports) and by the Celery worker and beat: no
    # client waits on them, so they wait longer for a row an API request holds.
    DB_LOCK_TIMEOUT_MS = env.int("DB_BACKGROUND_LOCK_TIMEOUT_MS", default=3_000)
if env.bool("LOYALTY_MANAGEMENT_COMMAND", default=False):
    # Set by manage.py for commands, whose statements may rightly run for minutes.
    DB_STATEMENT_TIMEOUT_MS = env.int("DB_COMMAND_STATEMENT_TIMEOUT_MS", default=0)


def postgres_session_options(*, statement_ms: int, lock_ms: int, idle_in_transaction_ms: int) -> str:
    """libpq ``options``: server settings for every session the app opens."""
    return (
        f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms}"
        f" -c idle_in_transaction_session_timeout={idle_in_transaction_ms}"
    )


def postgres_settings(database: dict, *, connect_timeout: int) -> dict:
    """Bounded waits for a PostgreSQL alias, and what transaction pooling needs."""
    options = database.setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", connect_timeout)
    if DB_TRANSACTION_POOLING:
        database["DISABLE_SERVER_SIDE_CURSORS"] = True
    else:
        options.setdefault(
            "options",
            postgres_session_options(
                statement_ms=DB_STATEMENT_TIMEOUT_MS,
                lock_ms=DB_LOCK_TIMEOUT_MS,
                idle_in_transaction_ms=DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
            ),
        )
    return database


# Django's PostgreSQL backend, with a health check that needs no round trip while the
# connection is quiet (core/postgresql/base.py).
POSTGRES_ENGINE = "core.postgresql"
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://…): it is the one database.")
DATABASES["default"]["ENGINE"] = POSTGRES_ENGINE
postgres_settings(DATABASES["default"], connect_timeout=DB_CONNECT_TIMEOUT)

# A streaming replica for the reads that tolerate lag (core/db_router.py): used
# while it answers and replays within DATABASE_REPLICA_MAX_LAG_SECONDS, else the primary.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=5.0)
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=1.0)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL) | {
        "ENGINE": POSTGRES_ENGINE,
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "ATOMIC_REQUESTS": False,
        # Tests read the replica as the primary (no second copy to keep in step).
        "TEST": {"MIRROR": "default"},
    }
    # A dead replica must cost as little as libpq allows before reads fall back.
    postgres_settings(DATABASES["replica"], connect_timeout=2)
DATABASE_ROUTERS = ["core.db_router.PrimaryReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# Dates and times in admin say their zone (rewards_project/formats/en/formats.py).
FORMAT_MODULE_PATH = "rewards_project.formats"
USE_I18N = True
USE_TZ = True
# What customers read (messages, the rewards page, the unsubscribe page) is in one of these;
# more are a translation file away (rewards/locale/, compiled by core/locale.py).
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "rewards" / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Out of DEBUG: hashed, compressed files from `collectstatic`, served by WhiteNoise with
    # far-future cache headers. The server refuses to start without them (wsgi.py).
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# API bodies are small JSON documents; anything larger is refused with 413.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
API_PATH_PREFIXES = ("/rewards-api/", "/loyalty-api/")

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(rewards-api|loyalty-api)/.*$"
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "token", "idempotency-key")

# The audit record (core/audit.py, docs/AUDIT.md): append-only tables, each row carrying its
# context (who, through which path) itself rather than pointing at a row that could change.
PGHISTORY_APPEND_ONLY = True
PGHISTORY_CONTEXT_FIELD = pghistory.ContextJSONField()
PGHISTORY_CONTEXT_ID_FIELD = pghistory.ContextUUIDField()
PGHISTORY_BASE_MODEL = "core.audit.AuditEvent"
PGHISTORY_ADMIN_MODEL = "pghistory.Events"
# pgtrigger installs triggers through migrations only, as every schema change here is made.
PGTRIGGER_INSTALL_ON_MIGRATE = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["loyalty.authentication.AppTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["loyalty.permissions.HasRequiredAccess"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["drf_orjson_renderer.renderers.ORJSONRenderer"],
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.JSONFirstNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_THROTTLE_CLASSES": ["loyalty.throttling.ApplicationRateThrottle"],
}

# Rate limits per application and per customer session ("N/s", "N/min", "N/hour");
# an empty value turns a limit off.
API_THROTTLE_RATES = {
    "application": env.str("THROTTLE_APPLICATION_RATE", default="3000/min") or None,
    "customer": env.str("THROTTLE_CUSTOMER_RATE", default="120/min") or None,
}
for _scope, _rate in API_THROTTLE_RATES.items():
    if _rate is not None and not re.fullmatch(r"[1-9][0-9]{0,8}/(s|sec|second|m|min|minute|h|hour|d|day)", _rate):
        raise ImproperlyConfigured(f"The {_scope} rate must read like 120/min (s, min, hour or day), not {_rate!r}.")

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty points service",
    "DESCRIPTION": "rewards-api/ (points ledger, catalog, redemptions) and loyalty-api/ (CLP API).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's assets come from drf-spectacular-sidecar: no CDN. (Redoc is not
    # served: its page pulls web fonts from Google.)
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.schema_postprocessing_hook",
    ],
    "SERVE_AUTHENTICATION": [],
    "ENUM_NAME_OVERRIDES": {
        "AccessLevelEnum": "loyalty.models.AccessLevel",
        "ClientAccessLevelEnum": ["Can_Read", "Can_Modify_Orders"],
    },
    "TAGS": [
        {"name": "rewards-api", "description": "The points ledger, catalog, redemptions and history."},
        {"name": "loyalty-api", "description": "The CLP API: applications, customer balance, orders."},
    ],
}

# Which model records the application that wrote a ledger row. The rewards app
# refers to it only through this setting, so it knows nothing of loyalty.
REWARDS_APPLICATION_MODEL = "loyalty.Application"
# The orders segments count (orders_placed, orders_returned, spent, days_since_last_order): a
# model with user_id, total_cost, completed_at, returned_at and returned_cost.
REWARDS_ORDER_MODEL = "loyalty.Order"

# The base points policy (docs/PROGRAM.md). These seed the three base earning rules when the
# database is first migrated; from then on the rules hold the policy, and staff change them
# through loyalty-api/rules or admin without a deploy.
PURCHASE_POINTS_PER_UNIT = Decimal(env.str("PURCHASE_POINTS_PER_UNIT", default="2"))
FEEDBACK_POINTS = env.int("FEEDBACK_POINTS", default=10)
ORDER_POINTS_RATE = Decimal(env.str("ORDER_POINTS_RATE", default="0.05"))
# Where the program's days are counted: rule weekdays and the periods of per-customer caps.
PROGRAM_TIME_ZONE = env.str("PROGRAM_TIME_ZONE", default="UTC")
try:
    zoneinfo.ZoneInfo(PROGRAM_TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"PROGRAM_TIME_ZONE must be a time zone such as Europe/Paris, not {PROGRAM_TIME_ZONE!r}."
    ) from None

# The points lifecycle (docs/API.md, Points policy). With these defaults every credit is
# available at once and never expires.
# Days an order's points stay pending after completed_at (a shop's return window).
ORDER_POINTS_PENDING_DAYS = env.int("ORDER_POINTS_PENDING_DAYS", default=0)
# Pending days for other credit kinds, e.g. "purchase=14,feedback=1".
CREDIT_PENDING_DAYS = env.dict("CREDIT_PENDING_DAYS", cast={"value": int}, default={})
if set(CREDIT_PENDING_DAYS) - {"earn", "purchase", "feedback"}:
    raise ImproperlyConfigured(
        "CREDIT_PENDING_DAYS takes earn, purchase and feedback (orders: ORDER_POINTS_PENDING_DAYS)."
    )
# Days points stay spendable once available; empty: they never expire.
POINTS_VALIDITY_DAYS = env.int("POINTS_VALIDITY_DAYS", default=None)
# What a point is worth in money, for the liability report (money per point).
POINT_VALUE = Decimal(env.str("POINT_VALUE", default="0.01"))
if not POINT_VALUE >= 0:
    raise ImproperlyConfigured("POINT_VALUE is money per point: 0 or more.")
# When a coupon's validity ends unused, give its points back (as a void does) or not.
COUPON_EXPIRY_REFUND = env.bool("COUPON_EXPIRY_REFUND", default=False)
# Points expiring within this many days count as expiring_points.
EXPIRY_NOTICE_DAYS = env.int("EXPIRY_NOTICE_DAYS", default=30)
# A period of days is at most a century: every date the service computes stays in range.
MAX_PERIOD_DAYS = 36_500
for _name, _days in [
    ("ORDER_POINTS_PENDING_DAYS", ORDER_POINTS_PENDING_DAYS),
    ("POINTS_VALIDITY_DAYS", POINTS_VALIDITY_DAYS or 0),
    ("EXPIRY_NOTICE_DAYS", EXPIRY_NOTICE_DAYS),
    *((f"CREDIT_PENDING_DAYS[{kind}]", days) for kind, days in CREDIT_PENDING_DAYS.items()),
]:
    if not 0 <= _days <= MAX_PERIOD_DAYS:
        raise ImproperlyConfigured(f"{_name} must be a number of days from 0 to {MAX_PERIOD_DAYS}, not {_days}.")

# Staff adjustments in admin larger than this (either way), or a debit that would
# take a balance below zero, need a second, confirming step.
ADMIN_ADJUSTMENT_CONFIRM_POINTS = env.int("ADMIN_ADJUSTMENT_CONFIRM_POINTS", default=10_000)

# Messages to customers (docs/MESSAGES.md). EMAIL_URL through django-environ: smtp://user:pass@host:25,
# smtp+tls://…:587, smtp+ssl://…:465, consolemail:// (printed), filemail:///.run/mail (a file each, in
# a folder of the project; filemail:////an/absolute/folder elsewhere: django-environ drops a slash).
# The default prints them: nothing leaves the machine until EMAIL_URL names a server.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
if EMAIL_FILE_PATH:  # noqa: F821 (set just above)
    EMAIL_FILE_PATH = str(BASE_DIR / EMAIL_FILE_PATH)  # noqa: F821 (an absolute path stays itself)
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Loyalty Rewards <rewards@localhost>")
# Where the unsubscribe links point: the address customers reach this service at.
MESSAGES_BASE_URL = env.str(
    "MESSAGES_BASE_URL", default=env.str("PUBLIC_BASE_URL", default="") or "http://localhost:8000"
).rstrip("/")
# A mailto: address for List-Unsubscribe beside the link (optional; the link alone is RFC 8058's).
MESSAGES_UNSUBSCRIBE_MAILTO = env.str("MESSAGES_UNSUBSCRIBE_MAILTO", default="")
# A server down or answering 4xx: tried again after base * 2^(tries - 1) seconds, up to this many tries.
MESSAGE_MAX_ATTEMPTS = env.int("MESSAGE_MAX_ATTEMPTS", default=8)
MESSAGE_RETRY_BASE_SECONDS = env.float("MESSAGE_RETRY_BASE_SECONDS", default=60)
# A message being sent is left alone this long; a worker that died meanwhile lets it go again then.
MESSAGE_SEND_LEASE_SECONDS = env.float("MESSAGE_SEND_LEASE_SECONDS", default=300)
# A coupon whose valid_until is this close gets its "about to expire" message.
COUPON_NOTICE_DAYS = env.int("COUPON_NOTICE_DAYS", default=3)

# Webhooks (docs/API.md, Events and webhooks).
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)  # private/loopback URLs (tests, LANs)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30)
WEBHOOK_PAUSE_AFTER_FAILURES = env.int("WEBHOOK_PAUSE_AFTER_FAILURES", default=50)

# Celery delivers webhooks and runs the scheduled jobs. The broker: Redis (redis://…), or on
# one machine with nothing installed, kombu's filesystem transport (filesystem://localhost/a/folder,
# or filesystem:// for .run/broker/: what `make run` uses when no broker is set), which every
# process of this machine naming the same folder shares. Without a broker events are still recorded
# (the beat's sweep, or `manage.py deliver_events`, sends them).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")


def filesystem_broker_options(url: str) -> dict[str, str]:
    """kombu's filesystem transport in the URL's folder: the queue's messages are files in
    queue/, the exchanges' bindings in control/ (created here: kombu never creates them)."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or parts.query:
        raise ImproperlyConfigured(f"A filesystem broker is filesystem://localhost/an/absolute/folder, not {url!r}.")
    folder = Path(parts.path) if parts.path not in ("", "/") else BASE_DIR / ".run" / "broker"
    queue, control = folder / "queue", folder / "control"
    for path in (queue, control):
        path.mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(queue), "data_folder_out": str(queue), "control_folder": str(control)}


if CELERY_BROKER_URL.startswith("filesystem:"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(CELERY_BROKER_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE = {
    "points-lifecycle": {"task": "rewards.tasks.points_lifecycle", "schedule": 3600.0},
    "birthdays": {"task": "rewards.tasks.birthdays", "schedule": 3600.0},
    "requalify-tiers": {"task": "rewards.tasks.requalify_tiers", "schedule": 3600.0},
    "expire-coupons": {"task": "rewards.tasks.expire_coupons", "schedule": 3600.0},
    "purge-idempotency-keys": {"task": "rewards.tasks.purge_idempotency_keys", "schedule": 3600.0},
    # At least daily, as docs/VERIFY.md promises: hourly, so a day never passes without one.
    "ledger-digest": {"task": "rewards.tasks.ledger_digest", "schedule": 3600.0},
    "webhook-sweep": {"task": "loyalty.tasks.deliver_webhooks", "schedule": 10.0},
    "notice-coupons": {"task": "rewards.tasks.notice_coupons", "schedule": 3600.0},
    "messages-send": {"task": "rewards.tasks.send_messages", "schedule": 10.0},
    "segment-awards-sweep": {"task": "rewards.tasks.segment_awards_sweep", "schedule": 10.0},
}
# How many members a bulk award credits in one transaction.
SEGMENT_AWARD_BATCH = env.int("SEGMENT_AWARD_BATCH", default=500)

# The ledger's digests (docs/VERIFY.md) are signed with Ed25519: the private key's 32-byte seed
# as 64 hex characters (`manage.py ledger_keygen` prints a new one). Serving with DEBUG off
# refuses to start without it (wsgi.py); `make run` makes a development key. Public keys of
# keys used before (comma-separated hex) are still trusted by verify_ledger after a rotation.
LEDGER_SIGNING_KEY = env.str("LEDGER_SIGNING_KEY", default="")
if LEDGER_SIGNING_KEY and not re.fullmatch(r"[0-9a-fA-F]{64}", LEDGER_SIGNING_KEY):
    raise ImproperlyConfigured("LEDGER_SIGNING_KEY is 64 hex characters (`manage.py ledger_keygen` prints one).")
LEDGER_RETIRED_PUBLIC_KEYS = env.list("LEDGER_RETIRED_PUBLIC_KEYS", default=[])
for _retired in LEDGER_RETIRED_PUBLIC_KEYS:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", _retired):
        raise ImproperlyConfigured(
            f"LEDGER_RETIRED_PUBLIC_KEYS holds public keys of 64 hex characters, not {_retired!r}."
        )

# What customers see on the rewards page (and staff in admin's header).
PROGRAM_NAME = env.str("PROGRAM_NAME", default="Loyalty Rewards")
# The page's accent colour, a CSS hex colour such as #0f766e.
PROGRAM_ACCENT_COLOR = env.str("PROGRAM_ACCENT_COLOR", default="#0f766e")
if not re.fullmatch(r"#(?:[0-9a-fA-F]{3}){1,2}", PROGRAM_ACCENT_COLOR):
    raise ImproperlyConfigured(
        f"PROGRAM_ACCENT_COLOR must be a hex colour such as #0f766e, not {PROGRAM_ACCENT_COLOR!r}."
    )
# Read directly: django-environ would take a leading "$" for a reference to another variable.
CURRENCY_SYMBOL = os.environ.get("CURRENCY_SYMBOL", "$")

# Customer sessions: how long a rewards-page token lives.
CUSTOMER_SESSION_TTL_SECONDS = env.int("CUSTOMER_SESSION_TTL_SECONDS", default=30 * 60)
# The service's public address (https://rewards.example.com), for links it hands out
# such as a customer session's rewards_page_url. Never taken from the request's Host
# header outside DEBUG: a forged Host would put a customer's token in a link elsewhere.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")
# Where the rewards page finds rewards-api/; empty means the origin that served it.
REWARDS_PAGE_API_BASE = env.str("REWARDS_PAGE_API_BASE", default="")

LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "core.logging.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "plain"}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Our handlers already answer every API error; the request logger's
        # "Bad Request"/"Not Found" warnings would only repeat them.
        "django.request": {"level": "ERROR"},
        # runserver's own line per request would repeat the request log's.
        "django.server": {"level": "WARNING"},
        "rewards.requests": {"level": env.str("REQUEST_LOG_LEVEL", default="INFO")},
    },
}

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients),
# SECURE_PROXY_SSL_HEADER=true lets Django know the request came over HTTPS.
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Strict-Transport-Security once the whole site is HTTPS-only (e.g. 31536000); 0 sends none.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # Admin's session and CSRF cookies travel only over HTTPS unless turned off (plain-HTTP
    # trials such as `docker compose up` on localhost set both to false).
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
