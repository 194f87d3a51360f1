"""The back office (B1): scope, filters, search, marking, pagination, who may use it."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.test import Client

from order_messages import actions, queries
from order_messages.models import Notification, Participant, Role
from tests.conftest import (
    assert_counters_exact,
    conversation_of,
    counter_of,
    make_conversations,
    unread_of,
)


@pytest.fixture
def talk(no_conversations, post, dispute):
    """Conversations on 1001 with Bob and Dave, 1005 with Bob (Carol), a dispute on 1005."""
    post("alice", "1001", "bobs-bikes", "Where is my helmet?")
    post("alice", "1001", "daves-outdoor", "Tent poles missing")
    post("carol", "1005", "bobs-bikes", "Helmet size question")
    dispute.open("carol", "1005", "bobs-bikes", "Wrong size sent")
    return no_conversations


def rows(username, demo, **kwargs):
    scope = queries.access_backoffice(user=demo[username])
    return [
        (c.order_number, c.vendor_key) for c in queries.backoffice_page(scope=scope, **kwargs).rows
    ]


def test_a_vendor_sees_only_their_own_conversations(talk):
    assert rows("bob", talk) == [("1005", "bobs-bikes"), ("1001", "bobs-bikes")]
    assert rows("dave", talk) == [("1001", "daves-outdoor")]


def test_store_staff_see_every_conversation_newest_first(talk):
    assert rows("admin", talk) == [
        ("1005", "bobs-bikes"),
        ("1001", "daves-outdoor"),
        ("1001", "bobs-bikes"),
    ]


def test_customers_and_staff_without_the_permission_have_no_back_office(talk):
    with pytest.raises(PermissionDenied):
        queries.access_backoffice(user=talk["alice"])
    clerk = get_user_model().objects.create_user("clerk", is_staff=True)
    with pytest.raises(PermissionDenied):
        queries.access_backoffice(user=clerk)
    assert not queries.in_backoffice(clerk)


def test_the_unread_filter_is_about_the_person_asking(talk, demo):
    actions.mark_read(conversation=conversation_of("1005", "bobs-bikes"), user=demo["bob"])
    assert rows("bob", talk, show="unread") == [("1001", "bobs-bikes")]
    # The store joined 1005 through the dispute, so it has the dispute message unread there.
    assert rows("admin", talk, show="unread") == [("1005", "bobs-bikes")]


def test_the_disputes_filter_shows_open_disputes_only(talk, dispute):
    assert rows("admin", talk, show="disputes") == [("1005", "bobs-bikes")]
    dispute.close("admin", "1005", "bobs-bikes")
    assert rows("admin", talk, show="disputes") == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1005", [("1005", "bobs-bikes")]),
        ("#1001", [("1001", "bobs-bikes")]),
        ("carol", [("1005", "bobs-bikes")]),
        ("HELMET", [("1005", "bobs-bikes"), ("1001", "bobs-bikes")]),
        ("wrong size", [("1005", "bobs-bikes")]),
        ("nothing like this", []),
    ],
)
def test_search_by_order_number_customer_and_text(talk, text, expected):
    assert rows("bob", talk, search=text) == expected


def test_vendors_cannot_search_by_e_mail_while_contacts_are_masked(talk, settings):
    assert rows("admin", talk, search="carol@customers") == [("1005", "bobs-bikes")]
    assert rows("bob", talk, search="carol@customers") == []
    settings.ORDER_MESSAGES_MASK_CONTACTS = False
    assert rows("bob", talk, search="carol@customers") == [("1005", "bobs-bikes")]


def test_keyset_pages_cover_everything_once(no_conversations):
    make_conversations(
        customer=no_conversations["alice"], vendor_user=no_conversations["bob"], count=23
    )
    scope = queries.access_backoffice(user=no_conversations["bob"])
    seen, cursor = [], None
    while True:
        page = queries.backoffice_page(scope=scope, cursor=cursor, size=5)
        seen += [c.pk for c in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 23
    assert queries.backoffice_page(scope=scope, cursor="garbage", size=5).rows


def test_a_deep_page_costs_what_the_first_costs(no_conversations, django_assert_num_queries):
    make_conversations(
        customer=no_conversations["alice"], vendor_user=no_conversations["bob"], count=60
    )
    scope = queries.access_backoffice(user=no_conversations["bob"])
    first = queries.backoffice_page(scope=scope, size=10)
    deep = first
    for _ in range(4):
        deep = queries.backoffice_page(scope=scope, cursor=deep.next_cursor, size=10)
    with django_assert_num_queries(1):
        queries.backoffice_page(scope=scope, size=10)
    with django_assert_num_queries(1):
        queries.backoffice_page(scope=scope, cursor=deep.next_cursor, size=10)


# -- marking ---------------------------------------------------------------------------------


def test_mark_unread_then_read_keeps_counters_exact(talk, demo):
    conversation = conversation_of("1001", "bobs-bikes")
    actions.mark_read(conversation=conversation, user=demo["bob"])
    assert actions.mark_unread(conversation=conversation, user=demo["bob"], role=Role.VENDOR) == 1
    assert unread_of(demo["bob"], "1001", "bobs-bikes") == 1
    assert actions.mark_unread(conversation=conversation, user=demo["bob"], role=Role.VENDOR) == 0
    assert_counters_exact()
    actions.mark_read(conversation=conversation, user=demo["bob"])
    assert unread_of(demo["bob"], "1001", "bobs-bikes") == 0
    assert_counters_exact()


def test_store_staff_marking_unread_join_the_conversation(talk, demo):
    conversation = conversation_of("1001", "daves-outdoor")
    assert unread_of(demo["admin"], "1001", "daves-outdoor") is None
    actions.mark_unread(conversation=conversation, user=demo["admin"], role=Role.STAFF)
    assert Participant.objects.get(conversation=conversation, user=demo["admin"]).role == Role.STAFF
    assert unread_of(demo["admin"], "1001", "daves-outdoor") == 1
    assert_counters_exact()


def staff_emails(demo):
    return Notification.objects.filter(email=demo["admin"].email).count()


def test_staff_who_marked_unread_count_new_messages_but_get_no_email(talk, demo, post):
    admin = demo["admin"]
    conversation = conversation_of("1001", "daves-outdoor")
    actions.mark_unread(conversation=conversation, user=admin, role=Role.STAFF)
    before = staff_emails(demo)

    post("alice", "1001", "daves-outdoor", "Any news on the poles?")

    assert unread_of(admin, "1001", "daves-outdoor") == 2
    assert staff_emails(demo) == before
    assert Notification.objects.filter(email=demo["dave"].email).exists()
    assert_counters_exact()


@pytest.mark.parametrize("up_to_last", [False, True])
def test_staff_who_marked_unread_leave_once_they_have_read_it(talk, demo, post, up_to_last):
    admin = demo["admin"]
    conversation = conversation_of("1001", "daves-outdoor")
    unread_elsewhere, emails = counter_of(admin), staff_emails(demo)
    actions.mark_unread(conversation=conversation, user=admin, role=Role.STAFF)
    post("alice", "1001", "daves-outdoor", "Any news on the poles?")
    conversation.refresh_from_db()

    up_to = conversation.last_seq if up_to_last else None
    assert actions.mark_read(conversation=conversation, user=admin, up_to_seq=up_to) == 2

    assert unread_of(admin, "1001", "daves-outdoor") is None
    assert counter_of(admin) == unread_elsewhere
    post("alice", "1001", "daves-outdoor", "Hello again")
    assert unread_of(admin, "1001", "daves-outdoor") is None
    assert counter_of(admin) == unread_elsewhere
    assert staff_emails(demo) == emails
    assert_counters_exact()


def test_staff_who_read_part_of_what_they_marked_stay_until_the_rest(talk, demo, post):
    admin = demo["admin"]
    conversation = conversation_of("1001", "daves-outdoor")
    actions.mark_unread(conversation=conversation, user=admin, role=Role.STAFF)
    post("alice", "1001", "daves-outdoor", "Any news on the poles?")
    conversation.refresh_from_db()

    assert (
        actions.mark_read(
            conversation=conversation, user=admin, up_to_seq=conversation.last_seq - 1
        )
        == 1
    )

    assert unread_of(admin, "1001", "daves-outdoor") == 1
    assert_counters_exact()


def test_staff_who_marked_unread_take_part_once_they_answer(talk, demo, post):
    admin = demo["admin"]
    conversation = conversation_of("1001", "daves-outdoor")
    actions.mark_unread(conversation=conversation, user=admin, role=Role.STAFF)
    post("admin", "1001", "daves-outdoor", "On it.")
    assert unread_of(admin, "1001", "daves-outdoor") == 0
    assert not Participant.objects.get(conversation=conversation, user=admin).marked_only

    emails = staff_emails(demo)
    post("alice", "1001", "daves-outdoor", "Thank you!")
    assert unread_of(admin, "1001", "daves-outdoor") == 1
    assert staff_emails(demo) == emails + 1
    assert_counters_exact()


def test_a_vendors_new_staff_marking_unread_take_part_for_good(talk, demo, post):
    """Someone who takes part by right but had not joined yet (a vendor's new staff, who
    join at the next message) is told of what follows."""
    from demo.store.models import Vendor

    erin = get_user_model().objects.create_user("erin", email="erin@daves-outdoor.example")
    Vendor.objects.get(slug="daves-outdoor").staff.add(erin)
    conversation = conversation_of("1001", "daves-outdoor")

    actions.mark_unread(conversation=conversation, user=erin, role=Role.VENDOR)
    post("alice", "1001", "daves-outdoor", "Still no poles.")

    assert not Participant.objects.get(conversation=conversation, user=erin).marked_only
    assert Notification.objects.filter(email=erin.email).exists()
    assert_counters_exact()


def test_staff_who_marked_unread_take_part_in_a_dispute(talk, demo, dispute):
    admin = demo["admin"]
    conversation = conversation_of("1001", "daves-outdoor")
    actions.mark_unread(conversation=conversation, user=admin, role=Role.STAFF)
    emails = staff_emails(demo)

    dispute.open("alice", "1001", "daves-outdoor", "The poles never came.")

    assert not Participant.objects.get(conversation=conversation, user=admin).marked_only
    assert staff_emails(demo) == emails + 1
    assert_counters_exact()


def test_marking_selected_conversations_through_the_page(talk, client_for, demo):
    bob = client_for("bob")
    ids = [conversation_of("1001", "bobs-bikes").pk, conversation_of("1005", "bobs-bikes").pk]
    response = bob.post("/messages/mark/", {"action": "read", "conversation": ids})
    assert response.status_code == 302
    assert counter_of(demo["bob"]) == 0
    response = bob.post(
        "/messages/mark/", {"action": "unread", "conversation": ids[:1]}, follow=True
    )
    assert "1 conversation marked as unread." in response.content.decode()
    assert counter_of(demo["bob"]) == 1
    assert_counters_exact()


def test_mark_all_as_read_follows_the_filter(talk, client_for, demo):
    bob = client_for("bob")
    response = bob.post("/messages/mark/", {"all": "read", "show": "unread"}, follow=True)
    assert "2 conversations marked as read." in response.content.decode()
    assert counter_of(demo["bob"]) == 0
    assert_counters_exact()


@pytest.mark.parametrize("action", ["read", "unread"])
def test_marking_nothing_selected_is_refused_with_a_message(talk, client_for, demo, action):
    before = counter_of(demo["bob"])

    response = client_for("bob").post("/messages/mark/", {"action": action}, follow=True)

    page = response.content.decode()
    assert "Select at least one conversation first." in page
    assert "0 conversations" not in page
    assert counter_of(demo["bob"]) == before


def test_marking_what_is_read_already_says_so(talk, client_for, demo):
    bob = client_for("bob")
    ids = [conversation_of("1001", "bobs-bikes").pk]
    bob.post("/messages/mark/", {"action": "read", "conversation": ids})

    response = bob.post("/messages/mark/", {"action": "read", "conversation": ids}, follow=True)

    page = response.content.decode()
    assert "Nothing to change: they were read already." in page
    assert "0 conversations" not in page


def test_the_bulk_actions_wait_for_a_selection(talk, client_for):
    page = client_for("bob").get("/messages/").content.decode()

    for label in ("Mark as read", "Mark as unread"):
        assert re.search(rf"<button [^>]*data-needs-selection[^>]*>{label}</button>", page)
    assert not re.search(r"<button [^>]*data-needs-selection[^>]*>Mark all as read<", page)
    # Select all (shown by the script, which also counts what is selected).
    assert re.search(r'<label class="om-bulk__all" hidden><input [^>]*class="om-bo-all"', page)
    assert re.search(r'class="om-bulk__count[^"]*" aria-live="polite" data-template="Sel', page)


def test_a_vendor_cannot_mark_another_vendors_conversation(talk, client_for, demo):
    before = unread_of(demo["dave"], "1001", "daves-outdoor")
    bob = client_for("bob")
    bob.post(
        "/messages/mark/",
        {"action": "read", "conversation": [conversation_of("1001", "daves-outdoor").pk]},
    )
    bob.post(
        "/messages/mark/",
        {"action": "unread", "conversation": [conversation_of("1001", "daves-outdoor").pk]},
    )
    assert unread_of(demo["bob"], "1001", "daves-outdoor") is None
    assert unread_of(demo["dave"], "1001", "daves-outdoor") == before


# -- pages -----------------------------------------------------------------------------------


def test_the_messages_page_is_the_back_office_for_vendors_and_staff(talk, client_for):
    page = client_for("bob").get("/messages/").content.decode()
    assert "Open disputes" in page and "Mark as read" in page
    assert "Order #1005" in page and "Carol Chen" in page
    assert "carol@customers.example" not in page  # masked for vendors
    staff_page = client_for("admin").get("/messages/").content.decode()
    assert "carol@customers.example" in staff_page and "Dave&#x27;s Outdoor" in staff_page
    customer_page = client_for("alice").get("/messages/").content.decode()
    assert "Mark as read" not in customer_page


def test_the_filters_and_search_work_through_the_page(talk, client_for):
    admin = client_for("admin")
    disputes = admin.get("/messages/?show=disputes").content.decode()
    assert "Order #1005" in disputes and "Order #1001" not in disputes
    found = admin.get("/messages/?q=tent").content.decode()
    assert "Order #1001" in found and "Order #1005" not in found


@pytest.mark.parametrize("username", ["alice", "clerk"])
def test_mark_is_refused_outside_the_back_office(talk, username, demo):
    user = demo.get(username) or get_user_model().objects.create_user(username, is_staff=True)
    client = Client()
    client.force_login(user)
    response = client.post(
        "/messages/mark/",
        {"action": "unread", "conversation": [conversation_of("1001", "bobs-bikes").pk]},
    )
    assert response.status_code == 403
    assert unread_of(user, "1001", "bobs-bikes") in (None, 0)


def test_staff_without_the_permission_see_nothing_of_the_back_office(talk):
    clerk = get_user_model().objects.create_user("clerk", is_staff=True)
    client = Client()
    client.force_login(clerk)
    page = client.get("/messages/")
    assert page.status_code == 200 and "Order #1005" not in page.content.decode()
    assert client.get("/messages/orders/1005/bobs-bikes/").status_code == 404


@pytest.mark.parametrize("mode, allow", [("warehouse", False), ("single", False)])
def test_vendors_see_nothing_in_modes_without_vendor_conversations(talk, settings, mode, allow):
    settings.ORDER_MESSAGES_MODE = mode
    settings.ORDER_MESSAGES_ALLOW_VENDOR_COMMUNICATION = allow
    assert rows("bob", talk) == []
    assert len(rows("admin", talk)) == 3


# -- the bulk marking action (actions/bulk.py) --------------------------------------------------


def scope_of(user):
    return queries.access_backoffice(user=user)


def test_marking_chosen_conversations_read_counts_those_that_changed(talk, demo):
    bob = demo["bob"]
    ids = [conversation_of("1001", "bobs-bikes").pk, conversation_of("1005", "bobs-bikes").pk]
    actions.mark_read(conversation=conversation_of("1005", "bobs-bikes"), user=bob)

    assert actions.mark_conversations(scope=scope_of(bob), unread=False, ids=ids) == 1
    assert counter_of(bob) == 0
    assert actions.mark_conversations(scope=scope_of(bob), unread=False, ids=ids) == 0
    assert_counters_exact()


def test_marking_ignores_conversations_outside_the_scope(talk, demo):
    daves = conversation_of("1001", "daves-outdoor")
    before = unread_of(demo["dave"], "1001", "daves-outdoor")

    for unread in (True, False):
        changed = actions.mark_conversations(
            scope=scope_of(demo["bob"]), unread=unread, ids=[daves.pk]
        )
        assert changed == 0

    assert unread_of(demo["bob"], "1001", "daves-outdoor") is None
    assert unread_of(demo["dave"], "1001", "daves-outdoor") == before
    assert_counters_exact()


def test_marking_unread_joins_in_the_role_the_scope_gives(talk, demo):
    """Store staff join a vendor's conversation as staff; a vendor is the vendor in theirs."""
    admin, bob = demo["admin"], demo["bob"]
    actions.mark_read(conversation=conversation_of("1001", "bobs-bikes"), user=bob)
    ids = [conversation_of("1001", "daves-outdoor").pk, conversation_of("1001", "bobs-bikes").pk]

    assert actions.mark_conversations(scope=scope_of(admin), unread=True, ids=ids) == 2
    assert actions.mark_conversations(scope=scope_of(bob), unread=True, ids=ids) == 1

    roles = dict(
        Participant.objects.filter(user=admin, conversation_id__in=ids).values_list(
            "conversation__vendor_key", "role"
        )
    )
    assert roles == {"daves-outdoor": Role.STAFF, "bobs-bikes": Role.STAFF}
    assert Participant.objects.get(user=bob, conversation_id=ids[1]).role == Role.VENDOR
    assert unread_of(admin, "1001", "daves-outdoor") == 1
    assert unread_of(bob, "1001", "bobs-bikes") == 1
    assert_counters_exact()


def test_marking_all_follows_the_filter_and_stops_at_the_limit(talk, demo, monkeypatch):
    from order_messages.actions import bulk

    bob = demo["bob"]
    monkeypatch.setattr(bulk, "MARK_ALL_LIMIT", 1)

    # The newest of Bob's unread conversations first, then the next one.
    assert actions.mark_conversations(scope=scope_of(bob), unread=False, show="unread") == 1
    assert unread_of(bob, "1005", "bobs-bikes") == 0
    assert unread_of(bob, "1001", "bobs-bikes") == 1
    assert actions.mark_conversations(scope=scope_of(bob), unread=False, show="unread") == 1
    assert counter_of(bob) == 0

    monkeypatch.setattr(bulk, "MARK_ALL_LIMIT", 500)
    assert actions.mark_conversations(scope=scope_of(bob), unread=True, search="helmet size") == 1
    assert unread_of(bob, "1005", "bobs-bikes") == 1
    assert unread_of(bob, "1001", "bobs-bikes") == 0
    assert_counters_exact()
