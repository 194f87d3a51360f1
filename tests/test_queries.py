"""Reads: who may see an order's conversations, the inbox pages, thread pages, counts."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.test import override_settings
from django.utils import timezone

from order_messages import actions, errors, queries
from order_messages.models import Participant, Role
from tests.conftest import (
    assert_counters_exact,
    conversation_of,
    guest_grant,
    make_conversations,
    make_thread,
)

pytestmark = pytest.mark.usefixtures("no_conversations")


def keys(access):
    return [s.vendor_key for s in access.sub_orders]


# -- access_order -----------------------------------------------------------------------------


def test_the_customer_sees_every_conversation_of_their_order(order_access):
    access = order_access("alice", "1001")

    assert keys(access) == ["bobs-bikes", "daves-outdoor", "store"]
    assert access.is_customer
    assert not access.is_store_staff
    assert all(access.role_in(s) == Role.CUSTOMER for s in access.sub_orders)
    assert all(access.may_handle_disputes(s) for s in access.sub_orders)


def test_a_vendor_sees_only_their_own_conversation(order_access):
    access = order_access("bob", "1001")

    assert keys(access) == ["bobs-bikes"]
    assert not access.is_customer
    assert access.role_in(access.sub_order("bobs-bikes")) == Role.VENDOR
    assert not access.may_handle_disputes(access.sub_order("bobs-bikes"))
    with pytest.raises(Http404):
        access.sub_order("daves-outdoor")
    with pytest.raises(Http404):
        access.sub_order("store")


def test_store_staff_see_every_conversation(order_access):
    access = order_access("admin", "1001")

    assert keys(access) == ["bobs-bikes", "daves-outdoor", "store"]
    assert access.is_store_staff
    assert not access.is_customer
    assert all(access.role_in(s) == Role.STAFF for s in access.sub_orders)
    assert all(access.may_handle_disputes(s) for s in access.sub_orders)


@pytest.mark.parametrize(
    "username, number",
    [
        ("carol", "1001"),  # another customer
        ("alice", "1005"),
        ("dave", "1002"),  # a vendor with nothing in the order
        ("bob", "1003"),
        ("bob", "1004"),  # the store's own order
    ],
)
def test_others_get_404(order_access, username, number):
    with pytest.raises(Http404):
        order_access(username, number)


def test_an_unknown_order_is_404(order_access):
    with pytest.raises(Http404):
        order_access("admin", "9999")


def test_an_anonymous_visitor_gets_404(demo):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        queries.access_order(user=AnonymousUser(), order_number="1006")
    with pytest.raises(Http404):
        queries.access_order(user=None, order_number="1001")


def test_a_guest_with_the_order_in_their_session_sees_it(demo):
    from django.contrib.auth.models import AnonymousUser

    access = queries.access_order(
        user=AnonymousUser(), order_number="1006", guests=guest_grant("1006")
    )

    assert keys(access) == ["daves-outdoor"]
    assert access.is_customer
    assert access.user is None
    actor = access.actor_in(access.sub_order("daves-outdoor"))
    assert (actor.user, actor.role, actor.name) == (None, Role.CUSTOMER, "Gina Guest")


def test_a_guest_link_opens_only_its_own_order(demo):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        queries.access_order(user=AnonymousUser(), order_number="1005", guests=guest_grant("1006"))


def test_check_may_handle_disputes_refuses_vendors(order_access):
    from django.core.exceptions import PermissionDenied

    access = order_access("bob", "1002")
    with pytest.raises(PermissionDenied):
        queries.check_may_handle_disputes(viewer=access, sub_order=access.sub_order("bobs-bikes"))
    customer = order_access("alice", "1002")
    queries.check_may_handle_disputes(viewer=customer, sub_order=customer.sub_order("bobs-bikes"))


def opening(access, vendor_key):
    """(offered, the refusal's type or None) of a dispute in this conversation now."""
    from django.core.exceptions import PermissionDenied

    sub_order = access.sub_order(vendor_key)
    tab = next(t for t in queries.order_tabs(access=access) if t.vendor_key == vendor_key)
    try:
        queries.check_may_open_dispute(
            viewer=access, sub_order=sub_order, conversation=tab.conversation
        )
    except (PermissionDenied, errors.InvalidTransition) as refused:
        return access.may_open_dispute(sub_order, tab.conversation), type(refused).__name__
    return access.may_open_dispute(sub_order, tab.conversation), None


@pytest.mark.parametrize("username", ["alice", "admin"])
def test_a_dispute_is_offered_with_a_seller_once_the_conversation_has_begun(
    order_access, post, username
):
    assert opening(order_access(username, "1001"), "bobs-bikes") == (
        False,
        "InvalidTransition",
    )

    post("bob", "1001", "bobs-bikes", "Your helmet ships on Friday.")

    assert opening(order_access(username, "1001"), "bobs-bikes") == (True, None)


@pytest.mark.parametrize("username", ["alice", "admin"])
def test_no_dispute_is_offered_in_the_stores_own_conversation(order_access, post, username):
    post("alice", "1001", "store", "Can I pay by invoice?")

    assert opening(order_access(username, "1001"), "store") == (False, "PermissionDenied")


def test_vendors_are_never_offered_a_dispute(order_access, post):
    post("alice", "1001", "bobs-bikes", "Where is my helmet?")

    assert opening(order_access("bob", "1001"), "bobs-bikes") == (False, "PermissionDenied")


# -- order_tabs -------------------------------------------------------------------------------


def test_order_tabs_show_each_sub_order_with_the_readers_unread(order_access, post):
    post("bob", "1001", "bobs-bikes", "One")
    post("bob", "1001", "bobs-bikes", "Two")
    post("admin", "1001", "store", "Three")

    tabs = queries.order_tabs(access=order_access("alice", "1001"))

    assert [(t.vendor_key, t.unread) for t in tabs] == [
        ("bobs-bikes", 2),
        ("daves-outdoor", 0),
        ("store", 1),
    ]
    assert tabs[1].conversation is None
    assert tabs[0].last_read_seq == 0
    assert tabs[2].is_store


def test_a_reader_who_is_no_participant_has_nothing_unread(order_access, post):
    post("alice", "1001", "bobs-bikes", "Hello")

    (tab, *_) = queries.order_tabs(access=order_access("admin", "1001"))

    assert tab.unread == 0
    assert tab.last_read_seq == tab.conversation.last_seq == 1


# -- counts -----------------------------------------------------------------------------------


def test_unread_total_is_the_users_counter(demo, post):
    post("bob", "1001", "bobs-bikes")
    post("dave", "1003", "daves-outdoor")
    post("dave", "1003", "daves-outdoor")

    assert queries.unread_total(demo["alice"]) == 3
    assert queries.unread_total(demo["bob"]) == 0
    assert queries.unread_total(demo["carol"]) == 0  # no counter row yet


def test_unread_total_of_an_anonymous_visitor_is_zero(db):
    from django.contrib.auth.models import AnonymousUser

    assert queries.unread_total(AnonymousUser()) == 0


def test_unread_by_order_sums_each_orders_conversations(demo, post):
    post("bob", "1001", "bobs-bikes")
    post("dave", "1001", "daves-outdoor")
    post("dave", "1001", "daves-outdoor")
    post("dave", "1003", "daves-outdoor")
    post("alice", "1002", "bobs-bikes")  # alice wrote it: nothing unread for her

    counts = queries.unread_by_order(
        user=demo["alice"], order_numbers=["1001", "1002", "1003", "1004"]
    )

    assert counts == {"1001": 3, "1003": 1}
    assert queries.unread_by_order(user=demo["alice"], order_numbers=["1003"]) == {"1003": 1}
    assert queries.unread_by_order(user=demo["alice"], order_numbers=[]) == {}
    assert queries.unread_by_order(user=demo["bob"], order_numbers=["1002"]) == {"1002": 1}


# -- the inbox --------------------------------------------------------------------------------


def test_inbox_lists_unread_first_then_newest(demo, post):
    alice = demo["alice"]
    post("alice", "1003", "daves-outdoor", "Oldest, read")
    post("bob", "1002", "bobs-bikes", "Unread, older")
    post("alice", "1001", "store", "Newest, read")
    post("dave", "1001", "daves-outdoor", "Unread, newer")

    page = queries.inbox_page(user=alice)

    assert [(p.conversation.order_number, p.conversation.vendor_key) for p in page.rows] == [
        ("1001", "daves-outdoor"),
        ("1002", "bobs-bikes"),
        ("1001", "store"),
        ("1003", "daves-outdoor"),
    ]
    assert page.next_cursor is None


def test_inbox_of_a_user_without_conversations_is_empty(demo):
    page = queries.inbox_page(user=demo["carol"])

    assert page.rows == []
    assert page.next_cursor is None


def test_reading_a_conversation_moves_it_below_the_unread_ones(demo, post):
    alice = demo["alice"]
    post("bob", "1002", "bobs-bikes", "Older")
    post("dave", "1003", "daves-outdoor", "Newer")
    actions.mark_read(conversation=conversation_of("1003", "daves-outdoor"), user=alice)

    page = queries.inbox_page(user=alice)

    assert [p.conversation.order_number for p in page.rows] == ["1002", "1003"]


def expected_inbox(user):
    rows = Participant.objects.filter(user=user)
    unread = rows.filter(unread_count__gt=0).order_by("-last_message_at", "-pk")
    read = rows.filter(unread_count=0).order_by("-last_message_at", "-pk")
    return [p.pk for p in unread] + [p.pk for p in read]


def walk_inbox(user, size):
    seen, cursors, cursor = [], [], None
    for _ in range(100):
        page = queries.inbox_page(user=user, cursor=cursor, size=size)
        assert len(page.rows) <= size
        seen.extend(p.pk for p in page.rows)
        if page.next_cursor is None:
            return seen, cursors
        assert page.rows, "a page with a next cursor must not be empty"
        cursors.append(page.next_cursor)
        cursor = page.next_cursor
    raise AssertionError("pagination does not end")


@pytest.mark.parametrize("size", [1, 3, 4, 7, 8, 25, 30])
def test_keyset_pages_cover_every_conversation_once(demo, size):
    alice, bob = demo["alice"], demo["bob"]
    make_conversations(customer=alice, vendor_user=bob, count=25, unread=7)
    # Ties on the timestamp, across and within the two segments, are ordered by id.
    Participant.objects.filter(
        conversation__order_number__in=["9005", "9006", "9007", "9008"]
    ).update(last_message_at=timezone.now() - timedelta(days=1))
    Participant.objects.filter(conversation__order_number__in=["9015", "9016"]).update(
        last_message_at=timezone.now() - timedelta(days=2)
    )

    seen, cursors = walk_inbox(alice, size)

    expected = expected_inbox(alice)
    assert len(expected) == 25
    assert seen == expected
    assert len(set(seen)) == len(seen)
    assert all(c[0] in "ur" for c in cursors)
    assert_counters_exact()


def test_the_first_page_ends_exactly_at_the_last_unread(demo):
    alice, bob = demo["alice"], demo["bob"]
    make_conversations(customer=alice, vendor_user=bob, count=10, unread=4)

    first = queries.inbox_page(user=alice, size=4)
    second = queries.inbox_page(user=alice, cursor=first.next_cursor, size=4)

    assert all(p.unread_count for p in first.rows)
    assert first.next_cursor.startswith("u")
    assert [p.unread_count for p in second.rows] == [0, 0, 0, 0]
    assert second.next_cursor.startswith("r")


def test_a_page_that_crosses_from_unread_to_read(demo):
    alice, bob = demo["alice"], demo["bob"]
    make_conversations(customer=alice, vendor_user=bob, count=10, unread=3)

    first = queries.inbox_page(user=alice, size=5)

    assert [bool(p.unread_count) for p in first.rows] == [True, True, True, False, False]
    assert first.next_cursor.startswith("r")


def test_a_conversation_read_between_pages_is_neither_lost_nor_repeated(demo):
    """Keyset pages stay in order when a row changes segment between two pages: it moves to
    the read segment, which the reader has not reached yet, and is shown there."""
    alice, bob = demo["alice"], demo["bob"]
    conversations = make_conversations(customer=alice, vendor_user=bob, count=8, unread=4)

    first = queries.inbox_page(user=alice, size=2)
    actions.mark_read(conversation=conversations[3], user=alice)
    rest, _ = walk_inbox_from(alice, first.next_cursor, size=2)

    shown = [p.pk for p in first.rows] + rest
    assert len(shown) == len(set(shown)) == 8


def walk_inbox_from(user, cursor, size):
    seen = []
    while cursor:
        page = queries.inbox_page(user=user, cursor=cursor, size=size)
        seen.extend(p.pk for p in page.rows)
        cursor = page.next_cursor
    return seen, None


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "garbage",
        "u",
        "r.",
        "x123.4",
        "u1.x",
        "u1.2.3",
        "u99999999999999999999999999.1",
        "r-99999999999999999999999999.1",
        "u1.99999999999999999999999999",
        "r\x00.1",
        "ü1.1",
    ],
)
def test_a_garbage_cursor_does_not_crash(demo, cursor):
    alice, bob = demo["alice"], demo["bob"]
    make_conversations(customer=alice, vendor_user=bob, count=5, unread=2)

    page = queries.inbox_page(user=alice, cursor=cursor, size=10)

    assert len(page.rows) <= 5
    assert len({p.pk for p in page.rows}) == len(page.rows)


def test_the_inbox_lists_only_the_users_own_conversations(demo, post):
    post("alice", "1002", "bobs-bikes")
    post("carol", "1005", "daves-outdoor")

    assert [p.conversation.order_number for p in queries.inbox_page(user=demo["bob"]).rows] == [
        "1002"
    ]
    assert [p.conversation.order_number for p in queries.inbox_page(user=demo["dave"]).rows] == [
        "1005"
    ]
    assert queries.inbox_page(user=demo["admin"]).rows == []


# -- thread pages -----------------------------------------------------------------------------


def thread_for(username, demo, number="1002", vendor_key="bobs-bikes", start=None):
    conversation = conversation_of(number, vendor_key)
    participant = Participant.objects.get(conversation=conversation, user=demo[username])
    return queries.thread_page(
        conversation=conversation, last_read_seq=participant.last_read_seq, start=start
    )


def seqs(page):
    return [m.seq for m in page.messages]


def test_a_short_thread_is_shown_whole(demo, post):
    make_thread(demo, post, total=4)

    page = thread_for("alice", demo)

    assert seqs(page) == [1, 2, 3, 4]
    assert page.first is None
    assert page.hidden == 0
    assert page.first_unread_seq is None


def test_a_short_thread_marks_the_first_unread(demo, post):
    make_thread(demo, post, total=4, unread_for_alice=2)

    page = thread_for("alice", demo)

    assert seqs(page) == [1, 2, 3, 4]
    assert page.first_unread_seq == 3


def test_a_long_read_thread_shows_the_first_and_the_last_ten(demo, post):
    make_thread(demo, post, total=30)

    page = thread_for("alice", demo)

    assert page.first.seq == 1
    assert seqs(page) == list(range(21, 31))
    assert page.hidden == 19  # messages 2..20
    assert page.expand_from == 2
    assert page.first_unread_seq is None


def test_a_long_thread_is_shown_from_the_first_unread(demo, post):
    make_thread(demo, post, total=30, unread_for_alice=18)

    page = thread_for("alice", demo)

    assert page.first.seq == 1
    assert page.first_unread_seq == 13
    assert seqs(page) == list(range(13, 31))
    assert page.hidden == 11  # messages 2..12


@override_settings(ORDER_MESSAGES_THREAD_WINDOW=5)
def test_a_small_window_collapses_all_but_the_last_five(demo, post):
    make_thread(demo, post, total=20)

    page = thread_for("alice", demo)

    assert page.first.seq == 1
    assert seqs(page) == [16, 17, 18, 19, 20]
    assert page.hidden == 14
    assert page.expand_from == 11


@override_settings(ORDER_MESSAGES_THREAD_WINDOW=5)
def test_a_small_window_shows_the_unread_with_the_divider(demo, post):
    make_thread(demo, post, total=20, unread_for_alice=3)

    page = thread_for("alice", demo)

    assert page.first.seq == 1
    assert seqs(page) == [16, 17, 18, 19, 20]
    assert page.first_unread_seq == 18
    assert page.hidden == 14


@override_settings(ORDER_MESSAGES_THREAD_WINDOW=5)
def test_more_unread_than_the_window_open_at_the_first_unread_then_newer(demo, post):
    """No unread message hides in the collapsed part (S3: "then from the first unread"),
    and the page reads no more than it shows: the rest waits behind "N newer messages"."""
    make_thread(demo, post, total=20, unread_for_alice=8)

    page = thread_for("alice", demo)

    assert page.first.seq == 1
    assert page.first_unread_seq == 13
    assert seqs(page) == list(range(13, 18))
    assert page.hidden == 11
    assert page.newer == 3
    assert page.last_shown_seq == 17


@override_settings(ORDER_MESSAGES_THREAD_WINDOW=5)
def test_earlier_messages_are_shown_from_the_requested_start(demo, post):
    make_thread(demo, post, total=20)

    page = thread_for("alice", demo, start=11)

    assert page.first.seq == 1
    assert seqs(page) == list(range(11, 16))
    assert page.hidden == 9
    assert page.newer == 5
    assert page.expand_from == 6

    earliest = thread_for("alice", demo, start=page.expand_from - 4)
    assert earliest.first is None
    assert seqs(earliest) == list(range(1, 7))  # 1 and the window from 2
    assert earliest.newer == 14


def test_a_thread_with_thousands_unread_reads_only_what_it_shows(demo, post, monkeypatch):
    from order_messages.models import Message

    make_thread(demo, post, total=12, unread_for_alice=10)
    conversation = conversation_of("1002", "bobs-bikes")
    # As if thousands had arrived: the page's rows are what it reads, not the backlog.
    with override_settings(ORDER_MESSAGES_THREAD_WINDOW=4):
        loaded = []
        from_db = Message.from_db.__func__

        def counting(cls, db, field_names, values, **more):  # Django 6.1: fetch_mode
            loaded.append(values)
            return from_db(cls, db, field_names, values, **more)

        monkeypatch.setattr(Message, "from_db", classmethod(counting))
        page = thread_for("alice", demo)

    assert [page.first.seq, *seqs(page)] == [1, 3, 4, 5, 6]
    assert len(loaded) == 5
    assert page.newer == conversation.last_seq - 6


@override_settings(ORDER_MESSAGES_THREAD_WINDOW=5)
def test_a_start_out_of_range_is_clamped(demo, post):
    make_thread(demo, post, total=8)

    assert seqs(thread_for("alice", demo, start=-5)) == list(range(1, 6))
    assert seqs(thread_for("alice", demo, start=0)) == list(range(1, 6))
    assert seqs(thread_for("alice", demo, start=99)) == [8]


@override_settings(ORDER_MESSAGES_THREAD_WINDOW=5)
def test_one_hidden_message_is_shown_instead_of_collapsed(demo, post):
    make_thread(demo, post, total=6)

    page = thread_for("alice", demo)

    assert page.first is None
    assert seqs(page) == [1, 2, 3, 4, 5, 6]
