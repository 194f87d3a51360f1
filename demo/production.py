"""Settings for running the marketplace for real (DJANGO_SETTINGS_MODULE=demo.production):
secrets and addresses from the environment, HTTPS only, the demo's mailbox and webhook
receiver absent. Passes ``manage.py check --deploy``.

Environment: SECRET_KEY, ALLOWED_HOSTS (comma-separated), SITE_URL (https://...),
DATABASE_URL, REDIS_URL, EMAIL_HOST/EMAIL_PORT/EMAIL_HOST_USER/EMAIL_HOST_PASSWORD,
SECURE_SSL_REDIRECT (0 where the proxy in front already redirects); for inbound mail through
a provider's webhook, INBOUND_PROVIDERS (comma-separated, default "mailgun,postmark"; empty:
none) with ANYMAIL_WEBHOOK_SECRET (user:password, Postmark and others) and
MAILGUN_WEBHOOK_SIGNING_KEY (Mailgun). ``check --deploy`` fails while a named provider's
webhook would be open to anyone or is not configured.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .settings import *  # noqa: F403
from .settings import CONTENT_SECURITY_POLICY, TEMPLATES


def required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"Set {name} in the environment (see demo/production.py).")
    return value


DEBUG = False
SECRET_KEY = required("SECRET_KEY")
ALLOWED_HOSTS = [host.strip() for host in required("ALLOWED_HOSTS").split(",") if host.strip()]
ORDER_MESSAGES_SITE_URL = required("SITE_URL")
CSRF_TRUSTED_ORIGINS = [ORDER_MESSAGES_SITE_URL]

# The demo's pages that show every e-mail and webhook are for the demo only.
DEMO_MAILBOX = False
INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "demo.mailbox"]  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "1") == "1"
# Only the providers named here are mounted (order_messages.inbound_urls); each needs its
# secret, which has no default here: the system check order_messages.E002/E003 says which.
ORDER_MESSAGES_INBOUND_PROVIDERS = tuple(
    name.strip()
    for name in os.environ.get("INBOUND_PROVIDERS", "mailgun,postmark").split(",")
    if name.strip()
)
# Webhooks go to public addresses only; a receiver on the store's own network is named
# here (comma-separated addresses or networks).
ORDER_MESSAGES_WEBHOOK_ALLOWED_NETWORKS = [
    n.strip() for n in os.environ.get("WEBHOOK_ALLOWED_NETWORKS", "").split(",") if n.strip()
]
ANYMAIL = {
    name: value
    for name, value in (
        ("WEBHOOK_SECRET", os.environ.get("ANYMAIL_WEBHOOK_SECRET", "").strip()),
        ("MAILGUN_WEBHOOK_SIGNING_KEY", os.environ.get("MAILGUN_WEBHOOK_SIGNING_KEY", "").strip()),
    )
    if value
}

# HTTPS only, behind a proxy that says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS") or 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The demo's policy, and a page that still names an http:// address fetches it over HTTPS.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {**CONTENT_SECURITY_POLICY["DIRECTIVES"], "upgrade-insecure-requests": True}
}

# Static files are collected (manage.py collectstatic) and served by WhiteNoise.
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

TEMPLATES[0]["OPTIONS"]["debug"] = False
