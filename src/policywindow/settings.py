"""Settings for 政策兑现单一窗口.

One module, driven by environment variables so that the same code runs as the
embedded SQLite demo and as a production deployment on PostgreSQL:

- ``POLICYWINDOW_ENV``: ``development`` (default) or ``production``.
- ``DATABASE_URL``: defaults to the embedded SQLite file under the data dir.
- ``POLICYWINDOW_DATA_DIR``: where the SQLite file, uploads and keys live.
- ``SECRET_KEY``: required in production; generated once per data dir otherwise.
- ``REDIS_URL``: optional shared cache and rate-limit counters (sessions stay in the database).
- ``POLICYWINDOW_TRUSTED_PROXIES``: reverse proxies whose ``X-Forwarded-For`` is believed.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent.parent
ENVIRONMENT = os.environ.get("POLICYWINDOW_ENV", "development")
PRODUCTION = ENVIRONMENT == "production"

DATA_DIR = Path(os.environ.get("POLICYWINDOW_DATA_DIR", PROJECT_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    if PRODUCTION:
        raise RuntimeError("生产环境必须通过环境变量 SECRET_KEY 提供密钥")
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("DEBUG", "").lower() in {"1", "true", "yes"} and not PRODUCTION
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get(
        "ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver"
    ).split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]


def _trusted_proxies() -> list[str]:
    """Proxies whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated).

    Empty (the default) trusts nobody: the socket address is the client (core/requestctx.py).
    """
    entries = [
        p.strip()
        for p in os.environ.get("POLICYWINDOW_TRUSTED_PROXIES", "").split(",")
        if p.strip()
    ]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise RuntimeError(f"POLICYWINDOW_TRUSTED_PROXIES 含有无效的地址或网段：{exc}") from exc
    return entries


TRUSTED_PROXIES = _trusted_proxies()

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "policywindow.core",
    "policywindow.system",
    "policywindow.enterprises",
    "policywindow.policies",
    "policywindow.applications",
    "policywindow.workflow",
    "policywindow.api",
    "policywindow.notifications",
    "policywindow.finance",
    "policywindow.fundforms",
    "policywindow.archives",
    "policywindow.reforms",
    "policywindow.matching",
    "policywindow.space",
    "policywindow.dashboard",
]

MIDDLEWARE = [
    # First: its header goes on every response, the other middleware's and error pages too.
    "policywindow.core.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "policywindow.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "policywindow.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF: its check is the first to read request.POST (and so parse uploads) on pages.
    "policywindow.core.middleware.RejectTraversalUploadNamesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "policywindow.core.middleware.RejectUnsafeInputMiddleware",
    "policywindow.core.middleware.DomainErrorPageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "policywindow.system.middleware.SessionSecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "policywindow.system.middleware.AccessControlMiddleware",
]

ROOT_URLCONF = "policywindow.urls"
WSGI_APPLICATION = "policywindow.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "policywindow.system.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the demo's web process and worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(
        os.environ.get("DB_CONNECT_TIMEOUT", "3")
    )
    # Short OLTP queries and the board's aggregates: JIT compilation cost more than it saved
    # (4.4 s of a 4.5 s board query before its rewrite, docs/benchmarks.md).
    DATABASES["default"]["OPTIONS"]["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "system.User"
AUTHENTICATION_BACKENDS = ["policywindow.system.auth.PolicyWindowBackend"]
LOGIN_URL = "system:login"
LOGIN_REDIRECT_URL = "system:home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "policywindow.system.passwords.MinimumLengthValidator"},
    {"NAME": "policywindow.system.passwords.CharacterClassValidator"},
    {"NAME": "policywindow.system.passwords.NotContainingUsernameValidator"},
    {"NAME": "policywindow.system.passwords.CommonPasswordValidator"},
]

# The cache holds signed-in users' identities (system/identity.py): a Redis that does not answer
# must cost a request half a second, not hang it; in memory, room for every active user.
if REDIS_URL := os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    }

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_NAME = "pw_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# The real idle limit is the system parameter session.idle_minutes; this is the hard cap.
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
NODE_MODULES = Path(os.environ.get("POLICYWINDOW_NODE_MODULES", PROJECT_DIR / "node_modules"))
STATICFILES_DIRS = [
    PACKAGE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    # Alpine's CSP build: evaluates no expression with new Function (no 'unsafe-eval').
    ("vendor/alpinejs", NODE_MODULES / "@alpinejs" / "csp" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
]
# The CJK fonts every PDF is rendered with (core/pdf_render.py): shipped through npm (SIL OFL),
# regular and bold; the system's fontconfig file is kept for everything else.
_FONTS = NODE_MODULES / "@expo-google-fonts"
POLICYWINDOW_PDF_FONT_DIRS = [
    _FONTS / family / weight
    for family in ("noto-sans-sc", "noto-serif-sc")
    for weight in ("400Regular", "700Bold")
]
POLICYWINDOW_PDF_SYSTEM_FONTCONFIG = os.environ.get(
    "POLICYWINDOW_SYSTEM_FONTCONFIG", "/etc/fonts/fonts.conf"
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Outside production, serve assets straight from node_modules without collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# Uploads live outside the web root and are only served through permission checks.
MEDIA_ROOT = Path(os.environ.get("POLICYWINDOW_MEDIA_DIR", DATA_DIR / "uploads"))
MEDIA_URL = None
FILE_UPLOAD_PERMISSIONS = 0o640
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@policywindow.gov.cn")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "").lower() in {"1", "true", "yes"}
EMAIL_USE_SSL = os.environ.get("EMAIL_USE_SSL", "").lower() in {"1", "true", "yes"}
# A mail server that hangs must not hold the worker; the outbox retries later.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
# Dotted path of the SMS provider class (a subclass of notifications.sms.SmsBackend).
SMS_BACKEND = os.environ.get("SMS_BACKEND", "policywindow.notifications.sms.LogSmsBackend")
# The site's address as users reach it (e.g. https://zcdx.example.gov.cn), for links in emails.
POLICYWINDOW_SITE_URL = os.environ.get("POLICYWINDOW_SITE_URL", "").rstrip("/")

# Defaults for system parameters; the values in force live in the database.
POLICYWINDOW_TOTP_REQUIRED_DEFAULT = PRODUCTION
POLICYWINDOW_ORG_NAME = os.environ.get("POLICYWINDOW_ORG_NAME", "辽宁省营商环境建设局")
# 经费审批表 digital signature (docs/deployment.md): production configures its own PKCS#12;
# otherwise a key and self-signed certificate are made on first use in the signing directory,
# which must lie outside MEDIA_ROOT. Earlier certificates (after a key change) stay trusted.
POLICYWINDOW_SIGNING_DIR = Path(
    os.environ.get("POLICYWINDOW_SIGNING_DIR", DATA_DIR / "keys")
).resolve()
POLICYWINDOW_SIGNING_PKCS12 = os.environ.get("POLICYWINDOW_SIGNING_PKCS12", "")
POLICYWINDOW_SIGNING_PKCS12_PASSWORD = os.environ.get("POLICYWINDOW_SIGNING_PKCS12_PASSWORD", "")
POLICYWINDOW_SIGNING_TRUSTED_CERTS = [
    p.strip()
    for p in os.environ.get("POLICYWINDOW_SIGNING_TRUSTED_CERTS", "").split(",")
    if p.strip()
]

# Keys that never sit in the database (docs/security.md, "Keys"): the audit chain's MAC key and the
# personal-data encryption keys. Production takes them from POLICYWINDOW_KEY_<NAME> environment
# variables or from files the operator places here; elsewhere they are generated on first use.
POLICYWINDOW_KEY_DIR = Path(os.environ.get("POLICYWINDOW_KEY_DIR", DATA_DIR / "keys")).resolve()
# Signed checkpoints of the audit chain head, appended outside the database (docs/operations.md).
POLICYWINDOW_AUDIT_CHECKPOINT_DIR = Path(
    os.environ.get("POLICYWINDOW_AUDIT_CHECKPOINT_DIR", DATA_DIR / "audit-checkpoints")
).resolve()
POLICYWINDOW_AUDIT_CHECKPOINT_SECONDS = int(
    os.environ.get("POLICYWINDOW_AUDIT_CHECKPOINT_SECONDS", "60")
)

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "true").lower() != "false"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint and fontTools narrate every PDF at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # A forged or altered PDF is a verification verdict, not a fault worth a traceback.
        "pyhanko": {"level": "ERROR"},
        "pyhanko_certvalidator": {"level": "ERROR"},
    },
}

NINJA_PAGINATION_PER_PAGE = 20
APP_VERSION = "0.1.0"
APP_TITLE = _("政策兑现单一窗口")
