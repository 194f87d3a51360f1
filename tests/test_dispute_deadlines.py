"""The seller's deadline: around the clock, or in the store's business hours and time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.test import override_settings
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from order_messages.disputes import BusinessHours, format_deadline, response_deadline

from .conftest import fuzz_examples

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
OFFICE = {"days": (0, 1, 2, 3, 4), "start": "09:00", "end": "17:00"}


def local(*args):
    return dt.datetime(*args, tzinfo=BERLIN)


def deadline(opened, hours=48, hours_config=OFFICE, **config):
    with override_settings(
        ORDER_MESSAGES_DISPUTE_RESPONSE_HOURS=hours,
        ORDER_MESSAGES_DISPUTE_BUSINESS_HOURS=hours_config,
        ORDER_MESSAGES_DISPUTE_TIME_ZONE="Europe/Berlin",
        **config,
    ):
        return response_deadline(opened)


def test_around_the_clock_the_deadline_is_the_hours_later():
    opened = dt.datetime(2026, 12, 4, 16, 0, tzinfo=dt.UTC)
    assert deadline(opened, hours_config=None) == opened + dt.timedelta(hours=48)


@pytest.mark.parametrize(
    ("opened", "hours", "expected"),
    [
        # Monday 10:00 + 8 working hours: Tuesday 10:00.
        (local(2026, 12, 7, 10, 0), 8, local(2026, 12, 8, 10, 0)),
        # Friday evening: the clock starts on Monday morning; 48 h are six working days.
        (local(2026, 12, 4, 18, 30), 48, local(2026, 12, 14, 17, 0)),
        # Saturday: nothing counts until Monday 09:00.
        (local(2026, 12, 5, 12, 0), 2, local(2026, 12, 7, 11, 0)),
        # Before opening: from 09:00.
        (local(2026, 12, 7, 6, 0), 1, local(2026, 12, 7, 10, 0)),
        # Exactly at closing the rest carries to the next morning.
        (local(2026, 12, 7, 16, 0), 3, local(2026, 12, 8, 11, 0)),
    ],
)
def test_business_hours_count_only_working_time(opened, hours, expected):
    assert deadline(opened, hours) == expected


def test_holidays_do_not_count():
    office = {**OFFICE, "holidays": ("2026-12-24", "2026-12-25")}
    # Wednesday 23 Dec 16:00 + 4 h: one hour left that day, then Monday 28th (24, 25
    # holidays; 26, 27 the weekend).
    assert deadline(local(2026, 12, 23, 16, 0), 4, office) == local(2026, 12, 28, 12, 0)


def test_working_hours_are_wall_clock_hours_across_a_change_of_time():
    # Berlin leaves summer time on Sunday 25 Oct 2026: Friday 16:00 + 2 h is Monday 10:00
    # local time, although the UTC offset changed in between.
    assert deadline(local(2026, 10, 23, 16, 0), 2) == local(2026, 10, 26, 10, 0)


def test_a_configuration_without_working_time_is_refused():
    with pytest.raises(ValueError):
        deadline(local(2026, 12, 7, 10), 8, {"days": (), "start": "09:00", "end": "17:00"})
    with pytest.raises(ValueError):
        deadline(local(2026, 12, 7, 10), 8, {"start": "17:00", "end": "09:00"})


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(
    opened=st.datetimes(
        min_value=dt.datetime(2020, 1, 1),
        max_value=dt.datetime(2030, 12, 31),
        timezones=st.just(dt.UTC),
    ),
    hours=st.integers(min_value=0, max_value=200),
)
def test_the_working_time_between_opening_and_deadline_is_the_hours_given(opened, hours):
    hours_of = BusinessHours(OFFICE, BERLIN)
    due = hours_of.add(opened, hours)
    assert due >= opened
    # Count working minutes between the two by walking the days.
    worked = dt.timedelta(0)
    day = opened.astimezone(BERLIN).date()
    while day <= due.astimezone(BERLIN).date():
        if hours_of.works_on(day):
            start = max(
                dt.datetime.combine(day, hours_of.start),
                opened.astimezone(BERLIN).replace(tzinfo=None),
            )
            end = min(
                dt.datetime.combine(day, hours_of.end), due.astimezone(BERLIN).replace(tzinfo=None)
            )
            if end > start:
                worked += end - start
        day += dt.timedelta(days=1)
    assert worked == dt.timedelta(hours=hours)
    local_due = due.astimezone(BERLIN)
    if hours:
        assert hours_of.works_on(local_due.date())
        assert hours_of.start < local_due.time() <= hours_of.end


def test_a_deadline_reads_as_a_weekday_and_time_in_the_sites_zone_and_language():
    now = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)  # Sunday
    due = dt.datetime(2026, 12, 8, 13, 0, tzinfo=dt.UTC)
    with override_settings(TIME_ZONE="Europe/Berlin"):
        assert format_deadline(due, now=now) == "Tue 14:00"
        with translation.override("de"):
            assert format_deadline(due, now=now) == "Di 14:00"
        # Beyond the coming week, or past, the date is given too.
        assert format_deadline(due + dt.timedelta(days=7), now=now) == "Tue 15 Dec 14:00"
        assert format_deadline(due, now=due + dt.timedelta(hours=1)) == "Tue 8 Dec 14:00"


@pytest.mark.parametrize(
    ("setting", "value", "error"),
    [
        ("DISPUTE_REASONS", [], "order_messages.E008"),
        ("DISPUTE_REASONS", [("damaged", "A"), ("damaged", "B")], "order_messages.E008"),
        ("DISPUTE_RESPONSE_HOURS", -1, "order_messages.E009"),
        ("DISPUTE_REMINDER_HOURS", -2, "order_messages.E009"),
        ("DISPUTE_REMINDER_HOURS", "12", "order_messages.E009"),
        ("DISPUTE_BUSINESS_HOURS", {"start": "nine", "end": "17:00"}, "order_messages.E010"),
        ("DISPUTE_BUSINESS_HOURS", {"days": ()}, "order_messages.E010"),
        ("DISPUTE_TIME_ZONE", "Mars/Olympus", "order_messages.E010"),
    ],
)
def test_settings_the_clock_cannot_use_fail_the_system_check(setting, value, error):
    from order_messages.checks import check_dispute_settings

    with override_settings(**{f"ORDER_MESSAGES_{setting}": value}):
        assert error in [found.id for found in check_dispute_settings(None)]
    assert check_dispute_settings(None) == []
