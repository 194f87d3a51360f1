"""The demo marketplace as measured: production-like (DEBUG off), plus the framework floor
at /bench/floor/ and the page floor at /bench/page/. DATABASE_URL selects the generated
database."""

from demo.settings import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.urls"
# Only the request's own work is measured: no Redis round trips for live events.
ORDER_MESSAGES_REDIS_URL = None
# A few customers post thousands of times a second: the load a rate limit exists to refuse.
ORDER_MESSAGES_POST_RATE_LIMIT = None
LOGGING = {"version": 1, "disable_existing_loggers": False}
TEMPLATES[0]["DIRS"] = [BASE_DIR / "bench" / "templates"]  # noqa: F405
# Static files come from the apps (WHITENOISE_USE_FINDERS); nothing is collected.
STATIC_ROOT = None
# Login throttling (django-axes) guards the login form, which no scenario posts to; the
# peer runs without it too.
MIDDLEWARE = [m for m in MIDDLEWARE if "axes" not in m]  # noqa: F405
SILENCED_SYSTEM_CHECKS = ["axes.W002"]  # its middleware is left out on purpose (above)
