"""Settings for the sponsored-content product, read from the environment.

Every value has a safe default for local development (SQLite, local-memory cache); production
sets DEBUG=0 and the variables listed in the README.
"""

import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from cms.env import env_bool, env_int, env_list, env_str
from cms.request_log import configure_structlog

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)

_DEV_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The admin with the two-factor sign-in (cms.admin_signin.StaffAdminSite).
    "cms.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "adminsortable2",
    "django_prose_editor",
    # Audit history (issue 15, part 4): cms/history.py.
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "django_structlog",
    "cms",
    "sponsors",
]

MIDDLEWARE = [
    # First: forwarded headers are dropped unless a trusted proxy sent them (cms/proxies.py).
    "cms.proxies.ForwardedHeadersMiddleware",
    # Next: its line times the whole request and every response carries X-Request-ID.
    "cms.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise: static files go out without a policy; so do JSON and body-less answers
    # (cms.security_headers: the ad hot path does not build a policy no browser applies).
    "cms.security_headers.ContentSecurityPolicyMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Over-long addresses (414) and what Django refuses to read (400) in the API's error
    # format under /api/ (cms/request_limits.py).
    "cms.request_limits.RequestLimitsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a session that still owes its second factor is no sign-in.
    "cms.middleware.SecondFactorMiddleware",
    # Audit history: the request's user (the session's, or the API token's once DRF has
    # authenticated it) is who a history row names.
    "cms.history.AuditRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Near the end, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
    # Innermost: a view that raised because the database did not answer answers 503.
    "cms.outages.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "cms.urls"
WSGI_APPLICATION = "cms.wsgi.application"
ASGI_APPLICATION = "cms.asgi.application"

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
                # {{ CSP_NONCE }}: the nonce of this response's inline <script>/<style>.
                "csp.context_processors.nonce",
            ],
            # The reference pages' filters (cms.site is no app of its own).
            "libraries": {"site": "cms.site.templatetags"},
        },
    },
]

# SQLite file by default; DATABASE_URL switches to PostgreSQL (or any dj-database-url URL).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", default=60),
        # Database restarts (issue 15, item 6): a kept connection is checked before each
        # request reuses it, so a restarted PostgreSQL is picked up without an app restart.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # While the database is down, a request fails within this many seconds (then a 503,
    # cms.outages) instead of waiting on the network: a refused connection fails at once.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DB_CONNECT_TIMEOUT", default=3
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout keep concurrent writers (tracking, admin) from failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", default="")
# How long to wait on Redis. The ad hot path (decision, beacons, clicks) gives up after
# ADS_REDIS_TIMEOUT and counts in the database for ADS_REDIS_RETRY_AFTER seconds before
# trying Redis again (sponsors.versions.breaker); the admin, the cache and ads_flush wait
# REDIS_TIMEOUT (django-redis would wait 5 s, and redis-py retries).
REDIS_TIMEOUT = env_int("REDIS_TIMEOUT_MS", default=1000) / 1000
ADS_REDIS_TIMEOUT = env_int("ADS_REDIS_TIMEOUT_MS", default=50) / 1000
# The dashboard warns once counts have waited in Redis this long since the last flush (s).
ADS_FLUSH_STALE_AFTER = env_int("ADS_FLUSH_STALE_AFTER", default=60)
ADS_REDIS_RETRY_AFTER = env_int("ADS_REDIS_RETRY_AFTER", default=5)
# The slots of an article page (GET /api/v1/pages/articles/<slug>/), and which of them is the
# promo strip: slot keys, as the ad decision takes them.
ARTICLE_PAGE_SLOTS = env_list(
    "ARTICLE_PAGE_SLOTS", default=["sitewide-strip", "leaderboard", "article-sidebar"]
)
ARTICLE_PAGE_PROMO_SLOT = env_str("ARTICLE_PAGE_PROMO_SLOT", default="sitewide-strip")
for _key in [*ARTICLE_PAGE_SLOTS, ARTICLE_PAGE_PROMO_SLOT]:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,49}", _key):
        raise ImproperlyConfigured(f"ARTICLE_PAGE_SLOTS: {_key!r} is not a slot key.")
if not 1 <= len(ARTICLE_PAGE_SLOTS) <= 10:
    raise ImproperlyConfigured("ARTICLE_PAGE_SLOTS: give 1 to 10 slot keys.")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", default="sc"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_TIMEOUT,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "sponsored-content",
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Times are stored in UTC; TIME_ZONE is only how the admin displays and reads them.
TIME_ZONE = env_str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = env_str("MEDIA_URL", default="/media/")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
SERVE_MEDIA = env_bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Upload limits for every image field (see cms/images.py).
IMAGE_MAX_BYTES = env_int("IMAGE_MAX_BYTES", default=10 * 1024 * 1024)
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", default=40_000_000)
# Issue 15, images: the memory one decoded frame may take (width x height x bytes per pixel),
# checked before decoding. The default fits every image within IMAGE_MAX_PIXELS at 4 bytes
# per pixel; lower it to bound small workers.
IMAGE_MAX_DECODE_BYTES = env_int("IMAGE_MAX_DECODE_BYTES", default=160 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

# Hostile input (issue 15, point 1): the longest address (path and query string, as sent)
# the app answers; longer ones get a 414. Granian answers 65,535 bytes and more itself (an
# empty 414), so the limit must stay under that for every long address to get the app's.
MAX_URL_LENGTH = env_int("MAX_URL_LENGTH", default=8192)
if not 256 <= MAX_URL_LENGTH <= 65_000:
    raise ImproperlyConfigured("MAX_URL_LENGTH must be between 256 and 65000.")

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", default=[])

# Where the API's `page_url` fields point: the reference pages of this site ("", the
# request's own host) or another front end's base, such as "https://www.example.com".
SITE_PAGE_BASE_URL = env_str("SITE_PAGE_BASE_URL", default="").rstrip("/")
if SITE_PAGE_BASE_URL and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", SITE_PAGE_BASE_URL):
    raise ImproperlyConfigured(
        "SITE_PAGE_BASE_URL: give an http(s) URL such as https://www.example.com/news."
    )

# CDN purge hooks (sponsors/purgers.py): who is told which surrogate keys a save invalidated.
CDN_PURGER = env_str("CDN_PURGER", default="none")
CDN_PURGE_URLS = env_list("CDN_PURGE_URLS", default=[])
CDN_PURGE_METHOD = env_str("CDN_PURGE_METHOD", default="PURGE").upper()
CDN_PURGE_HEADER = env_str("CDN_PURGE_HEADER", default="xkey-purge")
CDN_PURGE_TIMEOUT = env_int("CDN_PURGE_TIMEOUT_MS", default=2000) / 1000
CORS_URLS_REGEX = r"^/api/.*$"

REST_FRAMEWORK = {
    # Tags by audience, readable operation ids, a request component per media type.
    "DEFAULT_SCHEMA_CLASS": "cms.api.schema.AudienceAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cms.api.authentication.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PAGINATION_CLASS": "cms.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # django-filter held to what the schema declares (empty values, unknown slugs).
    "DEFAULT_FILTER_BACKENDS": ["cms.api.filters.FilterBackend"],
    "EXCEPTION_HANDLER": "cms.api.errors.exception_handler",
    # DRF's parsers, refusing text no database can hold in any field (cms/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "cms.api.parsers.JSONParser",
        "cms.api.parsers.FormParser",
        "cms.api.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_THROTTLE_RATES": {
        "submissions": env_str("SUBMISSION_RATE", default="20/hour"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Sponsored content API",
    "DESCRIPTION": (
        "Articles, topics, authors, sponsors, partner submissions, ad decisions, tracking and "
        "countdowns for the publisher's front ends."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The three audiences (cms.api.schema tags every operation with one), in this order.
    "TAGS": [
        {
            "name": "public",
            "description": "Anonymous and cacheable: articles, topics, authors, sponsors, "
            "insights, trending, countdowns, the article page, and the ad decision with its "
            "impression, click and read beacons. No token.",
        },
        {
            "name": "partner",
            "description": "A sponsor's partner login (`Authorization: Token <key>`, issued "
            "by ad-ops): send content for editorial review and follow it.",
        },
        {
            "name": "ad-ops",
            "description": "Staff automation (`Authorization: Token <key>` of a staff "
            "account, whose model permissions apply as in the admin): slots, campaigns, "
            "creatives, sponsors, labels, sponsorships, countdowns and the delivery report.",
        },
    ],
    # Swagger UI served from our own static files: docs work without any CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Show each operation's id: generated clients name their functions after it.
    "SWAGGER_UI_SETTINGS": {"displayOperationId": True},
    "REDOC_DIST": "SIDECAR",
    # The ad-serving hot path documents its HEAD and OPTIONS (drf-spectacular lists neither).
    "PREPROCESSING_HOOKS": ["sponsors.api.ads.document_head_and_options"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cms.api.errors.document_service_unavailable",
        "cms.api.errors.document_request_limits",
        "cms.api.authentication.document_token_throttle",
        # Pages past the last answer 404 (schemathesis, issue 15).
        "cms.api.pagination.document_page_not_found",
        "cms.api.payloads.document_conditional_gets",
    ],
    # Choice sets that share a field name ("kind") across apps get explicit names.
    "ENUM_NAME_OVERRIDES": {
        "ArticleKindEnum": "cms.models.Article.Kind",
        "CreativeKindEnum": "sponsors.models.inventory.Creative.Kind",
        "InventoryStateEnum": "sponsors.models.inventory.State",
        "SponsorshipStateEnum": "sponsors.sponsorships.SponsorshipState",
        "CountdownStateEnum": ["open", "closed"],
    },
}

LOGIN_URL = "admin:login"

# Sign-in that resists attack (README "Sign-in and security").
# django-axes counts failed sign-ins (admin and /partners/) per username and client address
# together, so an attacker elsewhere never locks the real user out; a lockout always ends
# after the cool-off (failures during it do not extend it).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out sign-in
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "cms.proxies.client_ip"
AXES_LOCKOUT_CALLABLE = "cms.admin_signin.locked_out"
AXES_VERBOSE = False  # a lockout is logged once by axes, not on every attempt
# Failed API token authentications per client address: past the limit within the window,
# every token request from that address answers 429 until the window ends.
TOKEN_AUTH_FAILURE_LIMIT = env_int("TOKEN_AUTH_FAILURE_LIMIT", default=20)
TOKEN_AUTH_FAILURE_WINDOW = env_int("TOKEN_AUTH_FAILURE_WINDOW", default=300)
# Two-factor sign-in (TOTP, django-otp) for superusers and these groups; optional in
# development so the demo logins sign in with a password alone.
OTP_REQUIRED = env_bool("OTP_REQUIRED", default=not DEBUG)
OTP_REQUIRED_GROUPS = env_list("OTP_REQUIRED_GROUPS", default=["Ad ops"])
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", default="Sponsored content")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # superusers reset a device, never read its secret
# Reverse proxies whose X-Forwarded-Proto and X-Forwarded-For are believed (addresses or
# networks); nobody's by default, so a client cannot claim https or another address.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network."
        ) from None
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Production hardening: on whenever DEBUG is off (check --deploy passes with the README's values).
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    # Each may be switched off for an install that needs it (README "Production settings");
    # check --deploy --fail-level WARNING then says what that costs.
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# Structured logs (issue 15, headers and deployment; django-structlog + structlog): every line
# on stderr as JSON (LOG_FORMAT=json, production's default) or logfmt key=value (logfmt,
# development's), through the redaction of cms.request_log. One line per request
# (cms.request_log.RequestLogMiddleware; LOG_REQUESTS=0 keeps only those of 4xx and 5xx)
# with request_id, user, role, method, path, status and duration_ms; every other line of
# that request carries its request_id too. Django's own "Not Found: …" warnings are left out
# (the request line says it).
LOG_FORMAT = env_str("LOG_FORMAT", default="logfmt" if DEBUG else "json")
if LOG_FORMAT not in ("json", "logfmt"):
    raise ImproperlyConfigured("LOG_FORMAT: give json or logfmt.")
_log_level = env_str("LOG_LEVEL", default="WARNING").upper()
LOG_REQUESTS = env_bool("LOG_REQUESTS", default=True)
configure_structlog()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {"()": "cms.request_log.structured_formatter", "log_format": LOG_FORMAT}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": _log_level},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # runserver's own request lines (make run), redacted like the rest.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Content-Security-Policy (issue 15, headers and deployment; django-csp 4). One policy for
# every page: the admin, /partners/, the reference pages, the error pages and /api/docs/.
# Scripts and styles come from this origin or carry the response's nonce (templates write
# nonce="{{ CSP_NONCE }}" on their few inline <style>/<script>; the prose editor's import map
# gets it through its media); no 'unsafe-inline', no 'unsafe-eval'. Images from this origin,
# data: (icons of the admin and Swagger UI) and MEDIA_URL's/STATIC_URL's origin when those
# are absolute (a CDN).
# CSP_REPORT_ONLY=1 sends the same policy as Content-Security-Policy-Report-Only instead (to
# try it on a live site first); CSP_REPORT_URI names where browsers post violation reports.
_csp_report_only = env_bool("CSP_REPORT_ONLY", default=False)
_csp_report_uri = env_str("CSP_REPORT_URI", default="")
_csp_asset_origins = sorted(
    {
        m.group(0)
        for url in (MEDIA_URL, STATIC_URL)
        if (m := re.match(r"https?://[^/]+", url)) is not None
    }
)
# Tiptap (inside django-prose-editor, pinned to 0.28.x) injects its base ProseMirror
# stylesheet as a <style> without a nonce: that one text is allowed by its hash
# (tests/test_csp.py recomputes it from the installed editor.js).
CSP_PROSE_EDITOR_STYLE_HASH = "'sha256-PlumsSlvJ7vvWzjqibGAYKq92O3y/4JTxWWsWJvyUYA='"
_csp_directives: dict[str, list[Any]] = {
    "default-src": [SELF],
    "script-src": [SELF, NONCE, *_csp_asset_origins],
    "style-src": [SELF, NONCE, CSP_PROSE_EDITOR_STYLE_HASH, *_csp_asset_origins],
    "img-src": [SELF, "data:", *_csp_asset_origins],
    "font-src": [SELF, *_csp_asset_origins],
    "connect-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
}
if _csp_report_uri:
    _csp_directives["report-uri"] = [_csp_report_uri]
if _csp_report_only:
    CONTENT_SECURITY_POLICY = None
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _csp_directives}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _csp_directives}
