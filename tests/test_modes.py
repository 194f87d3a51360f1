"""Marketplace modes (C1–C3, C5, B4): which conversations an order has, who takes part in
them, who is told, and who may see what, in each ``ORDER_MESSAGES_MODE``.

Order #1001 (Alice) holds Bob's helmet, Dave's tent and the store's own water bottles;
#1002 (Alice) is Bob's alone; #1005 (Carol) is Dave's and Bob's; #1006 is a guest's (Dave).
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404

from order_messages import actions
from order_messages.models import Notification, Participant, Role
from order_messages.queries import access_order, order_tabs
from order_messages.routing import conversation_targets
from tests.conftest import (
    assert_counters_exact,
    conversation_of,
    counter_of,
    deliver_notifications,
    unread_of,
)

pytestmark = pytest.mark.usefixtures("no_conversations")

ALICE, CAROL = "alice@customers.example", "carol@customers.example"
BOB, DAVE = "bob@bobs-bikes.example", "dave@daves-outdoor.example"
ADMIN, GINA = "admin@marketplace.example", "gina@guests.example"
STORE_INBOX = "orders@marketplace.example"

BIKES, OUTDOOR, STORE = "bobs-bikes", "daves-outdoor", "store"
NAMES = {BIKES: "Bob's Bikes", OUTDOOR: "Dave's Outdoor", STORE: "Demo Marketplace"}
EVERYONE = ["alice", "carol", "bob", "dave", "admin"]

# mode name -> (ORDER_MESSAGES_MODE, ORDER_MESSAGES_ALLOW_VENDOR_COMMUNICATION)
MODES = {
    "separate": ("separate", False),
    "warehouse": ("warehouse", False),
    "warehouse+vendors": ("warehouse", True),
    "single": ("single", False),
}
PER_VENDOR_MODES = ["separate", "warehouse+vendors"]
STORE_ONLY_MODES = ["warehouse", "single"]


def per_vendor(mode):
    return mode in PER_VENDOR_MODES


@pytest.fixture(params=list(MODES))
def mode(request, settings):
    """Each test that asks for ``mode`` runs once per marketplace mode."""
    settings.ORDER_MESSAGES_MODE, settings.ORDER_MESSAGES_ALLOW_VENDOR_COMMUNICATION = MODES[
        request.param
    ]
    return request.param


@pytest.fixture
def set_mode(settings):
    def apply(name):
        settings.ORDER_MESSAGES_MODE, settings.ORDER_MESSAGES_ALLOW_VENDOR_COMMUNICATION = MODES[
            name
        ]

    return apply


@pytest.fixture
def sent(django_capture_on_commit_callbacks, mailoutbox):
    """``sent(action, *args)``: run an action, commit, and return the set of addresses
    that got an e-mail (each at most once)."""

    def run(action, *args, **kwargs):
        mailoutbox.clear()
        Notification.objects.all().delete()  # only what this action sends
        with django_capture_on_commit_callbacks(execute=True):
            action(*args, **kwargs)
        deliver_notifications()
        addresses = [address for email in mailoutbox for address in email.to]
        assert len(addresses) == len(set(addresses)), addresses
        return set(addresses)

    return run


def helmet_conversation(mode):
    """Where Alice writes about Bob's helmet on #1001."""
    return BIKES if per_vendor(mode) else STORE


def participants(number, vendor_key, demo):
    usernames = {user.pk: name for name, user in demo.items()}
    rows = Participant.objects.filter(
        conversation__order_number=number, conversation__vendor_key=vendor_key
    ).values_list("user_id", "role")
    return {usernames[user_id]: role for user_id, role in rows}


def visible(demo, username, number):
    """The conversation keys this user may see on the order, or None for a 404."""
    try:
        access = access_order(user=demo[username], order_number=number)
    except Http404:
        return None
    return [s.vendor_key for s in access.sub_orders]


# -- which conversations an order has ----------------------------------------------------------


def test_an_order_has_the_conversations_of_its_mode(mode, order):
    targets = conversation_targets(order("1001"))

    if per_vendor(mode):
        assert [(t.vendor_key, t.vendor_name) for t in targets] == [
            (BIKES, NAMES[BIKES]),
            (OUTDOOR, NAMES[OUTDOOR]),
            (STORE, NAMES[STORE]),
        ]
        assert [i.name for i in targets[0].items] == ["Bike helmet Aero"]
    else:
        # One conversation with the store about the whole order.
        (target,) = targets
        assert (target.vendor_key, target.vendor_name) == (STORE, NAMES[STORE])
        assert sorted(i.name for i in target.items) == [
            "Bike helmet Aero",
            "Insulated water bottle",
            "Two-person tent Ridge",
        ]


def test_an_order_of_one_vendor_has_one_conversation_in_every_mode(mode, order):
    (target,) = conversation_targets(order("1002"))

    assert target.vendor_key == (BIKES if per_vendor(mode) else STORE)
    assert [i.name for i in target.items] == ["City bike Comfort 7", "LED bike lights set"]


def test_single_store_mode_ignores_vendor_communication(settings, order):
    settings.ORDER_MESSAGES_MODE = "single"
    settings.ORDER_MESSAGES_ALLOW_VENDOR_COMMUNICATION = True

    assert [t.vendor_key for t in conversation_targets(order("1001"))] == [STORE]


def test_an_unknown_mode_is_a_configuration_error(settings, order):
    settings.ORDER_MESSAGES_MODE = "Separate"

    with pytest.raises(ImproperlyConfigured, match="ORDER_MESSAGES_MODE"):
        conversation_targets(order("1001"))


# -- who may see what --------------------------------------------------------------------------

ALL_1001 = [BIKES, OUTDOOR, STORE]
VISIBLE_1001 = {
    "separate": {"alice": ALL_1001, "admin": ALL_1001, "bob": [BIKES], "dave": [OUTDOOR]},
    "warehouse": {"alice": [STORE], "admin": [STORE], "bob": None, "dave": None},
    "warehouse+vendors": {"alice": ALL_1001, "admin": ALL_1001, "bob": [BIKES], "dave": [OUTDOOR]},
    "single": {"alice": [STORE], "admin": [STORE], "bob": None, "dave": None},
}


@pytest.mark.parametrize("username", EVERYONE)
def test_who_sees_which_conversations_of_a_split_order(mode, demo, username):
    expected = VISIBLE_1001[mode].get(username)  # carol: not her order

    assert visible(demo, username, "1001") == expected


def test_who_sees_which_conversations_of_another_customers_order(mode, demo):
    seen = {username: visible(demo, username, "1005") for username in EVERYONE}

    if per_vendor(mode):
        assert seen == {
            "alice": None,
            "carol": [OUTDOOR, BIKES],
            "bob": [BIKES],
            "dave": [OUTDOOR],
            "admin": [OUTDOOR, BIKES],
        }
    else:
        assert seen == {
            "alice": None,
            "carol": [STORE],
            "bob": None,
            "dave": None,
            "admin": [STORE],
        }


def test_order_tabs_follow_the_mode_and_exist_before_any_message(mode, demo, post):
    tabs = order_tabs(access=access_order(user=demo["alice"], order_number="1001"))

    assert [t.vendor_key for t in tabs] == VISIBLE_1001[mode]["alice"]
    assert all(t.conversation is None for t in tabs)

    post("alice", "1001", helmet_conversation(mode), "Where is my helmet?")
    tabs = order_tabs(access=access_order(user=demo["alice"], order_number="1001"))
    written = [t.vendor_key for t in tabs if t.conversation is not None]
    assert written == [helmet_conversation(mode)]


def test_the_answerers_tab_shows_their_unread(mode, demo, post):
    post("alice", "1001", helmet_conversation(mode), "Where is my helmet?")
    answerer = "bob" if per_vendor(mode) else "admin"

    tabs = order_tabs(access=access_order(user=demo[answerer], order_number="1001"))

    unread = {t.vendor_key: t.unread for t in tabs}
    assert unread[helmet_conversation(mode)] == 1
    assert sum(unread.values()) == 1


# -- participants, unread counts and e-mail ----------------------------------------------------


def test_participants_after_the_first_customer_message(mode, demo, post):
    post("alice", "1001", helmet_conversation(mode), "Where is my helmet?")

    if per_vendor(mode):
        # The vendor's staff answer; store staff only read along.
        expected = {"alice": Role.CUSTOMER, "bob": Role.VENDOR}
    else:
        expected = {"alice": Role.CUSTOMER, "admin": Role.STAFF}
    assert participants("1001", helmet_conversation(mode), demo) == expected


def test_who_gets_unread_and_email_for_the_first_customer_message(mode, demo, post, sent):
    emails = sent(post, "alice", "1001", helmet_conversation(mode), "Where is my helmet?")

    if per_vendor(mode):
        assert emails == {BOB}
        assert counter_of(demo["bob"]) == 1
        assert counter_of(demo["admin"]) == 0
    else:
        # The conversation is with the store: its staff and its orders inbox (B4) hear of it.
        assert emails == {ADMIN, STORE_INBOX}
        assert counter_of(demo["admin"]) == 1
        assert counter_of(demo["bob"]) == 0
    assert counter_of(demo["dave"]) == 0
    assert counter_of(demo["alice"]) == 0
    assert_counters_exact()


def test_the_reply_reaches_the_customer(mode, demo, post, sent):
    key = helmet_conversation(mode)
    post("alice", "1001", key, "Where is my helmet?")
    answerer = "bob" if per_vendor(mode) else "admin"

    emails = sent(post, answerer, "1001", key, "On its way.")

    assert emails == {ALICE}
    assert unread_of(demo["alice"], "1001", key) == 1
    assert counter_of(demo[answerer]) == 0
    assert_counters_exact()


@pytest.mark.parametrize("mode", PER_VENDOR_MODES, indirect=True)
def test_the_stores_own_items_are_a_conversation_with_the_store(mode, demo, post, sent):
    emails = sent(post, "alice", "1001", STORE, "Are the bottles dishwasher safe?")

    assert participants("1001", STORE, demo) == {"alice": Role.CUSTOMER, "admin": Role.STAFF}
    assert emails == {ADMIN, STORE_INBOX}
    assert unread_of(demo["admin"], "1001", STORE) == 1


@pytest.mark.parametrize("mode", PER_VENDOR_MODES, indirect=True)
def test_store_staff_reading_a_vendor_conversation_do_not_join_it(
    mode, demo, post, sent, client_for
):
    post("alice", "1001", BIKES, "Where is my helmet?")

    assert client_for("admin").get("/messages/orders/1001/bobs-bikes/").status_code == 200
    emails = sent(post, "bob", "1001", BIKES, "On its way.")

    assert "admin" not in participants("1001", BIKES, demo)
    assert counter_of(demo["admin"]) == 0
    assert ADMIN not in emails
    assert STORE_INBOX not in emails


@pytest.mark.parametrize("mode", PER_VENDOR_MODES, indirect=True)
def test_store_staff_join_a_vendor_conversation_when_they_post(mode, demo, post, sent):
    post("alice", "1001", BIKES, "Where is my helmet?")

    assert sent(post, "admin", "1001", BIKES, "Let me check with Bob.") == {ALICE, BOB}
    assert participants("1001", BIKES, demo)["admin"] == Role.STAFF
    assert unread_of(demo["admin"], "1001", BIKES) == 0

    assert sent(post, "bob", "1001", BIKES, "Shipped today.") == {ALICE, ADMIN}
    assert unread_of(demo["admin"], "1001", BIKES) == 1
    assert_counters_exact()


@pytest.mark.parametrize("mode", PER_VENDOR_MODES, indirect=True)
def test_store_staff_join_a_vendor_conversation_when_a_dispute_opens(
    mode, demo, post, dispute, sent
):
    post("alice", "1001", BIKES, "Where is my helmet?")
    assert "admin" not in participants("1001", BIKES, demo)

    emails = sent(dispute.open, "alice", "1001", BIKES, "It never arrived.")

    assert emails == {BOB, ADMIN, STORE_INBOX}
    assert participants("1001", BIKES, demo)["admin"] == Role.STAFF
    assert unread_of(demo["admin"], "1001", BIKES) == 1
    # Only the dispute event is unread for them, not the history before they joined.
    assert counter_of(demo["admin"]) == 1
    assert_counters_exact()


@pytest.mark.parametrize("mode", STORE_ONLY_MODES, indirect=True)
def test_vendors_are_never_involved_when_the_store_answers(
    mode, demo, post, dispute, sent, client_for
):
    everything = set()
    everything |= sent(post, "alice", "1001", STORE, "Where is my helmet?")
    everything |= sent(post, "admin", "1001", STORE, "Shipped today.")
    everything |= sent(dispute.open, "alice", "1001", STORE, "It never arrived.")
    everything |= sent(dispute.close, "admin", "1001", STORE)

    assert participants("1001", STORE, demo) == {"alice": Role.CUSTOMER, "admin": Role.STAFF}
    assert not everything & {BOB, DAVE}
    for vendor in ("bob", "dave"):
        assert counter_of(demo[vendor]) == 0
        assert not Participant.objects.filter(user=demo[vendor]).exists()
        assert client_for(vendor).get("/messages/orders/1001/").status_code == 404
        assert client_for(vendor).get("/messages/orders/1001/store/").status_code == 404
    assert_counters_exact()


def test_a_dispute_tells_the_answerers_and_the_store(mode, demo, post, dispute, sent):
    key = helmet_conversation(mode)
    post("alice", "1001", key, "Where is my helmet?")

    emails = sent(dispute.open, "alice", "1001", key, "It never arrived.")

    if per_vendor(mode):
        assert emails == {BOB, ADMIN, STORE_INBOX}
    else:
        assert emails == {ADMIN, STORE_INBOX}
    assert conversation_of("1001", key).has_open_dispute


def test_a_guest_order_is_answered_by_its_mode(mode, demo, access_as, sent):
    access = access_as(None, "1006")
    (sub_order,) = access.sub_orders
    expected_key = OUTDOOR if per_vendor(mode) else STORE
    assert sub_order.vendor_key == expected_key

    emails = sent(
        actions.post_message,
        order=access.order,
        sub_order=sub_order,
        actor=access.actor_in(sub_order),
        body="Is the sleeping bag warm enough?",
    )

    if per_vendor(mode):
        assert participants("1006", OUTDOOR, demo) == {"dave": Role.VENDOR}
        assert emails == {DAVE}
        answerer = "dave"
    else:
        assert participants("1006", STORE, demo) == {"admin": Role.STAFF}
        assert emails == {ADMIN, STORE_INBOX}
        answerer = "admin"
    post_as = access_order(user=demo[answerer], order_number="1006")
    answer = post_as.sub_order(expected_key)
    assert sent(
        actions.post_message,
        order=post_as.order,
        sub_order=answer,
        actor=post_as.actor_in(answer),
        body="Yes, down to −5 °C.",
    ) == {GINA}


# -- names (C5) --------------------------------------------------------------------------------

TITLES = {
    "separate": ("Order #1001 — Bob's Bikes", "Order #1002"),
    "warehouse": ("Order #1001", "Order #1002"),
    "warehouse+vendors": ("Order #1001 — Bob's Bikes", "Order #1002"),
    "single": ("Order #1001", "Order #1002"),
}


def test_a_conversation_is_named_by_its_order_and_vendor_where_needed(mode, post):
    post("alice", "1001", helmet_conversation(mode), "Where is my helmet?")
    post("alice", "1002", BIKES if per_vendor(mode) else STORE, "Is the bike assembled?")

    split, whole = TITLES[mode]
    assert conversation_of("1001", helmet_conversation(mode)).title == split
    assert conversation_of("1002", BIKES if per_vendor(mode) else STORE).title == whole
    assert str(conversation_of("1002", BIKES if per_vendor(mode) else STORE)) == whole


@pytest.mark.parametrize("mode", PER_VENDOR_MODES, indirect=True)
def test_the_stores_conversation_of_a_split_order_says_it_is_the_stores(mode, post):
    post("alice", "1001", STORE, "Are the bottles dishwasher safe?")

    assert conversation_of("1001", STORE).title == "Order #1001 — Demo Marketplace"


# -- pages -------------------------------------------------------------------------------------

THREAD = "/messages/orders/{}/{}/"


def test_the_thread_pages_follow_the_mode(mode, demo, client_for):
    status = {
        (username, key): client_for(username).get(THREAD.format("1001", key)).status_code
        for username in ("alice", "bob", "dave", "admin", "carol")
        for key in (BIKES, STORE)
    }

    if per_vendor(mode):
        assert status == {
            ("alice", BIKES): 200,
            ("alice", STORE): 200,
            ("bob", BIKES): 200,
            ("bob", STORE): 404,
            ("dave", BIKES): 404,
            ("dave", STORE): 404,
            ("admin", BIKES): 200,
            ("admin", STORE): 200,
            ("carol", BIKES): 404,
            ("carol", STORE): 404,
        }
    else:
        assert status == {
            ("alice", BIKES): 404,
            ("alice", STORE): 200,
            ("bob", BIKES): 404,
            ("bob", STORE): 404,
            ("dave", BIKES): 404,
            ("dave", STORE): 404,
            ("admin", BIKES): 404,
            ("admin", STORE): 200,
            ("carol", BIKES): 404,
            ("carol", STORE): 404,
        }


def test_the_messages_page_opens_on_the_first_conversation_of_the_mode(mode, client_for):
    response = client_for("alice").get("/messages/orders/1001/")

    assert response.status_code == 302
    assert response["Location"] == THREAD.format("1001", VISIBLE_1001[mode]["alice"][0])


def test_a_customer_posts_through_the_page_into_the_modes_conversation(
    mode, demo, client_for, django_capture_on_commit_callbacks, mailoutbox
):
    key = helmet_conversation(mode)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("alice").post(THREAD.format("1001", key), {"body": "Hello"})
    deliver_notifications()

    assert response.status_code == 302
    assert conversation_of("1001", key).last_seq == 1
    answerer = "bob" if per_vendor(mode) else "admin"
    assert client_for(answerer).get(THREAD.format("1001", key)).status_code == 200
    assert unread_of(demo[answerer], "1001", key) == 0  # the page marked it read
    assert {address for email in mailoutbox for address in email.to} >= {demo[answerer].email}
