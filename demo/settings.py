"""Settings of the demo marketplace. Not for production: DEBUG-friendly defaults and the
demo mailbox. Environment: SECRET_KEY, DATABASE_URL, REDIS_URL, EMAIL_HOST/EMAIL_PORT, PORT."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from demo.secret import SECRET_KEY_FILE, demo_secret_key
from demo.shared_settings import *  # noqa: F403  (the mailbox, order messages, logging)
from demo.shared_settings import SQLITE_OPTIONS

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = demo_secret_key(SECRET_KEY_FILE)
DEBUG = os.environ.get("DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "anymail",
    "axes",
    "ninja",
    "order_messages",
    "demo.store",
    "demo.mailbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Where Django's docs put it: after the session, before CommonMiddleware (which resolves
    # URLs in the active language) and everything that renders.
    "django.middleware.locale.LocaleMiddleware",
    # The browser's time zone, from the cookie store.js sets (pages show times in it).
    "order_messages.time_zone.BrowserTimeZoneMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "order_messages.middleware.DatabaseUnavailableMiddleware",
    # django-axes: answers a locked-out login with 429 (last, as its docs ask).
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy (django-csp): scripts, styles and everything else from this site
# only; no inline script, no eval, no plugins, no framing. A page that needs more (the demo
# mailbox's e-mail preview) says so with django-csp's decorators.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

ROOT_URLCONF = "demo.urls"
ASGI_APPLICATION = "demo.asgi.application"
WSGI_APPLICATION = "demo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "order_messages.context_processors.order_messages",
                "demo.store.context_processors.demo",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI each request runs its sync code in a thread of its own, so a persistent
    # connection (one per thread) would mean a new connection per request; a pool keeps
    # them open across requests. With CONN_HEALTH_CHECKS (above) the pool tests each
    # connection before handing it out, so those a database restart broke are dropped.
    # After a failed connect the pool waits ever longer before the next try (up to minutes);
    # giving up after 5 s instead lets the next request try at once, so the site is back
    # as soon as the database is.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "pool": {"min_size": 2, "max_size": 8, "timeout": 10, "reconnect_timeout": 5}
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = dict(SQLITE_OPTIONS)

AUTH_PASSWORD_VALIDATORS = []
# Login throttling is the store's job, not the app's; the demo does it as a Django store
# would, with django-axes: after AXES_FAILURE_LIMIT wrong passwords for one account from
# one address, that pair is refused (429, even the right password) for AXES_COOLOFF_TIME.
# Others, and that account from elsewhere, can still log in. Counted in the database, so
# every server process sees the same.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The attempts table is what throttles; a row for every successful login is not needed.
AXES_DISABLE_ACCESS_LOG = True
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/start/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en"
# English is the default; a visitor gets German from their browser (Accept-Language) or
# from the language chooser in the footer, which sets the language cookie.
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
# The demo's own catalogue; the app ships its own in order_messages/locale.
LOCALE_PATHS = [BASE_DIR / "demo" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Uploaded attachments (the default storage). They are served only through the app's
# access-checked view, never from a public URL: no MEDIA_URL is routed.
MEDIA_ROOT = os.environ.get("MEDIA_ROOT") or BASE_DIR / "media"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

ORDER_MESSAGES_ADAPTER = "demo.store.adapter.DemoStoreAdapter"
ORDER_MESSAGES_BASE_TEMPLATE = "base.html"
# The demo's own webhook receiver (seed_demo --webhook-receiver) is on this machine, which
# outgoing webhooks may otherwise not reach; a real store lists only internal receivers here.
ORDER_MESSAGES_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1", "::1"]

# Inbound mail through a provider's webhook: /anymail/mailgun/inbound/ (Mailgun signs its
# calls with MAILGUN_WEBHOOK_SIGNING_KEY) and /anymail/postmark/inbound/ (basic auth with
# WEBHOOK_SECRET); other providers' URLs answer 404. The check `order_messages.E002`
# refuses a provider that would be open to anyone.
ORDER_MESSAGES_INBOUND_PROVIDERS = ("mailgun", "postmark")
ANYMAIL = {
    "WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET", "demo:demo"),
    "MAILGUN_WEBHOOK_SIGNING_KEY": os.environ.get("MAILGUN_WEBHOOK_SIGNING_KEY", "demo"),
}
