"""The app's addresses that every page writes many times: the header icon's and each
listed conversation's. Reversing a URL costs more than writing the row it is in, so each
is worked out once per URL configuration (Django's resolver, new whenever the URLs
change), script prefix and language (``i18n_patterns`` puts it in the path), and a
conversation's address is that of the first one with its order number and vendor key put
in their places, quoted as ``reverse`` quotes them."""

from __future__ import annotations

import re
from urllib.parse import quote

from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.translation import get_language

# What reverse() leaves unquoted in a path (django.urls.resolvers).
SAFE = RFC3986_SUBDELIMS + "/~:@"

# Addresses by (resolver, script prefix, language), at most this many keys kept.
_KNOWN: dict[tuple, dict] = {}
KEPT = 64

NUMBER, VENDOR = "om-number-of-the-order", "om-key-of-the-vendor"
THREAD = ("thread",)  # where the thread's address is kept, apart from the URL names
# What the thread's <str:…> converters accept: one path segment, not empty.
_SEGMENT = re.compile(r"[^/]+\Z")


def _known() -> dict:
    key = (get_resolver(get_urlconf()), get_script_prefix(), get_language())
    known = _KNOWN.get(key)
    if known is None:
        if len(_KNOWN) >= KEPT:
            _KNOWN.clear()
        known = _KNOWN[key] = {}
    return known


def urls(*names: str) -> list[str]:
    """``reverse(name)`` of each of these URLs without arguments."""
    known = _known()
    found = []
    for name in names:
        address = known.get(name)
        if address is None:
            address = known[name] = reverse(name)
        found.append(address)
    return found


def thread_url(number: str, vendor_key: str) -> str:
    """The conversation page of this order and vendor key:
    ``reverse("order_messages:thread", args=[number, vendor_key])``."""
    if not (_SEGMENT.match(number) and _SEGMENT.match(vendor_key)):
        # reverse() says what is wrong (NoReverseMatch)
        return reverse("order_messages:thread", args=[number, vendor_key])
    known = _known()
    parts = known.get(THREAD)
    if parts is None:
        written = reverse("order_messages:thread", args=[NUMBER, VENDOR])
        before, rest = written.split(NUMBER)
        between, after = rest.split(VENDOR)
        parts = known[THREAD] = (before, between, after)
    before, between, after = parts
    return f"{before}{quote(number, safe=SAFE)}{between}{quote(vendor_key, safe=SAFE)}{after}"
