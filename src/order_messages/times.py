"""Times as pages show them: relative while recent ("5 minutes ago", "yesterday"), else
the date, always in the reader's language and time zone (the active ones), with the exact
time for a title. order_messages.js keeps the relative ones right while a page stays
open, by the same rules (see ``omRelativeTimes`` there)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timesince import timesince
from django.utils.translation import get_language, gettext, pgettext


@dataclass(frozen=True)
class ShownTime:
    text: str  # what the page shows
    exact: str  # the date and time to the minute, with the time zone's name
    date: str  # the date alone, what ``text`` becomes after yesterday
    iso: str  # for <time datetime>


def shown_time(value: dt.datetime, *, now: dt.datetime | None = None) -> ShownTime:
    """How a page shows ``value``: "now" under a minute, minutes under an hour, hours the
    same day, "yesterday" the day before, then the date (all in the active time zone)."""
    if not isinstance(value, dt.datetime):  # a store may give an order's day alone
        date = date_format(value, "DATE_FORMAT")
        return ShownTime(text=date, exact=date, date=date, iso=value.isoformat())
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    local, local_now = timezone.localtime(value, zone), timezone.localtime(now, zone)
    date, exact = _dated(value, zone, str(zone), get_language())
    age = now - value
    if age < dt.timedelta(minutes=1):  # a clock a little ahead counts as now
        text = pgettext("time", "now")
    elif age < dt.timedelta(hours=1) or local.date() == local_now.date():
        # Translators: %(time)s is how long ago, e.g. "5 minutes" or "3 hours".
        text = gettext("%(time)s ago") % {"time": timesince(value, now, depth=1)}
    elif local.date() == local_now.date() - dt.timedelta(days=1):
        text = gettext("yesterday")
    else:
        text = date
    return ShownTime(text=text, exact=exact, date=date, iso=value.isoformat(timespec="seconds"))


@lru_cache(maxsize=4096)
def _dated(value: dt.datetime, zone: dt.tzinfo, name: str, language: str | None):
    """The date, and the date and time with the zone's name, of ``value`` in ``zone`` and
    ``language``. Pages show the same times again and again (a list's rows, a thread's
    messages) and formatting them was a fifth of a list page's time: each is worked out
    once per process. ``name`` and ``language`` are keys only (fixed-offset zones of one
    offset compare equal whatever their names; the active language formats)."""
    local = timezone.localtime(value, zone)
    date = date_format(local, "DATE_FORMAT")
    return date, f"{date_format(local, 'DATETIME_FORMAT')} ({local.tzname()})"


@receiver(setting_changed)
def _formats_changed(*, setting, **kwargs):
    # Tests and a site's settings overrides change the formats: forget what was formatted.
    if setting in {"DATE_FORMAT", "DATETIME_FORMAT", "FORMAT_MODULE_PATH", "LANGUAGE_CODE"}:
        _dated.cache_clear()
