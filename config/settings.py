"""Quarterdeck settings: one file, every deployment difference read from the environment.

With nothing set (and DEBUG=1) the app runs on a SQLite file in the project folder.
Production sets SECRET_KEY, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS and DATABASE_URL; see
README "Configuration".
"""

import datetime
import os
from pathlib import Path

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.environment import (
    env_bool,
    env_currency,
    env_database,
    env_decimal,
    env_int,
    env_list,
    env_mapping,
    env_prices,
    env_rate,
    env_str,
    env_time_zone,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-dev-only-quarterdeck-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Environment variable SECRET_KEY must be set when DEBUG is off "
            "(generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = _DEV_SECRET_KEY
elif not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("Environment variable SECRET_KEY must not be the development key.")


def _is_origin(value: str) -> bool:
    return value.startswith(("http://", "https://")) and "://" in value and len(value) > 8


ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else []
)
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "Environment variable ALLOWED_HOSTS must be set when DEBUG is off "
        "(comma-separated host names, e.g. quarterdeck.example.com)."
    )
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", default=[], check=_is_origin, expected="an origin like https://host"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "simple_history",
    "csp",
    "axes",
    "core",
    "cost",
    "roadmap",
    # load_demo; holds no models and is never imported by the product apps.
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise (static files stay publicly cacheable), above the middleware that
    # add Vary: Cookie.
    "core.middleware.private_cache_control",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Puts a person's stored language into the language cookie when they sign in.
    "core.middleware.remembered_language",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a sign-in refused by the lockout into core.signin.locked_out's page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.roles.roles_context",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# Unset: a SQLite file in the project folder, so `make run` needs no server.
DATABASES = {
    "default": env_database("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two concurrent writers queue instead
        # of one failing with "database is locked" half-way through a transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, as in production: an in-memory database shared between threads reports
    # "table is locked" at once instead of waiting, so concurrency tests would lie.
    # One per process, so two test runs side by side do not delete each other's.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(
        BASE_DIR / f"test-db-{os.getpid()}.sqlite3"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Sign-in lockout (django-axes) -----------------------------------------------------
# After QUARTERDECK_SIGNIN_FAILURE_LIMIT failed sign-ins for one account, or from one
# address, within QUARTERDECK_SIGNIN_LOCKOUT_MINUTES of each other, that account and that
# address are refused (the password is not even checked) until that many minutes after
# the last failure. Counted in the database, so every worker counts the same failures.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("QUARTERDECK_SIGNIN_FAILURE_LIMIT", default=10, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(
    minutes=env_int("QUARTERDECK_SIGNIN_LOCKOUT_MINUTES", default=15, minimum=1)
)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A refused sign-in does not restart the wait: its password was not checked, so it gains
# an attacker nothing, and the person locked out can trust "try again in 15 minutes".
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "core.signin.locked_out"
AXES_CLIENT_IP_CALLABLE = "core.signin.client_address"
# Failures only: no row per successful sign-in kept forever, no start-up banner.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# Proxies in front of gunicorn that append the caller's address to X-Forwarded-For (1
# behind one TLS proxy); 0 takes the peer's address, which behind a proxy is the proxy's.
QUARTERDECK_PROXIES = env_int("QUARTERDECK_PROXIES", default=0)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ja", _("Japanese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates, numbers, money and quarters as each language writes them (core/formats).
FORMAT_MODULE_PATH = ["core.formats"]
TIME_ZONE = env_time_zone("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security -----------------------------------------------------------------------
# HTTPS=on (the default when DEBUG is off) is for a deployment behind a TLS-terminating
# proxy that sets X-Forwarded-Proto. HTTPS=off serves plain HTTP (compose on localhost).
HTTPS = env_bool("HTTPS", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=HTTPS)
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Scripts only from our own static files: nothing a user types can run as script.
# Inline style attributes are allowed (theme colours, Django admin); sanitised Markdown
# never carries a style attribute.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Email ----------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default="quarterdeck@localhost")
# Where links in emails point (no trailing slash).
QUARTERDECK_BASE_URL = env_str("QUARTERDECK_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["core.tokens.TokenRateThrottle"],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "core.roles.HasRole",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# Calls per token per period (DRF rate syntax: 600/min, 20/second), counted where every
# worker sees them: in the database (core.ApiCallCount), or in Redis when REDIS_URL is set.
QUARTERDECK_API_RATE = env_rate("QUARTERDECK_API_RATE", default="600/min")
REDIS_URL = env_str("REDIS_URL", default="")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        f"Environment variable REDIS_URL={REDIS_URL!r} is invalid: "
        "expected a redis://host:6379/0, rediss:// or unix:// URL."
    )
# The default cache (cached reports) stays in each worker's memory.
CACHES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
if REDIS_URL:
    CACHES["api-rate"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "quarterdeck",
        # A Redis that stops answering fails the call in seconds instead of hanging a worker.
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
# The cache alias the API rate is counted in; empty: the database.
QUARTERDECK_API_RATE_CACHE = "api-rate" if REDIS_URL else ""

# --- API documentation (drf-spectacular) ----------------------------------------------
# The schema and the docs page admit any Quarterdeck role, like the API root. Swagger UI
# comes from drf-spectacular-sidecar's static files: the Content-Security-Policy above
# allows scripts from 'self' only, so no CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "Quarterdeck API",
    "DESCRIPTION": (
        "Read-only access for finance's planning: BigQuery cost (reports, daily facts, "
        "FinOps FOCUS, imports and freshness), the roadmap (items with their scores, cost "
        "and benefit; quarters with capacity and planned effort) and error budgets (data "
        "products, incidents, budget status).\n\n"
        "Authenticate with an API token, `Authorization: Token <key>` (an admin issues it; "
        "`manage.py create_api_token`), or with a signed-in session. Each endpoint names the "
        "roles it admits. Money is a decimal string with its currency, never a float. "
        "Lists are paged with `limit` (1 to 500, default 100) and `offset`."
    ),
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated", "core.roles.HasRole"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No validator badge: it would load an image from swagger.io, which the CSP refuses.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "RoadmapItemStatusEnum": "roadmap.models.RoadmapItem.Status",
        "ConfidenceEnum": "roadmap.items.scoring.CONFIDENCE_CHOICES",
        "WsjfScaleEnum": "roadmap.items.scoring.WSJF_CHOICES",
    },
}

# --- Quarterdeck ----------------------------------------------------------------------
# The work cost allocation rules fund. Wiring, not a deployment choice: it lets the cost
# app (the data layer) point at the roadmap's items without importing the roadmap.
QUARTERDECK_WORK_ITEM_MODEL = "roadmap.RoadmapItem"
# Currency for amounts typed on the roadmap when the user does not choose one.
QUARTERDECK_DEFAULT_CURRENCY = env_currency("QUARTERDECK_DEFAULT_CURRENCY", default="USD")
# What one analyst hour saved is worth, in the default currency: turns "hours saved per
# month" into money for the payback period.
QUARTERDECK_HOUR_VALUE = env_decimal("QUARTERDECK_HOUR_VALUE", default="60")

# Usage days of billing facts are dates in this zone: Google's invoices and console
# reports cut days on US/Pacific time.
QUARTERDECK_BILLING_TIME_ZONE = env_time_zone(
    "QUARTERDECK_BILLING_TIME_ZONE", default="America/Los_Angeles"
)
# Memory the billing-file reader (DuckDB) may use before spilling to disk.
# Measured on 2 cores with a 1M-row export: 2 threads need about 224 MB (each reads
# with 32 MB buffers of its own); the whole import then peaks near 260 MB.
QUARTERDECK_INGEST_MEMORY_MB = env_int("QUARTERDECK_INGEST_MEMORY_MB", default=224, minimum=64)
QUARTERDECK_INGEST_THREADS = env_int("QUARTERDECK_INGEST_THREADS", default=2, minimum=1)
# Detailed and FOCUS billing exports name the resource of every row: per invoice month,
# day, billing account and SKU, the facts keep this many resources by cost and fold the
# rest into "(other)", so a large account's detailed export does not blow up the facts.
QUARTERDECK_RESOURCES_PER_SKU = env_int("QUARTERDECK_RESOURCES_PER_SKU", default=20, minimum=1)

# pull_billing refuses a query that would bill more than this (bytes); 0 = no cap.
QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED = env_int(
    "QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED", default=50 * 1024**3
)

# BigQuery job history (import_jobs, pull_jobs). A job's cost is an allocation at list
# prices, in USD: on-demand jobs pay bytes billed / 2^40 x the price per TiB of their
# region; jobs on a reservation pay slot-hours x the slot-hour price of the edition the
# reservation runs (QUARTERDECK_BQ_RESERVATION_EDITIONS maps reservation ids to editions).
QUARTERDECK_BQ_PRICE_PER_TIB = env_prices(
    "QUARTERDECK_BQ_PRICE_PER_TIB", default="us=6.25,eu=6.25,*=6.25"
)
QUARTERDECK_BQ_SLOT_HOUR_PRICE = env_prices(
    "QUARTERDECK_BQ_SLOT_HOUR_PRICE",
    default="standard=0.04,enterprise=0.06,enterprise_plus=0.10,*=0.06",
)
QUARTERDECK_BQ_RESERVATION_EDITIONS = env_mapping(
    "QUARTERDECK_BQ_RESERVATION_EDITIONS", default="*=enterprise"
)
# Query text can hold personal data: only its SHA-256 is kept unless this is on.
QUARTERDECK_JOBS_KEEP_QUERY_TEXT = env_bool("QUARTERDECK_JOBS_KEEP_QUERY_TEXT", default=False)
# Job rows older than this many days are folded into daily usage and deleted.
QUARTERDECK_JOBS_RETENTION_DAYS = env_int("QUARTERDECK_JOBS_RETENTION_DAYS", default=90, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", default="INFO")},
    # WeasyPrint logs every SVG property it skips and every step of a PDF at INFO.
    "loggers": {"weasyprint": {"level": "ERROR"}, "fontTools": {"level": "WARNING"}},
}
