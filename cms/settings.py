"""Settings for the sponsored-content product, read from the environment.

Every value has a safe default for local development (SQLite, local-memory cache); production
sets DEBUG=0 and the variables listed in the README.
"""

import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from cms.env import env_bool, env_int, env_list, env_str

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
    "django.contrib.admin",
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
    "cms",
    "sponsors",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
        conn_health_checks=True,
    )
}
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
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

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
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PAGINATION_CLASS": "cms.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # django-filter held to what the schema declares (empty values, unknown slugs).
    "DEFAULT_FILTER_BACKENDS": ["cms.api.filters.FilterBackend"],
    "EXCEPTION_HANDLER": "cms.api.errors.exception_handler",
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
    # Swagger UI served from our own static files: docs work without any CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The ad-serving hot path documents its HEAD and OPTIONS (drf-spectacular lists neither).
    "PREPROCESSING_HOOKS": ["sponsors.api.ads.document_head_and_options"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cms.api.errors.document_service_unavailable",
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

# Production hardening: on whenever DEBUG is off (check --deploy passes with the README's values).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", default="WARNING")},
}
