"""How fast each seller answers: the worker's roll-up of the messages
into ResponseDay rows, the figures read from them, the staff's table of every vendor and
a vendor's page, who may see them, and what they cost."""

import datetime as dt
import math
import threading
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from order_messages import actions, queries
from order_messages.actions.metrics import WATERMARK, roll_up_all, roll_up_responses
from order_messages.adapter import STORE, get_adapter
from order_messages.metrics import (
    BUCKETS,
    DAY,
    HOUR,
    MINUTE,
    bucket_of,
    duration_text,
    empty_histogram,
    quantile,
)
from order_messages.models import Conversation, Dispute, Message, ResponseDay, Watermark
from tests.conftest import make_conversations

NOW_LAG = dt.timedelta(0)


def utc_today():
    return timezone.now().astimezone(dt.UTC).date()


def at(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def staff_scope():
    from django.contrib.auth import get_user_model

    return queries.access_backoffice(user=get_user_model().objects.get(username="admin"))


def vendor_url(vendor_key):
    return reverse("order_messages:vendor_dashboard", kwargs={"vendor_key": vendor_key})


def rows():
    """Every ResponseDay as plain values, to compare two roll-ups."""
    return list(
        ResponseDay.objects.order_by("vendor_key", "day").values_list(
            "vendor_key",
            "vendor_name",
            "day",
            "customer_messages",
            "answered_within_day",
            "responses",
            "response_histogram",
            "disputes_opened",
            "disputes_escalated",
            "disputes_resolved",
        )
    )


def day_of(vendor_key, day):
    return ResponseDay.objects.filter(vendor_key=vendor_key, day=day).first()


def histogram_with(**counts):
    """A histogram with ``n`` responses in the bucket of each ``seconds``: h(s2400=1)."""
    histogram = empty_histogram()
    for key, n in counts.items():
        histogram[bucket_of(float(key.removeprefix("s")))] += n
    return histogram


def forget_figures():
    """The seed's roll-up forgotten, the watermark past every message there was."""
    ResponseDay.objects.all().delete()
    last = Message.objects.aggregate(n=Max("pk"))["n"] or 0
    Watermark.objects.update_or_create(name=WATERMARK, defaults={"last_id": last})


@pytest.fixture
def no_figures(no_conversations):
    """No conversations and no figures."""
    forget_figures()
    return no_conversations


@pytest.fixture
def history(no_figures, post, dispute):
    """Ten days ago (D), Bob's Bikes answers Alice in 40 minutes (her two messages) and
    Carol after 26 hours (her message of D and one of D+1); Dave's Outdoor never answers
    Alice. On D+2 Alice opens a dispute Bob lets run out (escalated); on D+3 Carol opens
    one the store resolves with a refund the day after."""
    day = utc_today() - dt.timedelta(days=10)
    plus = lambda n: day + dt.timedelta(days=n)  # noqa: E731
    steps = [
        (at(day, 8), lambda: post("alice", "1001", "daves-outdoor", "Tent poles?")),
        (at(day, 9), lambda: post("alice", "1001", "bobs-bikes", "Where is my helmet?")),
        (at(day, 9, 10), lambda: post("alice", "1001", "bobs-bikes", "It is a gift.")),
        (at(day, 9, 40), lambda: post("bob", "1001", "bobs-bikes", "Ships today.")),
        (at(day, 10), lambda: post("carol", "1005", "bobs-bikes", "Which size?")),
        (at(plus(1), 11), lambda: post("carol", "1005", "bobs-bikes", "Hello?")),
        (at(plus(1), 12), lambda: post("bob", "1005", "bobs-bikes", "Size M.")),
        (at(plus(1), 13), lambda: post("bob", "1005", "bobs-bikes", "Anything else?")),
        (at(plus(2), 10), lambda: dispute.open("alice", "1002", "bobs-bikes", "Broken")),
        (at(plus(3), 10), lambda: dispute.open("carol", "1005", "bobs-bikes", "Too small")),
        (at(plus(4), 10), lambda: dispute.close("admin", "1005", "bobs-bikes", "refunded")),
    ]
    return day, steps


def live_through(steps, *, between=lambda: None):
    """Each step at its moment; ``between`` after each, still at that moment."""
    for when, step in steps:
        with time_machine.travel(when, tick=False):
            step()
            between()


def escalate_overdue():
    """The worker's clock, a minute after the deadline of every open dispute."""
    for respond_by in Dispute.objects.filter(status="open").values_list("respond_by", flat=True):
        moment = respond_by + dt.timedelta(minutes=1)
        with time_machine.travel(moment, tick=False):
            actions.escalate_overdue_disputes(now=moment)


# -- the arithmetic -------------------------------------------------------------------------


def test_a_response_time_falls_in_the_first_bucket_whose_bound_it_does_not_exceed():
    assert bucket_of(0) == 0
    assert bucket_of(5 * MINUTE) == 0
    assert bucket_of(5 * MINUTE + 1) == 1
    assert bucket_of(DAY) == BUCKETS.index(DAY)
    assert bucket_of(30 * DAY) == len(BUCKETS) - 1


def test_percentiles_interpolate_within_the_bucket_the_rank_falls_in():
    assert quantile(empty_histogram(), 0.5) is None
    # One answer between 15 and 30 minutes: the median is the bucket's middle.
    one = histogram_with(s1200=1)
    assert quantile(one, 0.5) == 15 * MINUTE + 7.5 * MINUTE
    # Three quick answers and one slow: the median is quick, the 90th percentile slow.
    four = histogram_with(s60=3, s20000=1)
    assert quantile(four, 0.5) == pytest.approx(5 * MINUTE * 2 / 3)
    assert 4 * HOUR < quantile(four, 0.9) <= 8 * HOUR
    assert quantile(four, 0.9) == pytest.approx(4 * HOUR + 4 * HOUR * 0.6)
    # Beyond the last finite bound only "more than a week" is known.
    assert quantile(histogram_with(s2000000=1), 0.5) == math.inf


def test_response_times_read_in_minutes_hours_or_days():
    assert duration_text(None) == "—"
    assert duration_text(40) == "1 min"
    assert duration_text(40 * MINUTE) == "40 min"
    assert duration_text(2.5 * HOUR) == "2.5 h"
    assert duration_text(26 * HOUR) == "26 h"
    assert duration_text(3.5 * DAY) == "3.5 d"
    assert duration_text(math.inf) == "> 1 week"


def response_days(*histograms):
    from order_messages.queries.metrics import DayFigures

    start = dt.date(2026, 3, 1)
    return [
        DayFigures(date=start + dt.timedelta(days=i), responses=sum(h), histogram=h)
        for i, h in enumerate(histograms)
    ]


def test_the_trend_chart_counts_in_minutes_for_a_quick_seller_and_leaves_quiet_days_empty():
    from order_messages.charts import response_chart

    chart = response_chart(
        days=response_days(
            histogram_with(s60=1), histogram_with(s600=2), empty_histogram(), histogram_with(s60=1)
        )
    )
    assert [t.text for t in chart.y_ticks][-1].endswith(" min")
    assert chart.y_ticks[0].y == chart.bottom and chart.y_ticks[-1].y == chart.top
    assert [b.date.day for b in chart.bars] == [1, 2, 4]  # none on the quiet third day
    assert [len(line.split()) for line in chart.lines] == [2]  # the 90th percentile, days 1-2
    assert chart.bars[1].height > chart.bars[0].height
    assert chart.bars[1].title == "Mon, Mar 2: median 10 min (2 answers)"


def test_the_trend_chart_draws_more_than_a_week_at_a_week_in_days():
    from order_messages.charts import response_chart

    chart = response_chart(days=response_days(histogram_with(s3600=1), histogram_with(s2000000=1)))
    assert chart.y_ticks[-1].text.endswith(" d")
    slow = chart.bars[1]
    assert chart.top <= slow.y < chart.bars[0].y
    assert slow.title.endswith("median > 1 week (1 answer)")


# -- the roll-up ----------------------------------------------------------------------------


def test_the_roll_up_counts_a_hand_built_history(history):
    day, steps = history
    live_through(steps[:9])
    escalate_overdue()
    live_through(steps[9:])
    escalated_day = Dispute.objects.get(status="escalated").escalated_at.astimezone(dt.UTC).date()

    assert roll_up_all() == Message.objects.count()

    d0 = day_of("bobs-bikes", day)
    assert d0.vendor_name == "Bob's Bikes"
    assert d0.customer_messages == 3  # Alice's two and Carol's first
    assert d0.responses == 1
    assert d0.response_histogram == histogram_with(s2400=1)  # Alice waited 40 minutes
    # Alice's two answered in 40 minutes, and Carol's message of D+1 (answered within a
    # day, counted on the earliest day it can have been written, D).
    assert d0.answered_within_day == 3
    d1 = day_of("bobs-bikes", day + dt.timedelta(days=1))
    assert d1.customer_messages == 1
    assert d1.responses == 1 and d1.response_histogram == histogram_with(s93600=1)  # 26 h
    assert d1.answered_within_day == 0
    assert day_of("bobs-bikes", day + dt.timedelta(days=2)).disputes_opened == 1
    assert day_of("bobs-bikes", escalated_day).disputes_escalated == 1
    assert day_of("bobs-bikes", day + dt.timedelta(days=3)).disputes_opened == 1
    assert day_of("bobs-bikes", day + dt.timedelta(days=4)).disputes_resolved == 1
    daves = ResponseDay.objects.get(vendor_key="daves-outdoor")
    assert (daves.day, daves.customer_messages, daves.responses) == (day, 1, 0)
    assert daves.response_histogram == empty_histogram()
    # Nothing counted twice: the sums over all rows.
    assert sum(r.customer_messages for r in ResponseDay.objects.all()) == 5
    assert sum(r.responses for r in ResponseDay.objects.all()) == 2


def test_the_figures_over_30_days(history, client_for):
    day, steps = history
    live_through(steps[:9])
    escalate_overdue()
    live_through(steps[9:])
    roll_up_all()

    figures = queries.vendor_figures(scope=staff_scope(), vendor_key="bobs-bikes")
    assert figures.vendor_name == "Bob's Bikes"
    assert len(figures.days) == 30 and figures.days[-1].date == utc_today()
    assert figures.total.responses == 2
    # Two answers, 40 minutes and 26 hours: the median reaches the first one's bucket's
    # upper bound, the 90th percentile lies 80 % into the 1-2 days bucket.
    assert figures.median == HOUR
    assert figures.p90 == pytest.approx(DAY + 0.8 * DAY)
    assert figures.within_day_share == 3 / 4
    assert (figures.open_disputes, figures.escalated_disputes) == (1, 1)
    orders = get_adapter().count_orders(since=at(figures.days[0].date, 0))["bobs-bikes"]
    assert figures.orders == orders
    assert figures.disputes_per_100_orders == pytest.approx(2 / orders * 100)

    html = client_for("bob").get(vendor_url("bobs-bikes")).content.decode()
    assert 'data-figure="median">1.0 h<' in html
    assert 'data-figure="within-day">75 %<' in html
    assert 'data-figure="escalated-disputes">1<' in html


def test_a_customer_still_waiting_for_less_than_a_day_does_not_count_against_the_share(
    no_figures, post
):
    day = utc_today() - dt.timedelta(days=3)
    live_through(
        [
            (at(day, 9), lambda: post("alice", "1001", "bobs-bikes", "Question")),
            (at(day, 10), lambda: post("bob", "1001", "bobs-bikes", "Answer")),
        ]
    )
    with time_machine.travel(timezone.now() - dt.timedelta(hours=2), tick=False):
        post("carol", "1005", "bobs-bikes", "Still waiting")
    roll_up_all()

    figures = queries.vendor_figures(scope=staff_scope(), vendor_key="bobs-bikes")
    assert figures.total.customer_messages == 2
    assert figures.total.pending == 1
    assert figures.within_day_share == 1.0


def test_incremental_rounds_add_up_to_a_rebuild(history):
    """The worker's rounds as they happen, each leaving the messages of its last minute
    and reading a few at a time, give what reading everything again gives."""
    _, steps = history

    def worker_round():
        roll_up_responses(batch=2)

    live_through(steps[:9], between=worker_round)
    escalate_overdue()
    live_through(steps[9:], between=worker_round)
    roll_up_all(batch=3)
    incremental = rows()
    assert incremental

    out = StringIO()
    call_command("roll_up_responses", "--rebuild", stdout=out, stderr=StringIO())
    assert rows() == incremental
    assert f"Rolled up {Message.objects.count():,} messages." in out.getvalue()


def test_a_message_younger_than_the_lag_is_left_for_a_later_round(no_figures, post):
    message = post("alice", "1001", "bobs-bikes", "Just now")
    assert roll_up_responses() == 0
    assert not ResponseDay.objects.exists()

    assert roll_up_responses(now=timezone.now() + dt.timedelta(minutes=2)) == 1
    assert Watermark.objects.get(name=WATERMARK).last_id == message.pk


def test_a_round_stops_at_the_first_young_message_even_if_later_ones_are_older(no_figures, post):
    """Ids are handed out at insert, not at commit: what comes after a message the round
    must leave waits with it, or it could never be counted in order."""
    first = post("alice", "1001", "bobs-bikes", "One")
    second = post("alice", "1001", "bobs-bikes", "Two")
    Message.objects.filter(pk=second.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    assert first.pk < second.pk

    assert roll_up_responses() == 0
    assert Watermark.objects.get(name=WATERMARK).last_id < first.pk


def test_the_worker_rolls_up_in_its_clock_round(no_figures, post):
    from order_messages.management.commands.deliver_notifications import DisputeClock

    with time_machine.travel(timezone.now() - dt.timedelta(hours=1), tick=False):
        post("alice", "1001", "bobs-bikes", "An hour ago")
    done = DisputeClock().run_once()
    assert done.rolled_up == 1
    assert ResponseDay.objects.get(vendor_key="bobs-bikes").customer_messages == 1

    with time_machine.travel(timezone.now() - dt.timedelta(hours=1), tick=False):
        post("carol", "1005", "bobs-bikes", "Also an hour ago")
    out = StringIO()
    call_command("deliver_notifications", "--once", stdout=out)
    assert "messages rolled up into the response figures 1" in out.getvalue()
    assert ResponseDay.objects.get(vendor_key="bobs-bikes").customer_messages == 2


# -- exactly once, with several workers -----------------------------------------------------


def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "PostgreSQL only: SQLite lets one writer in at a time (IMMEDIATE transactions), "
            "so there is no row lock to race"
        )


@pytest.mark.django_db(transaction=True)
def test_a_worker_skips_its_round_while_another_holds_the_watermark(demo, post):
    postgres_only()
    Watermark.objects.get_or_create(name=WATERMARK)
    held, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                Watermark.objects.select_for_update().get(name=WATERMARK)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(10)
        assert roll_up_responses(now=timezone.now() + dt.timedelta(hours=1)) is None
    finally:
        release.set()
        thread.join()
    assert roll_up_responses(now=timezone.now() + dt.timedelta(hours=1)) is not None


@pytest.mark.django_db(transaction=True)
def test_racing_workers_count_every_message_once(demo, post):
    postgres_only()
    Conversation.objects.all().delete()
    day = utc_today() - dt.timedelta(days=2)
    for i in range(40):
        with time_machine.travel(at(day, 8) + dt.timedelta(minutes=7 * i), tick=False):
            who, number = [("alice", "1001"), ("carol", "1005"), ("bob", "1001")][i % 3]
            post(who, number, "bobs-bikes", f"Message {i}")
    actions.reset_responses()

    start = threading.Barrier(4)
    errors = []

    def worker():
        try:
            start.wait(10)
            last = Message.objects.aggregate(n=Max("pk"))["n"]
            while Watermark.objects.get(name=WATERMARK).last_id < last:
                roll_up_responses(batch=3)
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    raced = rows()

    call_command("roll_up_responses", "--rebuild", stdout=StringIO(), stderr=StringIO())
    assert rows() == raced
    assert sum(row[3] for row in raced) == Message.objects.filter(author_role="customer").count()


# -- the dashboard and the vendor page ------------------------------------------------------


def test_a_vendor_sees_his_own_figures_on_the_dashboard(history, client_for):
    _, steps = history
    live_through(steps)
    roll_up_all()

    html = client_for("bob").get("/messages/dashboard/").content.decode()
    assert "How fast you answer" in html
    assert 'data-figure="median">' in html
    assert vendor_url("bobs-bikes") in html
    assert "Dave" not in html and vendor_url("daves-outdoor") not in html
    assert "om-vendor-table" not in html  # the staff's table


def test_the_vendor_page_is_for_store_staff_and_the_vendor_itself(no_figures, client_for):
    # Dave's Outdoor has never had a conversation: his own page is there for him, empty,
    # and there is nothing to show the store's staff.
    assert client_for("dave").get(vendor_url("daves-outdoor")).status_code == 200
    assert client_for("admin").get(vendor_url("daves-outdoor")).status_code == 404
    make_conversations(customer=no_figures["carol"], vendor_user=no_figures["bob"], count=1)
    assert client_for("admin").get(vendor_url("bobs-bikes")).status_code == 200
    assert client_for("admin").get(vendor_url(STORE)).status_code == 200
    assert client_for("bob").get(vendor_url("bobs-bikes")).status_code == 200
    assert client_for("bob").get(vendor_url("daves-outdoor")).status_code == 404
    assert client_for("bob").get(vendor_url(STORE)).status_code == 404
    assert client_for("alice").get(vendor_url("bobs-bikes")).status_code == 403
    assert client_for("admin").get(vendor_url("no-such-vendor")).status_code == 404
    assert client_for("admin").get(vendor_url("bobs%00bikes")).status_code == 404


def test_anonymous_visitors_are_asked_to_log_in_for_a_vendor_page(db, client):
    response = client.get(vendor_url("bobs-bikes"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def seed_days(vendors):
    """ResponseDay rows of today: {vendor key: (name, histogram, customer messages,
    answered within a day)}."""
    today = utc_today()
    ResponseDay.objects.bulk_create(
        ResponseDay(
            vendor_key=key,
            vendor_name=name,
            day=today,
            customer_messages=messages,
            answered_within_day=answered,
            responses=sum(histogram),
            response_histogram=histogram,
        )
        for key, (name, histogram, messages, answered) in vendors.items()
    )


@pytest.fixture
def three_vendors(no_figures):
    seed_days(
        {
            "fast": ("Anna's Apples", histogram_with(s60=4), 4, 4),
            "slow": ("Carl's Cables", histogram_with(s90000=2), 4, 1),
            "quiet": ("Bea's Books", empty_histogram(), 2, 0),  # no answers yet
        }
    )
    return no_figures


def table_names(response):
    return [f.vendor_name for f in response.context["board"].table.rows]


def test_the_staff_table_sorts_by_each_column(three_vendors, client_for):
    admin = client_for("admin")

    assert table_names(admin.get("/messages/dashboard/")) == [
        "Anna's Apples",
        "Bea's Books",
        "Carl's Cables",
    ]
    # Fastest first; a vendor without answers has no median and comes last either way.
    fastest = admin.get("/messages/dashboard/?sort=median")
    assert table_names(fastest) == ["Anna's Apples", "Carl's Cables", "Bea's Books"]
    slowest = admin.get("/messages/dashboard/?sort=-median")
    assert table_names(slowest) == ["Carl's Cables", "Anna's Apples", "Bea's Books"]
    answered = admin.get("/messages/dashboard/?sort=answered")
    assert table_names(answered) == ["Bea's Books", "Carl's Cables", "Anna's Apples"]
    assert table_names(admin.get("/messages/dashboard/?sort=nonsense"))[0] == "Anna's Apples"

    html = fastest.content.decode()
    header = html[html.index("<thead") : html.index("</thead>")]
    assert header.count("aria-sort=") == 1
    assert 'aria-sort="ascending"><a href="?sort=-median">' in header
    assert '<a href="?sort=p90">' in header
    assert vendor_url("slow") in html


def test_the_staff_table_hides_disputes_per_100_orders_when_the_store_does_not_count(
    three_vendors, client_for, monkeypatch
):
    adapter = type(get_adapter())
    assert (
        "Disputes per 100 orders"
        in client_for("admin").get("/messages/dashboard/").content.decode()
    )
    monkeypatch.setattr(adapter, "count_orders", lambda self, since: None)
    response = client_for("admin").get("/messages/dashboard/")
    assert not response.context["board"].table.has_orders
    assert "Disputes per 100 orders" not in response.content.decode()


def test_staff_see_escalated_disputes_first_thing(no_figures, post, dispute, client_for):
    with time_machine.travel(timezone.now() - dt.timedelta(days=5), tick=False):
        dispute.open("alice", "1002", "bobs-bikes", "Broken frame", reason_code="damaged")
        dispute.open("carol", "1005", "daves-outdoor", "Wrong tent")
    escalate_overdue()
    dispute.open("alice", "1001", "bobs-bikes", "Not escalated")

    html = client_for("admin").get("/messages/dashboard/").content.decode()
    section = html[
        html.index('id="om-escalated"') : html.index("</section>", html.index('id="om-escalated"'))
    ]
    assert "2 escalated disputes" in section
    thread = reverse("order_messages:thread", kwargs={"number": "1002", "vendor_key": "bobs-bikes"})
    assert f'href="{thread}"' in section and "Bob&#x27;s Bikes" in section and "Damaged" in section
    assert "Not escalated" not in section and "1001" not in section

    bobs = client_for("bob").get("/messages/dashboard/").content.decode()
    assert (
        "1 escalated dispute" in bobs and "Wrong tent" not in bobs and "daves-outdoor" not in bobs
    )


# -- what it costs ----------------------------------------------------------------------------


def many_figures(demo, *, vendors=40, conversations=150):
    """A month of ResponseDay rows for many vendors, and many more messages."""
    today = utc_today()
    ResponseDay.objects.bulk_create(
        ResponseDay(
            vendor_key=f"vendor-{v}",
            vendor_name=f"Vendor {v}",
            day=today - dt.timedelta(days=d),
            customer_messages=10,
            answered_within_day=9,
            responses=5,
            response_histogram=histogram_with(s600=3, s7200=2),
            disputes_opened=d % 3,
        )
        for v in range(vendors)
        for d in range(30)
    )
    make_conversations(customer=demo["carol"], vendor_user=demo["bob"], count=conversations)


@pytest.mark.parametrize("username", ["bob", "admin"])
def test_the_dashboard_reads_the_same_queries_at_any_size(
    no_figures, post, username, django_assert_num_queries
):
    scope = queries.access_backoffice(user=no_figures[username])
    post("alice", "1001", "bobs-bikes")
    roll_up_all(lag=NOW_LAG)
    with CaptureQueriesContext(connection) as small:
        queries.dashboard(scope=scope)

    many_figures(no_figures)
    roll_up_all(lag=NOW_LAG)
    with django_assert_num_queries(len(small.captured_queries)):
        board = queries.dashboard(scope=scope)
    assert len(small.captured_queries) == 8
    if username == "admin":
        assert len(board.table.rows) > 40


def test_the_vendor_page_reads_the_same_queries_at_any_size(no_figures, post, client_for):
    admin = client_for("admin")
    post("alice", "1001", "bobs-bikes")

    def page_queries():
        with CaptureQueriesContext(connection) as captured:
            assert admin.get(vendor_url("bobs-bikes")).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    small = page_queries()
    many_figures(no_figures)
    roll_up_all(lag=NOW_LAG)
    large = page_queries()
    assert len(small) == len(large), "\n".join(["small:", *small, "large:", *large])


# -- the store's count of orders (the demo) -------------------------------------------------


def test_the_demo_store_counts_orders_per_vendor_since_a_moment(demo):
    from demo.store.models import Order, OrderItem, Product

    since = timezone.now() - dt.timedelta(minutes=1)
    before = get_adapter().count_orders(since=since)
    order = Order.objects.create(
        number="7001",
        customer=demo["alice"],
        email="a@example.com",
        name="A",
        placed_at=timezone.now(),
    )
    for product in (
        Product.objects.filter(vendor__slug="bobs-bikes").first(),
        Product.objects.filter(vendor__slug="bobs-bikes").last(),
        Product.objects.filter(vendor__isnull=True).first(),
    ):
        OrderItem.objects.create(
            order=order, product=product, vendor=product.vendor, name="x", price=product.price
        )
    Order.objects.create(
        number="7002",
        customer=demo["alice"],
        email="a@example.com",
        name="A",
        placed_at=since - dt.timedelta(days=1),
    ).items.create(
        product=Product.objects.filter(vendor__slug="bobs-bikes").first(), name="x", price=1
    )

    after = get_adapter().count_orders(since=since)
    assert after.get("bobs-bikes", 0) == before.get("bobs-bikes", 0) + 1  # one order, two items
    assert after.get(STORE, 0) == before.get(STORE, 0) + 1
    assert after.get("daves-outdoor", 0) == before.get("daves-outdoor", 0)
