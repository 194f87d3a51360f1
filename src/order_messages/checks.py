"""System checks (``manage.py check``, ``check --deploy``): inbound-mail webhooks that
anyone could call, or that answer 500 because their provider is not configured; and
attachment settings under which files could not be served, or would be served to anyone.

Mail from an inbound webhook is posted as the customer whose reply address it names, so a
webhook that does not authenticate its caller lets anyone write as anyone. django-anymail
only warns about that, at the first request; these checks refuse it before the site runs.
"""

import inspect
import warnings

from anymail.signals import inbound
from anymail.webhooks.base import AnymailCoreWebhookView
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages
from django.urls import URLPattern, URLResolver, get_resolver

from .conf import app_settings

OPEN = "open"


def inbound_view_problem(view_class) -> str:
    """ "" when calls to this anymail webhook view are authenticated; OPEN when anyone may
    call it; otherwise why it cannot run (what anymail says is missing).

    Asks anymail itself: the view is built as for a request, from the current settings, so
    each provider's own rule holds (basic auth with ``WEBHOOK_SECRET``, or the provider's
    signing key such as ``MAILGUN_WEBHOOK_SIGNING_KEY``)."""
    try:
        view = view_class()
    except ImproperlyConfigured as error:  # anymail's configuration errors, missing packages
        return str(error).strip() or type(error).__name__
    except Exception as error:  # noqa: BLE001 — e.g. a setting of the wrong type
        return f"{type(error).__name__}: {error}"
    if getattr(view, "warn_if_no_basic_auth", False) and not getattr(view, "basic_auth", None):
        return OPEN
    return ""


def mounted_inbound_views() -> dict[type, str]:
    """{view class: route} of every anymail inbound webhook in the root URLconf."""
    found: dict[type, str] = {}

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                view_class = getattr(pattern.callback, "view_class", None)
                if (
                    isinstance(view_class, type)
                    and issubclass(view_class, AnymailCoreWebhookView)
                    and view_class.signal is inbound
                ):
                    found.setdefault(view_class, prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns, "/")
    return found


def check_inbound_webhooks(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Every provider in ORDER_MESSAGES_INBOUND_PROVIDERS, and every anymail inbound
    webhook mounted some other way, must authenticate its callers."""
    from .inbound_urls import inbound_urlpatterns, known_providers

    if app_configs is not None and not any(c.name == "order_messages" for c in app_configs):
        return []
    messages: list[checks.CheckMessage] = []
    providers = app_settings.INBOUND_PROVIDERS
    if isinstance(providers, str):
        providers = (providers,)
    named = {}
    for provider in providers:
        patterns = inbound_urlpatterns((provider,))
        if not patterns:
            messages.append(
                checks.Error(
                    f"ORDER_MESSAGES_INBOUND_PROVIDERS names {provider!r}, which has no "
                    "inbound webhook in django-anymail.",
                    hint="Known: " + ", ".join(known_providers()) + ".",
                    id="order_messages.E001",
                )
            )
        else:
            named[patterns[0].callback.view_class] = provider
    try:
        mounted = mounted_inbound_views()
    except Exception:  # noqa: BLE001 — a broken URLconf is reported by Django's own check
        mounted = {}
    unconfigured_by_hand = []
    with warnings.catch_warnings():
        # anymail warns about an open webhook as it builds the view; here it is an error.
        warnings.simplefilter("ignore")
        for view_class in {**named, **mounted}:
            problem = inbound_view_problem(view_class)
            where = (
                f"ORDER_MESSAGES_INBOUND_PROVIDERS names {named[view_class]!r}"
                if view_class in named
                else f"{mounted[view_class]} is mounted"
            )
            if problem == OPEN:
                messages.append(
                    checks.Error(
                        f"{where}: its inbound webhook is open to anyone, who could post "
                        "as any customer whose reply address they name.",
                        hint="Set ANYMAIL = {'WEBHOOK_SECRET': 'user:password', …} (a long "
                        "random password) and give the provider the URL with those "
                        "credentials: https://user:password@shop.example/anymail/…",
                        id="order_messages.E002",
                    )
                )
            elif problem and view_class in named:
                messages.append(
                    checks.Error(
                        f"{where}, but its inbound webhook is not configured: {problem}",
                        hint="Configure the provider in ANYMAIL, or remove it from "
                        "ORDER_MESSAGES_INBOUND_PROVIDERS.",
                        id="order_messages.E003",
                    )
                )
            elif problem:
                unconfigured_by_hand.append(mounted[view_class])
    if unconfigured_by_hand:
        messages.append(
            checks.Warning(
                "Inbound webhooks of providers that are not configured are mounted and "
                "answer 500: " + ", ".join(sorted(unconfigured_by_hand)),
                hint='Mount only those in ORDER_MESSAGES_INBOUND_PROVIDERS: path("anymail/", '
                'include("order_messages.inbound_urls")) instead of anymail.urls.',
                id="order_messages.W001",
            )
        )
    return messages


# -- attachments ------------------------------------------------------------------------------

SERVE_MODES = ("django", "x-accel-redirect", "x-sendfile", "redirect")


def check_attachment_settings(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """ATTACHMENT_STORAGE names a configured storage, and ATTACHMENT_SERVE is a way that
    storage can serve files: a local path for X-Sendfile, signed expiring URLs for a
    redirect. Otherwise every file would answer 500, or a redirect would hand out a URL
    that opens the file for anyone, for ever."""
    if app_configs is not None and not any(c.name == "order_messages" for c in app_configs):
        return []
    alias = app_settings.ATTACHMENT_STORAGE
    how = app_settings.ATTACHMENT_SERVE
    messages: list[checks.CheckMessage] = []
    if how not in SERVE_MODES:
        messages.append(
            checks.Error(
                f"ORDER_MESSAGES_ATTACHMENT_SERVE is {how!r}, which is not a way to serve files.",
                hint="One of: " + ", ".join(repr(mode) for mode in SERVE_MODES) + ".",
                id="order_messages.E004",
            )
        )
    if alias not in storages.backends:
        messages.append(
            checks.Error(
                f"ORDER_MESSAGES_ATTACHMENT_STORAGE is {alias!r}, which is not in STORAGES.",
                hint="Name a STORAGES alias (configured: "
                + ", ".join(sorted(storages.backends))
                + "), or add one for attachments.",
                id="order_messages.E005",
            )
        )
        return messages
    try:
        storage = storages[alias]
    except Exception as error:  # noqa: BLE001 — a missing package, a bad option
        messages.append(
            checks.Error(
                f"The attachment storage {alias!r} cannot be created: {error}",
                hint="Fix its entry in STORAGES.",
                id="order_messages.E005",
            )
        )
        return messages
    backend = type(storage).__name__
    if how == "x-sendfile" and not has_local_paths(storage):
        messages.append(
            checks.Error(
                f"ORDER_MESSAGES_ATTACHMENT_SERVE is 'x-sendfile', but the attachment storage "
                f"{alias!r} ({backend}) keeps no local files for the web server to send.",
                hint="X-Sendfile needs a storage on the web server's disk, such as "
                "FileSystemStorage. For S3 and the like use 'redirect'; or 'django'.",
                id="order_messages.E006",
            )
        )
    if how == "redirect":
        problem = redirect_problem(storage)
        if problem:
            messages.append(
                checks.Error(
                    f"ORDER_MESSAGES_ATTACHMENT_SERVE is 'redirect', but the attachment "
                    f"storage {alias!r} ({backend}) {problem}.",
                    hint="A redirect needs a storage that makes signed, expiring URLs, such "
                    "as django-storages' S3Storage with querystring_auth on (its default). "
                    "For local files use 'django', 'x-accel-redirect' or 'x-sendfile'.",
                    id="order_messages.E007",
                )
            )
    return messages


def has_local_paths(storage) -> bool:
    try:
        storage.path(app_settings.ATTACHMENT_FOLDER)
    except NotImplementedError:
        return False
    return True


def redirect_problem(storage) -> str:
    """ "" when the storage's url() makes a signed URL that expires when asked; else what
    it does instead."""
    try:
        accepts = inspect.signature(storage.url).parameters
    except (TypeError, ValueError):
        accepts = {}
    if "expire" not in accepts or "parameters" not in accepts:
        return "makes no expiring URLs (its url() does not take expire and parameters)"
    # django-storages: without query-string auth, or through a custom domain without a
    # CloudFront signer, the URL is a plain one that never expires.
    if getattr(storage, "querystring_auth", True) is False:
        return "makes unsigned URLs (querystring_auth is off), which anyone could open"
    if getattr(storage, "custom_domain", None) and not getattr(storage, "cloudfront_signer", True):
        return "makes unsigned URLs on its custom_domain (no CloudFront key to sign them)"
    return ""


def check_dispute_settings(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """The dispute reasons the customer chooses from and the seller's clock: a setting that
    would fail when the first dispute opens fails here instead."""
    if app_configs is not None and not any(c.name == "order_messages" for c in app_configs):
        return []
    import datetime as dt

    from .disputes import BusinessHours, store_zone

    found = []
    keys = [key for key, _label in app_settings.DISPUTE_REASONS]
    if not keys or len(set(keys)) != len(keys) or any(not k or len(k) > 32 for k in keys):
        found.append(
            checks.Error(
                "ORDER_MESSAGES_DISPUTE_REASONS needs at least one (key, label) pair, with "
                "distinct keys of 1 to 32 characters.",
                id="order_messages.E008",
            )
        )
    hours = app_settings.DISPUTE_RESPONSE_HOURS
    reminder = app_settings.DISPUTE_REMINDER_HOURS
    if (hours is not None and (not isinstance(hours, int | float) or hours <= 0)) or (
        not isinstance(reminder, int | float) or reminder < 0
    ):
        found.append(
            checks.Error(
                "ORDER_MESSAGES_DISPUTE_RESPONSE_HOURS must be a positive number of hours, "
                "or None for no deadline; DISPUTE_REMINDER_HOURS a number of hours, 0 or more.",
                id="order_messages.E009",
            )
        )
    try:
        zone = store_zone()
        if app_settings.DISPUTE_BUSINESS_HOURS:
            BusinessHours(app_settings.DISPUTE_BUSINESS_HOURS, zone).add(dt.datetime.now(dt.UTC), 1)
    except Exception as error:  # noqa: BLE001 — a bad time, day or zone name
        found.append(
            checks.Error(
                f"ORDER_MESSAGES_DISPUTE_BUSINESS_HOURS or DISPUTE_TIME_ZONE cannot be used: "
                f"{error}",
                hint='e.g. {"days": (0, 1, 2, 3, 4), "start": "09:00", "end": "17:00", '
                '"holidays": ("2026-12-25",)} and a zone name such as "Europe/Berlin".',
                id="order_messages.E010",
            )
        )
    return found


def check_live_settings(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """REDIS_URL needs the redis package (the ``[redis]`` extra): without it every live
    event would fail at the first message rather than here."""
    if app_configs is not None and not any(c.name == "order_messages" for c in app_configs):
        return []
    if not app_settings.REDIS_URL:
        return []
    try:
        import redis  # noqa: F401
    except ImportError:
        from .live import REDIS_MISSING

        return [checks.Error(REDIS_MISSING, id="order_messages.E011")]
    return []
