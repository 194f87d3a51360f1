"""What a dispute asks and when the seller must answer: the store's list of reasons and
the response deadline, counted around the clock or in the store's business hours."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.utils.translation import gettext

from .conf import app_settings
from .errors import InvalidChoice


def reason_choices() -> list[tuple[str, str]]:
    """(key, label) of the reasons the store offers, in its order."""
    return [(key, str(label)) for key, label in app_settings.DISPUTE_REASONS]


def reason_label(key: str) -> str:
    """The label of a reason, or the key itself for one the store no longer offers."""
    return next((str(label) for k, label in app_settings.DISPUTE_REASONS if k == key), key)


def check_reason_code(key: str) -> str:
    if key not in {k for k, _label in app_settings.DISPUTE_REASONS}:
        raise InvalidChoice(
            gettext("Please choose what went wrong from the list (%(keys)s).")
            % {"keys": ", ".join(k for k, _label in app_settings.DISPUTE_REASONS)}
        )
    return key


def store_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(app_settings.DISPUTE_TIME_ZONE or settings.TIME_ZONE or "UTC")


def _clock(value: str) -> dt.time:
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


class BusinessHours:
    """The store's opening hours: the weekdays it works, from ``start`` to ``end`` local
    time, less its holidays."""

    def __init__(self, config: dict, zone: dt.tzinfo):
        self.days = frozenset(config.get("days", (0, 1, 2, 3, 4)))
        self.start = _clock(config.get("start", "09:00"))
        self.end = _clock(config.get("end", "17:00"))
        self.holidays = frozenset(dt.date.fromisoformat(str(d)) for d in config.get("holidays", ()))
        self.zone = zone
        if not self.days or self.start >= self.end:
            raise ValueError("ORDER_MESSAGES_DISPUTE_BUSINESS_HOURS has no working time.")

    def works_on(self, day: dt.date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def add(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The moment ``hours`` of working time after ``start``."""
        left = dt.timedelta(hours=hours)
        local = start.astimezone(self.zone)
        day, at = local.date(), local.time().replace(tzinfo=None)
        # A year of days without working time means a configuration to refuse, not a loop.
        for _ in range(366 + int(hours // 1) + 1):
            if self.works_on(day) and at < self.end:
                opens = dt.datetime.combine(day, max(at, self.start), tzinfo=self.zone)
                closes = dt.datetime.combine(day, self.end, tzinfo=self.zone)
                # Wall-clock time within the day: a working day is never cut by DST here.
                available = closes.replace(tzinfo=None) - opens.replace(tzinfo=None)
                if left <= available:
                    return (opens.replace(tzinfo=None) + left).replace(tzinfo=self.zone)
                left -= available
            day, at = day + dt.timedelta(days=1), dt.time.min
        raise ValueError("ORDER_MESSAGES_DISPUTE_BUSINESS_HOURS has no working time.")


def response_deadline(opened_at: dt.datetime) -> dt.datetime | None:
    """When the seller must have answered a dispute opened at ``opened_at`` (None: never)."""
    hours = app_settings.DISPUTE_RESPONSE_HOURS
    if hours is None:
        return None
    config = app_settings.DISPUTE_BUSINESS_HOURS
    if not config:
        return opened_at + dt.timedelta(hours=hours)
    return BusinessHours(config, store_zone()).add(opened_at, hours).astimezone(dt.UTC)


def format_deadline(
    value: dt.datetime, *, now: dt.datetime | None = None, in_full: bool = False
) -> str:
    """A deadline as people read it, in the active language and time zone (that of every
    other time on the page): "Tue 14:00" within the coming week, "Tue 15 Dec 14:00" beyond
    it or once past. ``in_full``, for an e-mail, read some other day and anywhere: always
    with its date and its time zone, "Tue 15 Dec 14:00 CET"."""
    from django.utils import dateformat, timezone

    now = now or timezone.now()
    local = timezone.localtime(value)
    if in_full:
        return dateformat.format(local, "D j M H:i T")
    soon = dt.timedelta(0) <= value - now < dt.timedelta(days=6)
    return dateformat.format(local, "D H:i" if soon else "D j M H:i")
