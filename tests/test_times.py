"""Times on pages (times.py): relative while recent, then the date, one way everywhere, in
the reader's language and time zone, with the exact time as a title."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone, translation

from order_messages.models import Message
from order_messages.times import shown_time
from tests.conftest import conversation_of

NOW = dt.datetime(2026, 12, 6, 14, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "ago, text",
    [
        (dt.timedelta(seconds=20), "now"),
        (dt.timedelta(minutes=5), "5\xa0minutes ago"),
        (dt.timedelta(hours=3, minutes=10), "3\xa0hours ago"),
        (dt.timedelta(hours=20), "yesterday"),  # 18:30 the day before
        (dt.timedelta(days=3), "Dec. 3, 2026"),
    ],
)
def test_recent_times_are_relative_and_older_ones_the_date(ago, text):
    with timezone.override("UTC"):
        assert shown_time(NOW - ago, now=NOW).text == text


def test_yesterday_and_today_follow_the_readers_time_zone():
    # 23:30 UTC on the 5th is already the 6th in Berlin: earlier today, not yesterday.
    late = dt.datetime(2026, 12, 5, 23, 30, tzinfo=dt.UTC)
    with timezone.override("UTC"):
        assert shown_time(late, now=NOW).text == "yesterday"
    with timezone.override("Europe/Berlin"):
        shown = shown_time(late, now=NOW)
        assert shown.text == "15\xa0hours ago"
        assert shown.exact == "Dec. 6, 2026, 12:30 a.m. (CET)"


def test_the_exact_time_and_the_date_are_in_the_readers_language():
    with translation.override("de"), timezone.override("Europe/Berlin"):
        shown = shown_time(NOW - dt.timedelta(days=10), now=NOW)
    assert shown.date == "26. November 2026"
    assert shown.text == shown.date
    assert shown.exact == "26. November 2026 15:30 (CET)"


def test_one_time_shown_again_follows_each_readers_language_and_zone():
    # The formatted dates are kept per process: the same moment read again in another
    # language or zone is formatted for that one, not served as it was first.
    moment = NOW - dt.timedelta(days=10, seconds=17)
    seen = []
    for language, zone in [("en", "UTC"), ("de", "UTC"), ("de", "Asia/Tokyo"), ("en", "UTC")]:
        with translation.override(language), timezone.override(zone):
            seen.append(shown_time(moment, now=NOW).exact)
    assert seen == [
        "Nov. 26, 2026, 2:29 p.m. (UTC)",
        "26. November 2026 14:29 (UTC)",
        "26. November 2026 23:29 (JST)",
        "Nov. 26, 2026, 2:29 p.m. (UTC)",
    ]


def test_a_changed_format_and_a_zone_of_the_same_offset_are_not_served_from_memory(settings):
    moment = NOW - dt.timedelta(days=10)
    with timezone.override(dt.timezone(dt.timedelta(hours=1), "CET")):
        assert shown_time(moment, now=NOW).exact.endswith("(CET)")
    with timezone.override(dt.timezone(dt.timedelta(hours=1), "WAT")):
        assert shown_time(moment, now=NOW).exact.endswith("(WAT)")

    with translation.override(None):
        before = shown_time(moment, now=NOW).date
        settings.DATE_FORMAT = "Y-m-d"
        assert shown_time(moment, now=NOW).date == "2026-11-26" != before


def test_a_day_without_a_time_is_shown_as_the_date():
    assert shown_time(dt.date(2026, 3, 1)).text == "March 1, 2026"


def message_time(page):
    found = re.search(r'<p class="om-msg__time">(<time [^>]*>[^<]*</time>)', page)
    assert found, "no message time on the page"
    return found.group(1)


def test_a_thread_shows_message_times_one_way_with_the_exact_time_on_hover(client_for, post, demo):
    post("bob", "1002", "bobs-bikes", "Your bike ships tomorrow.")
    Message.objects.filter(conversation=conversation_of("1002", "bobs-bikes")).update(
        created_at=timezone.now() - dt.timedelta(minutes=5)
    )

    page = client_for("alice").get("/messages/orders/1002/bobs-bikes/").content.decode()

    time = message_time(page)
    assert ">5\xa0minutes ago</time>" in time
    assert 'class="om-when"' in time and 'datetime="' in time
    year = (timezone.now() - dt.timedelta(minutes=5)).year
    assert re.search(rf'title="[A-Z][a-z]+\.? \d+, {year}, [^"]+ \(UTC\)"', time)
    assert "SHORT_DATETIME_FORMAT" not in page and "a.m.</time>" not in page


def test_the_browsers_time_zone_cookie_sets_the_zone_of_the_page(client_for, post):
    post("bob", "1002", "bobs-bikes", "Your bike ships tomorrow.")
    alice = client_for("alice")
    alice.cookies["tz"] = "Asia/Tokyo"

    page = alice.get("/messages/orders/1002/bobs-bikes/").content.decode()

    assert "(JST)" in message_time(page)


def test_an_unknown_time_zone_cookie_is_ignored(client_for, post):
    post("bob", "1002", "bobs-bikes", "Your bike ships tomorrow.")
    alice = client_for("alice")
    alice.cookies["tz"] = "../../etc/passwd"

    response = alice.get("/messages/orders/1002/bobs-bikes/")

    assert response.status_code == 200
    assert "(UTC)" in message_time(response.content.decode())


def test_the_back_office_list_shows_the_same_relative_times(client_for, post):
    post("alice", "1002", "bobs-bikes", "Is the bike assembled?")

    page = client_for("bob").get("/messages/").content.decode()

    assert re.search(r'<span class="om-inbox__date"><time class="om-when" [^>]*>now</time>', page)


def test_times_follow_the_readers_language(post):
    post("bob", "1002", "bobs-bikes", "Your bike ships tomorrow.")
    Message.objects.filter(conversation=conversation_of("1002", "bobs-bikes")).update(
        created_at=NOW - dt.timedelta(days=40)
    )
    client = Client(headers={"accept-language": "de"})
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="alice"))

    page = client.get("/messages/orders/1002/bobs-bikes/").content.decode()

    assert ">27. Oktober 2026</time>" in message_time(page)


@pytest.mark.parametrize("name", ["Europe", "Not/AZone", "UTC\x00", "x" * 65])
def test_a_time_zone_cookie_that_names_no_zone_is_ignored(name):
    from django.test import RequestFactory

    from order_messages.time_zone import browser_zone

    request = RequestFactory().get("/")
    request.COOKIES["tz"] = name
    assert browser_zone(request) is None
