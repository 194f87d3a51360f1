"""ORDER_MESSAGES_* settings with their defaults, read lazily.

Use ``from order_messages.conf import app_settings`` and read attributes at call time,
so that ``override_settings`` in tests and late configuration both work.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

DEFAULTS = {
    # Dotted path of the host store's StoreAdapter subclass.
    "ADAPTER": "order_messages.adapter.StoreAdapter",
    # "separate" (one conversation per order and vendor), "warehouse" or "single".
    "MODE": "separate",
    # Warehouse mode only: talk to each vendor's sub-order instead of the store.
    "ALLOW_VENDOR_COMMUNICATION": False,
    # Hide the customer's e-mail address from vendors.
    "MASK_CONTACTS": True,
    # The store's orders address (B4); empty disables those e-mails.
    "STORE_EMAIL": "",
    # Absolute origin used for links in e-mails, e.g. "https://shop.example.com".
    "SITE_URL": "http://127.0.0.1:8000",
    "MAX_MESSAGE_LENGTH": 5000,
    "MAX_REASON_LENGTH": 1000,
    # (posts, seconds): how many messages and dispute openings one person may write through
    # the pages and the API in any such span; a guest's are counted per order. None: no
    # limit. Replies by e-mail have their own limit (INBOUND_RATE_LIMIT).
    "POST_RATE_LIMIT": (20, 60),
    # Guest access links stay valid this many seconds.
    "GUEST_LINK_MAX_AGE": 60 * 60 * 24 * 30,
    "INBOX_PAGE_SIZE": 20,
    # PostgreSQL: the text-search configurations message bodies are indexed with for the
    # back office's search, e.g. ("simple", "german"). None: "simple" (every word as
    # written) and the configuration of LANGUAGE_CODE's language (its word stems), where
    # PostgreSQL has one. Read when migration 0011_search runs (see docs/reference.md).
    "SEARCH_CONFIG": None,
    # A thread page shows at most this many messages, from the first unread (or the newest
    # ten), with "N earlier messages" before and "N newer messages" after them.
    "THREAD_WINDOW": 50,
    # Seconds between polls of the unread badge when live updates are unavailable.
    "POLL_INTERVAL": 30,
    "FROM_EMAIL": None,
    # -- notifications (N1-N4) --
    # Seconds a burst of messages is collected into one e-mail per recipient.
    "EMAIL_BATCH_DELAY": 120,
    # Local hour (TIME_ZONE) at which daily digests go out.
    "DIGEST_HOUR": 8,
    # Temporary delivery failures are retried after RETRY_BASE, 2x, 4x ... seconds (at most
    # RETRY_MAX apart), MAX_ATTEMPTS times in all; then the e-mail is marked failed.
    "EMAIL_MAX_ATTEMPTS": 8,
    "EMAIL_RETRY_BASE": 30,
    "EMAIL_RETRY_MAX": 3600,
    # Seconds a worker holds the e-mails it claimed before another worker may take them.
    "EMAIL_CLAIM_SECONDS": 300,
    # Domain of Message-ID headers; empty: the host of SITE_URL.
    "MESSAGE_ID_DOMAIN": "",
    # Domain whose mail reaches `receive_email` or an inbound webhook; empty: no reply by
    # e-mail (no Reply-To header).
    "REPLY_DOMAIN": "",
    # A reply address works this many days after the e-mail that carried it.
    "REPLY_ADDRESS_MAX_AGE_DAYS": 90,
    # Inbound e-mails accepted per sender address per hour (to reply addresses made for
    # that sender).
    "INBOUND_RATE_LIMIT": 30,
    # Larger inbound e-mails are refused. Room for a reply with a few phone photos: base64
    # makes attachments 4/3 as large in the mail. Only the text is kept in the database.
    "INBOUND_MAX_BYTES": 25_000_000,
    # -- live updates (A2) --
    # Redis shared by all server processes, e.g. "redis://127.0.0.1:6379/0"; None: live
    # events stay inside each process (enough for one process).
    "REDIS_URL": None,
    "LIVE_REDIS_PREFIX": "order_messages:live",
    # Events kept per user for clients that reconnect (Last-Event-ID).
    "LIVE_REPLAY_WINDOW": 200,
    # Seconds between heartbeats on an idle stream, so proxies keep it open.
    "LIVE_HEARTBEAT": 15,
    # -- webhooks (A3) --
    # Seconds a webhook receiver has to accept the connection and to answer (each).
    "WEBHOOK_TIMEOUT": 10,
    # A delivery that gets no 2xx answer (another status, a timeout, no connection) is
    # retried after RETRY_BASE, 2x, 4x ... seconds (at most RETRY_MAX apart), MAX_ATTEMPTS
    # times in all; then it is marked failed. 410 Gone fails it at once and deactivates the
    # endpoint.
    "WEBHOOK_MAX_ATTEMPTS": 8,
    "WEBHOOK_RETRY_BASE": 30,
    "WEBHOOK_RETRY_MAX": 3600,
    # Seconds a worker holds the deliveries it claimed before another worker may take
    # them; renewed before each POST, so keep it well above WEBHOOK_TIMEOUT.
    "WEBHOOK_CLAIM_SECONDS": 300,
    # Destinations outgoing webhooks may reach although they are not public addresses:
    # IP addresses or networks ("10.0.0.0/8", "127.0.0.1", "::1"), for a store whose
    # receiver runs on its own network. Everything else that is loopback, private,
    # link-local, multicast or reserved is refused.
    "WEBHOOK_ALLOWED_NETWORKS": (),
    # -- inbound provider webhooks (N4) --
    # The django-anymail providers whose inbound webhooks order_messages.inbound_urls
    # mounts, e.g. ("mailgun",); the others answer 404. Each must authenticate its callers
    # (WEBHOOK_SECRET, or the provider's signing key), or `manage.py check` fails.
    "INBOUND_PROVIDERS": (),
    # -- disputes --
    # (events, seconds): how many times one conversation's dispute may be opened or closed,
    # openings and closings counted together, by anyone (customer, store staff, pages, API),
    # in any such span; each change e-mails the vendor, the staff and the store's address.
    # Over it: refused with Throttled (429 and Retry-After). None: no limit.
    "DISPUTE_RATE_LIMIT": (4, 3600),
    # Dispute e-mails about one conversation to one recipient within this many seconds of
    # the previous one are folded into one e-mail: an event waits until that many seconds
    # after the last dispute e-mail went out, and joins the recipient's unsent one, which
    # then lists every event. 0: each event is e-mailed at once unless one is still unsent.
    "DISPUTE_EMAIL_FOLD_SECONDS": 300,
    # What went wrong, as the customer chooses it when opening a dispute: (key, label)
    # pairs. Keys are stored with the dispute and sent in the API and webhooks; a key the
    # store later removes is still shown (as the key) on the disputes that have it.
    "DISPUTE_REASONS": (
        ("not_received", _("Not received")),
        ("damaged", _("Damaged")),
        ("not_as_described", _("Not as described")),
        ("wrong_item", _("Wrong item")),
        ("missing_parts", _("Missing parts")),
        ("other", _("Other")),
    ),
    # Hours the seller has for a first answer to a dispute; None: no deadline (and no
    # escalation).
    "DISPUTE_RESPONSE_HOURS": 48,
    # Count those hours in business hours only: {"days": (0, 1, 2, 3, 4) (Monday is 0),
    # "start": "09:00", "end": "17:00", "holidays": ("2026-12-25", ...)} in
    # DISPUTE_TIME_ZONE. None: around the clock.
    "DISPUTE_BUSINESS_HOURS": None,
    # The time zone business hours are counted in; None: TIME_ZONE. Deadlines are shown
    # in the active time zone, like every other time.
    "DISPUTE_TIME_ZONE": None,
    # The seller is reminded this many hours before the deadline (wall-clock hours).
    "DISPUTE_REMINDER_HOURS": 12,
    # Seconds between the worker's looks at dispute deadlines and at the response figures.
    "DISPUTE_CLOCK_SECONDS": 60,
    # -- attachments --
    # Files one message may carry, and the largest size of each, in bytes.
    "ATTACHMENT_MAX_FILES": 5,
    "ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
    # (uploads, seconds): how many files one person may upload in any such span, those
    # removed again included (each is an image decoded and encoded); a guest's are counted
    # per order. Over it: Throttled (429 and Retry-After). None: no limit.
    "ATTACHMENT_UPLOAD_RATE_LIMIT": (40, 3600),
    # The types accepted, as sniffed from the content (never the name or the header).
    # Known: image/jpeg, image/png, image/webp, image/gif and application/pdf; SVG, HTML,
    # scripts and archives are always refused.
    "ATTACHMENT_TYPES": ("image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf"),
    # Images with more pixels are refused before they are decoded (decompression bombs).
    "ATTACHMENT_MAX_PIXELS": 50_000_000,
    # The longer side of the thumbnails shown in a thread, in pixels.
    "ATTACHMENT_THUMBNAIL_SIZE": 480,
    # The STORAGES alias files are kept in, and the folder within it.
    "ATTACHMENT_STORAGE": "default",
    "ATTACHMENT_FOLDER": "order_messages",
    # Uploads never posted with a message are deleted by the worker after this many seconds.
    "ATTACHMENT_ABANDONED_AFTER": 24 * 60 * 60,
    # How files reach the browser once access is checked: "django" streams them from the
    # storage; "x-accel-redirect" (nginx) and "x-sendfile" (Apache) hand a local file to the
    # web server; "redirect" sends the browser to the storage's own short-lived signed URL
    # (S3 and the like). See docs/attachments.md.
    "ATTACHMENT_SERVE": "django",
    # x-accel-redirect: the internal nginx location that maps to the storage's folder.
    "ATTACHMENT_ACCEL_PREFIX": "/protected/",
    # redirect: seconds the storage's signed URL stays valid.
    "ATTACHMENT_REDIRECT_SECONDS": 60,
    # Links to files in e-mails stay valid this many seconds.
    "ATTACHMENT_LINK_MAX_AGE": 7 * 24 * 60 * 60,
    # A ClamAV daemon that checks every upload: a Unix socket path, or "host:port". None:
    # no scan. When set and it cannot be reached, uploads are refused until it is back.
    "ATTACHMENT_CLAMD": None,
    # django-oscar (order_messages.contrib.oscar): codes of the partners whose order lines
    # are the store's own items, and whether Oscar's dashboard lists the back office.
    "OSCAR_STORE_PARTNERS": (),
    "OSCAR_DASHBOARD_ENTRY": True,
    # The host's base template; the app's pages fill its ``title`` and ``content`` blocks.
    # None: the adapter's ``base_template`` ("base.html" unless the adapter says otherwise).
    "BASE_TEMPLATE": None,
}


class AppSettings:
    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(name)
        return getattr(settings, f"ORDER_MESSAGES_{name}", DEFAULTS[name])

    @property
    def BASE_TEMPLATE(self) -> str:
        from .adapter import get_adapter

        return (
            getattr(settings, "ORDER_MESSAGES_BASE_TEMPLATE", None) or get_adapter().base_template
        )


app_settings = AppSettings()
