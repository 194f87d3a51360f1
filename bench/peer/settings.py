"""django-postman, the Django messaging app a marketplace would otherwise pick, measured
beside django-order-messages: the same middleware and server, its own database
(PEER_DATABASE_URL) on the same PostgreSQL, loaded with the same people and messages.

Postman is set up as its documentation recommends for a site: dj-pagination for its
folders, moderation off (messages are accepted at once), no e-mail sent in the request.
"""

import os

import dj_database_url

from demo.settings import LANGUAGES  # noqa: F401 — the same languages as the demo
from demo.settings import MIDDLEWARE as DEMO_MIDDLEWARE

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "dj_pagination",
    "postman",
]
# The demo's, without htmx (postman has none) and the demo's login throttling (django-axes,
# which the measured pages never reach and bench/settings.py leaves out too).
MIDDLEWARE = [m for m in DEMO_MIDDLEWARE if "htmx" not in m and "axes" not in m] + [
    "dj_pagination.middleware.PaginationMiddleware"
]
ROOT_URLCONF = "bench.peer.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [
            os.path.join(os.path.dirname(__file__), "templates"),
            os.path.join(os.path.dirname(__file__), "..", "templates"),
        ],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "postman.context_processors.inbox",
            ],
            # Postman ships a stand-in "pagination_tags" that shows every row; Django picks
            # the last app's library of a name, so dj-pagination's is named here.
            "libraries": {"pagination_tags": "dj_pagination.templatetags.pagination_tags"},
        },
    }
]
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/om_bench_peer"),
    )
}
# As in the demo: a connection pool, since under ASGI every request has its own thread.
DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 2, "max_size": 8, "timeout": 10}}
USE_I18N = True
LANGUAGE_CODE = "en"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "/static/"
STATIC_ROOT = None  # the benchmark asks for no static file
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGIN_URL = "/accounts/login/"
POSTMAN_AUTO_MODERATE_AS = True
POSTMAN_DISABLE_USER_EMAILING = True
SILENCED_SYSTEM_CHECKS = ["templates.W003"]  # the two "pagination_tags": see TEMPLATES
