"""The back-office dashboard (B3): counters per scope, the new-dispute alert, 30 days of
activity (from the worker's roll-up), the chart's geometry, who may see it and what it
costs. The response figures, the vendors' table and the vendor page: test_metrics.py."""

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from order_messages import actions, queries
from order_messages.charts import daily_chart, nice_scale
from order_messages.models import Conversation, DashboardSeen, Dispute, Message, Participant
from tests.conftest import conversation_of, counter_of, make_conversations, unread_of
from tests.test_metrics import forget_figures

URL = "/messages/dashboard/"


def board_of(user, **kwargs):
    return queries.dashboard(scope=queries.access_backoffice(user=user), **kwargs)


def utc_today():
    return timezone.now().astimezone(dt.UTC).date()


def at_utc(day, hour=12, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def shift_dispute(dispute, *, days):
    Dispute.objects.filter(pk=dispute.pk).update(opened_at=timezone.now() - dt.timedelta(days=days))


def alert_of(response):
    """The alert box's HTML, or None when the page has none."""
    html = response.content.decode()
    if 'role="alert"' not in html:
        return None
    start = html.index('role="alert"')
    return html[start : html.index("</section>", start)]


@pytest.fixture
def talk(no_conversations, post, dispute):
    """Bob: 1001 (Alice) and 1005 (Carol, disputed). Dave: 1001 (Alice, disputed)."""
    post("alice", "1001", "bobs-bikes", "Where is my helmet?")
    post("alice", "1001", "daves-outdoor", "Tent poles missing")
    post("alice", "1001", "daves-outdoor", "Still missing")
    post("carol", "1005", "bobs-bikes", "Helmet size question")
    dispute.open("carol", "1005", "bobs-bikes", "Wrong size sent")
    dispute.open("alice", "1001", "daves-outdoor", "No poles, no tent")
    return no_conversations


@pytest.fixture
def no_figures(no_conversations):
    """No conversations, and none of the seed's rolled-up figures."""
    forget_figures()
    return no_conversations


@pytest.fixture
def staff_without_permission(db):
    return get_user_model().objects.create_user(username="sam", password="x", is_staff=True)


# -- counters -------------------------------------------------------------------------------


def test_a_vendor_counts_only_his_own_conversations(talk):
    bob, dave = talk["bob"], talk["dave"]

    bobs = board_of(bob)
    assert bobs.unread == unread_of(bob, "1001", "bobs-bikes") + unread_of(
        bob, "1005", "bobs-bikes"
    )
    assert bobs.unread == 3  # two messages and the dispute on 1005
    assert bobs.open_disputes == 1

    daves = board_of(dave)
    assert daves.unread == unread_of(dave, "1001", "daves-outdoor") == 3
    assert daves.open_disputes == 1
    # The same number as the header badge's (one primary-key read, whatever the size).
    assert bobs.unread == counter_of(bob) and daves.unread == counter_of(dave)


def test_store_staff_count_every_open_dispute_and_their_own_unread(talk):
    admin = talk["admin"]
    board = board_of(admin)
    assert board.open_disputes == 2
    # Staff joined the two disputed conversations, each with the dispute message unread.
    assert board.unread == sum(
        Participant.objects.filter(user=admin).values_list("unread_count", flat=True)
    )
    assert board.unread == 2


def test_a_closed_dispute_is_no_longer_counted_as_open(talk, dispute):
    dispute.close("admin", "1005", "bobs-bikes")
    assert board_of(talk["admin"]).open_disputes == 1
    assert board_of(talk["bob"]).open_disputes == 0


def test_the_page_shows_the_counters(talk, client_for):
    html = client_for("bob").get(URL).content.decode()
    assert "Unread messages" in html and "Open disputes" in html
    assert '<span class="om-stat__value" data-counter="unread">3</span>' in html
    assert '<span class="om-stat__value" data-counter="open-disputes">1</span>' in html


# -- the new-dispute alert ------------------------------------------------------------------


def test_a_new_dispute_is_announced_once(talk, client_for):
    bob = client_for("bob")

    alert = alert_of(bob.get(URL))
    assert alert is not None
    thread = reverse("order_messages:thread", kwargs={"number": "1005", "vendor_key": "bobs-bikes"})
    assert f'href="{thread}"' in alert
    assert "Carol Chen" in alert and "Wrong size sent" in alert
    assert "1 new dispute since your last visit" in alert
    assert "No poles" not in alert  # Dave's

    assert alert_of(bob.get(URL)) is None


def test_a_dispute_opened_after_the_visit_is_announced_on_the_next(talk, client_for, dispute):
    bob = client_for("bob")
    bob.get(URL)

    dispute.open("alice", "1001", "bobs-bikes", "Helmet cracked")

    alert = alert_of(bob.get(URL))
    assert alert is not None
    assert "Helmet cracked" in alert
    assert "Wrong size sent" not in alert  # seen on the first visit
    assert alert_of(bob.get(URL)) is None


def test_staff_see_new_disputes_of_every_vendor_but_not_their_own(talk, client_for, dispute):
    dispute.open("admin", "1001", "bobs-bikes", "Opened by the store")
    alert = alert_of(client_for("admin").get(URL))
    assert "Wrong size sent" in alert and "No poles, no tent" in alert
    assert "Opened by the store" not in alert
    assert "2 new disputes since your last visit" in alert
    assert "Opened by the store" in alert_of(client_for("bob").get(URL))


def test_a_first_visit_announces_the_disputes_of_the_last_seven_days(
    no_conversations, post, dispute, client_for
):
    shift_dispute(dispute.open("carol", "1005", "bobs-bikes", "Six days old"), days=6)
    shift_dispute(dispute.open("alice", "1002", "bobs-bikes", "Eight days old"), days=8)

    board = board_of(no_conversations["bob"])
    assert [d.reason_excerpt for d in board.new_disputes] == ["Six days old"]
    assert board.new_disputes_total == 1
    assert board.open_disputes == 2

    alert = alert_of(client_for("bob").get(URL))
    assert "Six days old" in alert and "Eight days old" not in alert


def test_viewing_the_dashboard_records_when(talk, client_for):
    bob = talk["bob"]
    assert not DashboardSeen.objects.filter(user=bob).exists()
    before = timezone.now()
    client_for("bob").get(URL)
    seen = DashboardSeen.objects.get(user=bob).disputes_seen_at
    assert before <= seen <= timezone.now()


def test_the_seen_time_never_moves_back(talk):
    bob, shown = talk["bob"], timezone.now() - dt.timedelta(hours=2)
    actions.mark_dashboard_seen(user=bob, at=shown)
    actions.mark_dashboard_seen(user=bob, at=shown - dt.timedelta(hours=1))
    assert DashboardSeen.objects.get(user=bob).disputes_seen_at == shown
    actions.mark_dashboard_seen(user=bob, at=shown + dt.timedelta(hours=1))
    assert DashboardSeen.objects.get(user=bob).disputes_seen_at == shown + dt.timedelta(hours=1)


def test_a_seen_time_to_come_counts_as_now(talk):
    """A fast clock cannot hide the alerts of the disputes opened until its time."""
    bob = talk["bob"]
    actions.mark_dashboard_seen(user=bob, at=timezone.now() + dt.timedelta(days=365))
    assert DashboardSeen.objects.get(user=bob).disputes_seen_at <= timezone.now()


def test_the_alert_lists_the_newest_few_and_says_how_many_more(demo, client_for):
    make_disputed(demo, count=8)
    board = board_of(demo["admin"])
    assert board.new_disputes_total == 8
    assert len(board.new_disputes) == 5
    assert board.new_disputes[0].conversation.order_number == "9000"  # the newest first
    assert "and 3 more" in alert_of(client_for("admin").get(URL))


def test_a_long_reason_is_shortened(no_conversations, dispute):
    dispute.open("carol", "1005", "bobs-bikes", "Broken. " * 100)
    [new] = board_of(no_conversations["bob"]).new_disputes
    assert len(new.reason_excerpt) <= 140 and new.reason_excerpt.endswith("…")


# -- the last 30 days -----------------------------------------------------------------------


def test_the_series_counts_customer_messages_and_disputes_per_utc_day(no_figures, post, dispute):
    """From the worker's roll-up (queries/metrics.py): the customers' messages of each UTC
    day, and the disputes opened."""
    today = utc_today()

    def message_on(day, hour=12, vendor_key="bobs-bikes", who="alice"):
        with time_machine.travel(at_utc(day, hour), tick=False):
            post(who, "1001", vendor_key, "Hi")

    for _ in range(3):
        message_on(today, hour=0)
    message_on(today - dt.timedelta(days=5), hour=0)
    message_on(today - dt.timedelta(days=5), hour=23)
    message_on(today - dt.timedelta(days=5), hour=23, who="bob")  # the vendor's: not counted
    message_on(today - dt.timedelta(days=29))  # the first day shown
    message_on(today - dt.timedelta(days=30))  # too old
    message_on(today - dt.timedelta(days=5), vendor_key="daves-outdoor")  # not Bob's
    with time_machine.travel(at_utc(today - dt.timedelta(days=5), 13), tick=False):
        dispute.open("alice", "1001", "bobs-bikes", "Broken")
    actions.roll_up_all()

    # Day boundaries are UTC's whatever the active time zone.
    with timezone.override("America/New_York"):
        board = board_of(no_figures["bob"], today=today)

    assert len(board.days) == 30
    assert board.days[0].date == today - dt.timedelta(days=29)
    assert board.days[-1].date == today
    assert [d.date for d in board.days] == sorted(d.date for d in board.days)
    counts = {(today - d.date).days: (d.messages, d.disputes) for d in board.days}
    assert counts[0] == (3, 0)
    assert counts[5] == (2, 1)  # the dispute's own system message is not a message
    assert counts[29] == (1, 0)
    assert counts[1] == (0, 0)  # quiet days are there too
    assert board.messages_total == 6 and board.disputes_total == 1
    assert board.busiest_day.date == today

    staff = board_of(no_figures["admin"], today=today)
    assert staff.days[-6].messages == 3  # Dave's customer counts for the store


def test_the_series_waits_for_the_worker(no_figures, post):
    """Messages are counted by the worker's next round (a minute or so), not at once."""
    post("alice", "1001", "bobs-bikes", "Just now")
    assert board_of(no_figures["bob"]).messages_total == 0
    actions.roll_up_all(now=timezone.now() + dt.timedelta(minutes=2))
    assert board_of(no_figures["bob"]).messages_total == 1


def test_the_series_of_an_earlier_day_stops_at_that_day(no_figures, post):
    today = utc_today()
    post("alice", "1001", "bobs-bikes", "Today")
    actions.roll_up_all(lag=dt.timedelta(0))
    board = board_of(no_figures["bob"], today=today - dt.timedelta(days=1))
    assert board.days[-1].date == today - dt.timedelta(days=1)
    assert board.messages_total == 0
    assert board.busiest_day is None


def test_the_page_draws_the_chart_and_its_table(no_figures, post, client_for):
    post("alice", "1001", "bobs-bikes", "Hi")
    actions.roll_up_all(lag=dt.timedelta(0))
    html = client_for("bob").get(URL).content.decode()
    chart = html[html.index('id="om-chart-heading"') :]
    assert chart.count('role="img"') == 2  # the wide chart and the compact one, in CSS
    svg = chart[chart.index('<svg class="om-chart__svg') : chart.rindex("</svg>")]
    assert "<title" in svg and "Total customer messages: 1; disputes opened: 0." in svg
    assert "<script" not in svg
    assert svg.count("<rect") == 2  # today's bar, in each chart
    table = chart[chart.index("<table") : chart.index("</table>")]
    assert table.count("<tr>") == 31  # the header and 30 days


# -- the chart's geometry -------------------------------------------------------------------


def days(*values):
    start = dt.date(2026, 3, 1)
    return [
        SimpleNamespace(date=start + dt.timedelta(days=i), messages=m, disputes=d)
        for i, (m, d) in enumerate(values)
    ]


def test_bar_heights_are_proportional_and_the_maximum_reaches_the_top():
    chart = daily_chart(days=days((10, 0), (5, 1), (20, 2), (0, 0)))
    ten, five, twenty, zero = chart.bars
    assert chart.y_max == 20
    assert twenty.y == chart.top
    assert twenty.y + twenty.height == chart.bottom
    assert ten.height == pytest.approx(twenty.height / 2, abs=0.01)
    assert five.height == pytest.approx(twenty.height / 4, abs=0.01)
    assert zero.height == 0
    assert [m.value for m in chart.markers] == [0, 1, 2, 0]
    assert chart.markers[2].y == pytest.approx(chart.bottom - (chart.bottom - chart.top) / 10)
    # Bars sit side by side inside the plot, in date order.
    xs = [bar.x for bar in chart.bars]
    assert xs == sorted(xs) and xs[0] > chart.left and xs[-1] + zero.width < chart.right


def test_the_y_axis_has_round_ticks_from_zero_to_the_top():
    chart = daily_chart(days=days((17, 0), (3, 0)))
    assert [t.value for t in chart.y_ticks] == [0, 5, 10, 15, 20]
    assert chart.y_ticks[0].y == chart.bottom and chart.y_ticks[-1].y == chart.top
    assert nice_scale(7) == (8, 2)
    assert nice_scale(41) == (50, 10)
    assert nice_scale(100) == (100, 20)
    assert nice_scale(12345) == (12500, 2500)


@pytest.mark.parametrize("data", [[], days((0, 0), (0, 0))])
def test_an_empty_chart_does_not_divide_by_zero(data):
    chart = daily_chart(days=data)
    assert chart.y_max == 1
    assert all(bar.height == 0 for bar in chart.bars)
    assert chart.lines == []  # no disputes: no line along the axis


def test_dates_are_labelled_weekly_counting_back_from_the_last_day():
    data = days(*[(1, 0)] * 30)
    chart = daily_chart(days=data)
    assert [label.date for label in chart.x_labels] == [data[i].date for i in (1, 8, 15, 22, 29)]
    assert chart.x_labels[-1].text == "Mar 30"
    assert chart.x_labels[-1].anchor == "end" and chart.x_labels[-1].x == chart.right


def test_the_disputes_line_skips_quiet_stretches():
    chart = daily_chart(days=days((0, 0), (0, 0), (0, 1), (0, 0), (0, 0), (0, 0), (0, 2)))
    assert len(chart.lines) == 2
    assert [len(points.split()) for points in chart.lines] == [3, 2]


# -- who may see it -------------------------------------------------------------------------


def test_customers_may_not_see_the_dashboard(client_for):
    assert client_for("alice").get(URL).status_code == 403


def test_staff_without_the_permission_may_not_see_it(staff_without_permission):
    from django.test import Client

    client = Client()
    client.force_login(staff_without_permission)
    assert client.get(URL).status_code == 403
    assert not DashboardSeen.objects.filter(user=staff_without_permission).exists()


def test_staff_with_the_permission_see_everything(staff_without_permission, talk):
    from django.test import Client

    staff_without_permission.user_permissions.add(
        Permission.objects.get(codename="manage_conversations")
    )
    client = Client()
    client.force_login(staff_without_permission)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["board"].open_disputes == 2


def test_anonymous_visitors_are_asked_to_log_in(db, client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# -- cost -----------------------------------------------------------------------------------


def make_disputed(demo, *, count):
    """``count`` conversations of Carol with Bob, each with an open dispute opened in the
    last hours, the newest first."""
    now = timezone.now()
    conversations = make_conversations(customer=demo["carol"], vendor_user=demo["bob"], count=count)
    disputes = Dispute.objects.bulk_create(
        [
            Dispute(conversation=c, reason=f"Problem {i}", opened_by=demo["carol"])
            for i, c in enumerate(conversations)
        ]
    )
    for i, d in enumerate(disputes):
        Dispute.objects.filter(pk=d.pk).update(opened_at=now - dt.timedelta(minutes=i + 1))
        Conversation.objects.filter(pk=d.conversation_id).update(open_dispute=d)
    return conversations


def spread_messages(conversations):
    """Move the conversations' messages over the last 40 days."""
    for i, c in enumerate(conversations):
        Message.objects.filter(conversation=c).update(
            created_at=timezone.now() - dt.timedelta(days=i % 40)
        )


def test_the_dashboard_is_eight_queries_whatever_the_data(
    no_figures, post, django_assert_num_queries
):
    """Seen time, unread, new disputes, escalated ones, the roll-up's days, customers
    waiting, disputes open now, and the store's count of orders (the demo: one query)."""
    scopes = [queries.access_backoffice(user=no_figures[name]) for name in ("bob", "admin")]
    post("alice", "1001", "bobs-bikes")
    for scope in scopes:
        with django_assert_num_queries(8):
            queries.dashboard(scope=scope)

    spread_messages(make_disputed(no_figures, count=120))
    actions.roll_up_all(lag=dt.timedelta(0))
    for scope in scopes:
        with django_assert_num_queries(8):
            board = queries.dashboard(scope=scope)
        assert board.new_disputes_total == 120 and board.open_disputes == 120
        assert board.messages_total == 1  # the others were written as Bob's


@pytest.mark.parametrize("username", ["bob", "admin"])
def test_the_page_costs_the_same_with_little_or_much_data(no_figures, post, username):
    from django.test import Client

    def page_queries(client):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    client = Client()
    client.force_login(no_figures[username])
    post("alice", "1001", "bobs-bikes")
    client.get(URL)  # the first visit creates the seen row
    small = page_queries(client)

    spread_messages(make_disputed(no_figures, count=150))
    actions.roll_up_all(lag=dt.timedelta(0))
    large = page_queries(client)
    assert len(small) == len(large), "\n".join(["small:", *small, "large:", *large])
    assert conversation_of("1001", "bobs-bikes")  # the small data is still there
