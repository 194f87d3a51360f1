"""The Oscar adapter against Oscar's own rows: how orders, partners and users map to the
app's orders, sub-orders, vendors and staff, read as they are now; the figures; the
dashboard's navigation entry; and the signals that move access at once."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import Http404
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from oscar.apps.dashboard.menu import get_nodes
from oscar.core.loading import get_model

from demo.catalogue import ORDERS, PRODUCTS
from order_messages import actions
from order_messages.adapter import STORE, get_adapter
from order_messages.contrib.oscar.adapter import OscarAdapter
from order_messages.contrib.oscar.navigation import DASHBOARD_ENTRY, add_dashboard_entry
from order_messages.models import Conversation, Dispute, Participant, UnreadCounter
from order_messages.queries import access_order

from .pages import links, text

Order = get_model("order", "Order")
Line = get_model("order", "Line")
OrderNote = get_model("order", "OrderNote")
Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")

pytestmark = pytest.mark.django_db

SHOP = "Demo Marketplace"  # OSCAR_SHOP_NAME, and the name of the store's own partner
VENDOR_OF_PRODUCT = {name: vendor or STORE for name, _price, vendor in PRODUCTS}


def fresh(user):
    """The user as the next request loads it (nothing remembered on the object)."""
    return get_user_model().objects.get(pk=user.pk)


def adapter() -> OscarAdapter:
    found = get_adapter()
    assert isinstance(found, OscarAdapter)
    return found


# -- orders and sub-orders --------------------------------------------------------------------


def test_the_adapter_in_use_is_oscars():
    assert type(get_adapter()) is OscarAdapter


def test_an_orders_lines_are_grouped_by_partner_with_the_partners_names():
    order = adapter().get_order("1001")

    assert order.number == "1001"
    assert [(s.vendor_key, s.vendor_name) for s in order.sub_orders] == [
        ("bobs-bikes", "Bob's Bikes"),
        ("daves-outdoor", "Dave's Outdoor"),
        (STORE, SHOP),  # the store's own partner's lines, last
    ]
    items = {
        s.vendor_key: [(i.name, i.quantity, i.price) for i in s.items] for s in order.sub_orders
    }
    assert items == {
        "bobs-bikes": [("Bike helmet Aero", 1, "€79.90")],
        "daves-outdoor": [("Two-person tent Ridge", 1, "€189.00")],
        STORE: [("Insulated water bottle", 2, "€49.80")],
    }
    helmet = Product.objects.get(title="Bike helmet Aero")
    assert order.sub_order("bobs-bikes").items[0].url == helmet.get_absolute_url()


def test_every_seed_order_has_the_sub_orders_of_its_products_vendors():
    """Written down from the demo catalogue, not asked of the adapter."""
    found = adapter().get_orders([number for number, *_ in ORDERS])

    assert set(found) == {number for number, *_ in ORDERS}
    for number, _customer, _days, _status, lines in ORDERS:
        expected = {VENDOR_OF_PRODUCT[name] for name, _qty in lines}
        assert {s.vendor_key for s in found[number].sub_orders} == expected, number


def test_the_stores_sub_order_is_named_after_the_shop(settings):
    settings.OSCAR_SHOP_NAME = "Marketplace & Co"

    order = adapter().get_order("1004")

    assert [(s.vendor_key, s.vendor_name) for s in order.sub_orders] == [
        (STORE, "Marketplace & Co")
    ]
    assert adapter().get_store_name() == "Marketplace & Co"


def test_without_store_partners_the_stores_partner_is_a_vendor_like_any(settings):
    settings.ORDER_MESSAGES_OSCAR_STORE_PARTNERS = []

    order = adapter().get_order("1001")

    assert [s.vendor_key for s in order.sub_orders] == [
        "bobs-bikes",
        "daves-outdoor",
        "demo-marketplace",
    ]


def test_a_line_whose_partner_was_deleted_goes_to_the_store(users):
    Partner.objects.get(code="daves-outdoor").delete()

    order = adapter().get_order("1001")

    assert [s.vendor_key for s in order.sub_orders] == ["bobs-bikes", STORE]
    assert [i.name for i in order.sub_order(STORE).items] == [
        "Two-person tent Ridge",
        "Insulated water bottle",
    ]
    assert order.sub_order(STORE).vendor_name == SHOP
    # Dave, whose partner is gone, no longer sees the order; the store's staff answer.
    with pytest.raises(Http404):
        access_order(user=fresh(users["dave"]), order_number="1001")
    assert access_order(user=users["admin"], order_number="1001").may_read(STORE)


def test_an_unknown_order_is_none():
    assert adapter().get_order("999999") is None
    assert adapter().get_orders(["999999", "1001"]).keys() == {"1001"}


def test_a_product_no_longer_public_is_not_linked():
    Product.objects.filter(title="Bike helmet Aero").update(is_public=False)

    (item,) = adapter().get_order("1001").sub_order("bobs-bikes").items

    assert (item.name, item.url) == ("Bike helmet Aero", "")


def test_the_order_carries_oscars_status_total_and_date():
    order = adapter().get_order("1005")
    oscar_order = Order.objects.get(number="1005")

    assert order.status == "Processing"
    assert order.total == "€124.90"  # the stove and the helmet
    assert order.placed_at == oscar_order.date_placed
    assert order.url == reverse("customer:order", kwargs={"order_number": "1005"})


# -- customers ---------------------------------------------------------------------------------


def test_a_customers_order_names_their_account(users):
    order = adapter().get_order("1005")

    assert (order.customer_id, order.customer_email, order.customer_name) == (
        users["carol"].pk,
        "carol@customers.example",
        "Carol Chen",
    )


def test_a_guest_order_names_the_guest_email_and_links_oscars_anonymous_page():
    order = adapter().get_order("1006")
    oscar_order = Order.objects.get(number="1006")

    assert order.customer_id is None
    assert order.customer_email == "gus@guests.example" == oscar_order.guest_email
    assert order.customer_name == "Gus Guest"  # the shipping address's name
    assert order.url == reverse(
        "customer:anon-order",
        kwargs={"order_number": "1006", "hash": oscar_order.verification_hash()},
    )


def test_the_customer_name_falls_back_to_the_address_then_the_email(users, settings):
    get_user_model().objects.filter(pk=users["carol"].pk).update(first_name="", last_name="")
    assert adapter().get_order("1005").customer_name == "Carol Chen"  # the address's

    Order.objects.filter(number="1005").update(shipping_address=None)
    # Vendors are shown the name, and the customer's address is masked from them.
    assert adapter().get_order("1005").customer_name == "Customer"
    settings.ORDER_MESSAGES_MASK_CONTACTS = False
    assert adapter().get_order("1005").customer_name == "carol@customers.example"


def test_a_customer_without_a_name_writes_under_the_name_on_that_order(users, settings):
    """Oscar's registration asks for no name: such a customer writes under the name of the
    order's address, never another order's, and is never named by their e-mail address,
    which vendors may not see."""
    User = get_user_model()
    erin = User.objects.create_user("x7Gq2", "erin@customers.example")
    assert adapter().get_display_name(erin) == "Customer"

    Order.objects.filter(number="1005").update(user=erin)  # shipped to Carol Chen
    Order.objects.filter(number="1003").update(user=erin)  # shipped to Alice Archer
    for number, name in [("1005", "Carol Chen"), ("1003", "Alice Archer")]:
        access = access_order(user=erin, order_number=number)
        sub_order = access.sub_orders[0]
        message = actions.post_message(
            order=access.order, sub_order=sub_order, actor=access.actor_in(sub_order), body="Hi"
        )
        assert message.author_name == name

    Order.objects.filter(user=erin).update(shipping_address=None)
    assert adapter().get_order("1003").customer_name == "Customer"
    settings.ORDER_MESSAGES_MASK_CONTACTS = False
    assert adapter().get_order("1003").customer_name == "erin@customers.example"
    assert adapter().get_display_name(erin) == "erin@customers.example"


def test_a_partner_whose_code_is_the_stores_key_sells_for_the_store(users):
    """ "store" is the store's own sub-order: a partner with that code (Oscar makes codes from
    names, so a partner called "Store") gets no vendor role and reads nothing of the
    store's conversations."""
    clerk = get_user_model().objects.create_user("s1", "clerk@store-partner.example")
    partner = Partner.objects.create(name="Store")
    assert partner.code == STORE
    partner.users.add(clerk)
    Line = get_model("order", "Line")
    Line.objects.filter(order__number="1004").update(partner=partner)

    assert adapter().get_user_vendor_keys(clerk) == set()
    assert adapter().get_vendor_staff(STORE) == []
    assert [s.vendor_key for s in adapter().get_order("1004").sub_orders] == [STORE]
    with pytest.raises(Http404):
        access_order(user=clerk, order_number="1001")
    client = Client()
    client.force_login(clerk)
    assert client.get("/messages/orders/1001/store/").status_code == 404
    inbox = client.get("/messages/")  # a customer's Messages page, not a back office
    assert inbox.status_code == 200 and "Order #1001" not in text(inbox)


def test_staff_and_partner_users_without_a_name_are_called_by_their_email(users):
    User = get_user_model()
    clerk = User.objects.create_user("c1", "clerk@marketplace.example", is_staff=True)
    packer = User.objects.create_user("p1", "packer@bobs-bikes.example")
    Partner.objects.get(code="bobs-bikes").users.add(packer)

    assert adapter().get_display_name(clerk) == "clerk@marketplace.example"
    assert adapter().get_display_name(fresh(packer)) == "packer@bobs-bikes.example"


def test_an_order_given_to_another_customer_changes_hands_at_once(
    users, client_for, django_capture_on_commit_callbacks
):
    """Oscar's order saved with another user: the old customer loses the conversation and
    its unread count there and then; the new one gets them."""
    conversation = Conversation.objects.get(order_number="1002")
    access = access_order(user=users["bob"], order_number="1002")
    sub_order = access.sub_order("bobs-bikes")
    actions.post_message(
        order=access.order, sub_order=sub_order, actor=access.actor_in(sub_order), body="News"
    )
    assert Participant.objects.get(conversation=conversation, user=users["alice"]).unread_count == 1

    order = Order.objects.get(number="1002")
    order.user = users["carol"]
    with django_capture_on_commit_callbacks(execute=True):
        order.save()

    assert not Participant.objects.filter(conversation=conversation, user=users["alice"]).exists()
    carols = Participant.objects.get(conversation=conversation, user=users["carol"])
    assert carols.unread_count == conversation.messages.count()
    assert UnreadCounter.objects.get(user=users["alice"]).count == 0
    assert client_for("alice").get("/messages/orders/1002/bobs-bikes/").status_code == 404
    assert client_for("carol").get("/messages/orders/1002/bobs-bikes/").status_code == 200


# -- vendors' staff and the store's staff ----------------------------------------------------


def test_a_partners_users_are_its_vendor_staff(users):
    assert adapter().get_vendor_staff("bobs-bikes") == [users["bob"]]
    assert adapter().get_vendor_staff("daves-outdoor") == [users["dave"]]
    assert adapter().get_vendor_staff(STORE) == []
    assert adapter().get_user_vendor_keys(fresh(users["bob"])) == {"bobs-bikes"}
    assert adapter().get_user_vendor_keys(fresh(users["alice"])) == set()


def test_an_inactive_partner_user_is_not_vendor_staff(users):
    helper = get_user_model().objects.create_user("helper", "helper@bobs-bikes.example")
    Partner.objects.get(code="bobs-bikes").users.add(helper)
    assert set(adapter().get_vendor_staff("bobs-bikes")) == {users["bob"], helper}

    get_user_model().objects.filter(pk=helper.pk).update(is_active=False)

    assert adapter().get_vendor_staff("bobs-bikes") == [users["bob"]]


def test_a_user_of_the_stores_own_partner_is_no_vendor(users):
    Partner.objects.get(code="demo-marketplace").users.add(users["carol"])

    assert adapter().get_user_vendor_keys(fresh(users["carol"])) == set()
    with pytest.raises(Http404):
        access_order(user=fresh(users["carol"]), order_number="1004")


def test_a_user_taken_off_a_partner_stops_answering_for_it_at_once(
    users, client_for, django_capture_on_commit_callbacks
):
    bob = client_for("bob")
    access = access_order(user=users["alice"], order_number="1001")
    sub_order = access.sub_order("bobs-bikes")
    actions.post_message(
        order=access.order, sub_order=sub_order, actor=access.actor_in(sub_order), body="Hi"
    )
    conversation = Conversation.objects.get(order_number="1001", vendor_key="bobs-bikes")
    assert Participant.objects.filter(conversation=conversation, user=users["bob"]).exists()
    assert bob.get("/messages/orders/1001/bobs-bikes/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        Partner.objects.get(code="bobs-bikes").users.remove(users["bob"])

    assert adapter().get_vendor_staff("bobs-bikes") == []
    assert adapter().get_user_vendor_keys(fresh(users["bob"])) == set()
    assert bob.get("/messages/orders/1001/bobs-bikes/").status_code == 404
    assert bob.get("/messages/orders/1002/bobs-bikes/").status_code == 404
    # The signal took him out of the conversations and his badge with them.
    assert not Participant.objects.filter(user=users["bob"], role="vendor").exists()
    assert UnreadCounter.objects.get(user=users["bob"]).count == 0
    assert "Order #1002" not in text(client_for("bob").get("/messages/"))

    # Taken on again (from the user's side of the relation), he is back.
    with django_capture_on_commit_callbacks(execute=True):
        users["bob"].partners.add(Partner.objects.get(code="bobs-bikes"))
    assert bob.get("/messages/orders/1001/bobs-bikes/").status_code == 200


def test_the_stores_staff_are_the_active_staff_accounts(users):
    User = get_user_model()
    assert adapter().get_store_staff() == [users["admin"]]
    clerk = User.objects.create_user("clerk", "clerk@marketplace.example", is_staff=True)
    User.objects.create_user("gone", "gone@marketplace.example", is_staff=True, is_active=False)

    assert set(adapter().get_store_staff()) == {users["admin"], clerk}
    assert adapter().can_manage_conversations(clerk)
    assert not adapter().can_manage_conversations(users["bob"])
    assert not adapter().can_manage_conversations(users["alice"])
    # Store staff read every conversation of every order.
    assert [s.vendor_key for s in access_order(user=clerk, order_number="1001").sub_orders] == [
        "bobs-bikes",
        "daves-outdoor",
        STORE,
    ]


def test_display_names(users):
    assert adapter().get_display_name(users["bob"]) == "Bob Baker"
    assert adapter().get_display_name(users["admin"]) == "Ada Admin"
    assert adapter().get_display_name(users["alice"]) == "Alice Archer"


# -- figures -------------------------------------------------------------------------------------


def expected_counts(max_days_ago: int, store_partners=True) -> dict[str, int]:
    """Orders per vendor among the seed's orders placed up to ``max_days_ago`` days ago,
    from the demo catalogue."""
    counts = defaultdict(set)
    for number, _customer, days_ago, _status, lines in ORDERS:
        if days_ago <= max_days_ago:
            for name, _qty in lines:
                vendor = VENDOR_OF_PRODUCT[name]
                if vendor == STORE and not store_partners:
                    vendor = "demo-marketplace"
                counts[vendor].add(number)
    return {vendor: len(numbers) for vendor, numbers in counts.items()}


@pytest.mark.parametrize("days", [4, 10, 25, 100])
def test_orders_are_counted_per_partner(days):
    since = timezone.now() - timedelta(days=days)

    assert adapter().count_orders(since=since) == expected_counts(days - 1)


def test_orders_counted_without_store_partners_and_with_a_deleted_partner(settings):
    since = timezone.now() - timedelta(days=100)
    settings.ORDER_MESSAGES_OSCAR_STORE_PARTNERS = []
    assert adapter().count_orders(since=since) == expected_counts(99, store_partners=False)

    settings.ORDER_MESSAGES_OSCAR_STORE_PARTNERS = ["demo-marketplace"]
    Partner.objects.get(code="bobs-bikes").delete()
    counts = adapter().count_orders(since=since)
    assert "bobs-bikes" not in counts
    assert counts[STORE] == 4  # 1001 and 1004, and Bob's 1002 and 1005


def test_orders_are_counted_in_one_query():
    with CaptureQueriesContext(connection) as queries:
        adapter().count_orders(since=timezone.now() - timedelta(days=100))

    assert len(queries) == 1


# -- batching --------------------------------------------------------------------------------------


def copy_orders(count: int, start: int) -> list[str]:
    """``count`` more orders, each a copy of #1001 (three partners' lines)."""
    numbers = []
    original = Order.objects.get(number="1001")
    lines = list(original.lines.all())
    for i in range(count):
        order = Order.objects.get(pk=original.pk)
        order.pk = None
        order.number = str(start + i)
        order.save()
        for line in lines:
            line.pk = None
            line.order = order
            line.save()
        numbers.append(order.number)
    return numbers


def test_get_orders_asks_a_fixed_number_of_queries_whatever_their_number(
    django_assert_max_num_queries,
):
    few = copy_orders(2, start=5000)
    many = copy_orders(25, start=6000)

    with CaptureQueriesContext(connection) as for_few:
        found_few = adapter().get_orders(few)
    with django_assert_max_num_queries(len(for_few)):
        found_many = adapter().get_orders(many)

    assert len(for_few) <= 3
    assert found_few.keys() == set(few) and found_many.keys() == set(many)
    for order in found_many.values():
        assert [s.vendor_key for s in order.sub_orders] == ["bobs-bikes", "daves-outdoor", STORE]


@pytest.mark.parametrize("page", ["/messages/", "/accounts/orders/"])
def test_the_customers_pages_ask_a_fixed_number_of_queries(users, client_for, page):
    """Alice's Messages page (which asks the store for the orders of its rows) and Oscar's
    order history (with the unread count of each order): as many queries for 3 orders with
    conversations as for 15."""
    alice = client_for("alice")

    def queries_of_page():
        alice.get(page)  # the first request of a session makes Oscar's basket
        with CaptureQueriesContext(connection) as queries:
            response = alice.get(page)
        assert response.status_code == 200
        # Oscar's order history asks for each order's lines itself (its item count): the
        # app's part is what is counted there.
        ours = [
            q["sql"]
            for q in queries.captured_queries
            if page == "/messages/" or "order_messages_" in q["sql"]
        ]
        return len(ours), text(response)

    def conversations_about(numbers):
        for number in numbers:
            access = access_order(user=users["bob"], order_number=number)
            sub_order = access.sub_order("bobs-bikes")
            actions.post_message(
                order=access.order,
                sub_order=sub_order,
                actor=access.actor_in(sub_order),
                body=f"About {number}",
            )

    conversations_about(copy_orders(2, start=5000))
    few, shown = queries_of_page()
    assert "5001" in shown
    conversations_about(copy_orders(12, start=6000))
    many, shown = queries_of_page()

    assert "6011" in shown
    assert many == few


# -- the dashboard's navigation ----------------------------------------------------------------


def entry_for(user):
    """The "Customer messages" entry of Oscar's dashboard menu as ``user`` sees it, as
    (label, [(child label, url)]), or None."""
    for node in get_nodes(fresh(user)):
        if node.label == "Customer messages":
            return node.label, [(c.label, c.url) for c in node.children]
    return None


def test_the_dashboard_navigation_has_the_entry():
    entries = [e for e in settings.OSCAR_DASHBOARD_NAVIGATION if e is DASHBOARD_ENTRY]

    assert len(entries) == 1
    assert settings.OSCAR_DASHBOARD_NAVIGATION[-1] is DASHBOARD_ENTRY


@pytest.mark.parametrize("username", ["bob", "dave", "admin"])
def test_partners_and_staff_see_the_entry(users, username):
    assert entry_for(users[username]) == (
        "Customer messages",
        [("Conversations", "/messages/"), ("Response times", "/messages/dashboard/")],
    )


@pytest.mark.parametrize("username", ["alice", "carol"])
def test_customers_do_not_see_the_entry(users, username):
    assert entry_for(users[username]) is None


def test_a_user_taken_off_their_partner_no_longer_sees_the_entry(users):
    Partner.objects.get(code="bobs-bikes").users.remove(users["bob"])

    assert entry_for(users["bob"]) is None


@pytest.mark.parametrize("username", ["bob", "admin"])
def test_the_dashboard_links_to_the_back_office(client_for, username):
    response = client_for(username).get(reverse("dashboard:index"))

    assert response.status_code == 200
    found = links(response)
    assert found["Conversations"] == "/messages/"
    assert found["Response times"] == "/messages/dashboard/"
    # The back office opens for them.
    assert client_for(username).get(found["Conversations"]).status_code == 200
    assert client_for(username).get(found["Response times"]).status_code == 200


def test_customers_are_kept_out_of_the_dashboard(client_for):
    response = client_for("alice").get(reverse("dashboard:index"))

    assert response.status_code == 403
    assert "/messages/dashboard/" not in response.content.decode()


def test_the_entry_is_added_once_and_can_be_left_out(settings):
    settings.OSCAR_DASHBOARD_NAVIGATION = [{"label": "Dashboard", "url_name": "dashboard:index"}]
    add_dashboard_entry()
    add_dashboard_entry()
    assert [e["label"] for e in settings.OSCAR_DASHBOARD_NAVIGATION] == [
        "Dashboard",
        "Customer messages",
    ]

    # A store listing the back office itself gets no second entry.
    own = {"label": "Support", "children": [{"label": "Inbox", "url_name": "order_messages:inbox"}]}
    settings.OSCAR_DASHBOARD_NAVIGATION = [own]
    add_dashboard_entry()
    assert settings.OSCAR_DASHBOARD_NAVIGATION == [own]

    settings.OSCAR_DASHBOARD_NAVIGATION = []
    settings.ORDER_MESSAGES_OSCAR_DASHBOARD_ENTRY = False
    add_dashboard_entry()
    assert settings.OSCAR_DASHBOARD_NAVIGATION == []


# -- the dispute hook ------------------------------------------------------------------------------


def test_a_resolved_dispute_leaves_a_system_note_on_oscars_order(
    users, django_capture_on_commit_callbacks
):
    alice = access_order(user=users["alice"], order_number="1001")
    sub_order = alice.sub_order("daves-outdoor")
    actions.open_dispute(
        order=alice.order,
        sub_order=sub_order,
        actor=alice.actor_in(sub_order),
        reason="The tent poles are missing.",
        reason_code="missing_parts",
        requested="replacement",
    )
    conversation = Conversation.objects.get(order_number="1001", vendor_key="daves-outdoor")
    staff = access_order(user=users["admin"], order_number="1001")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        actions.close_dispute(
            conversation=conversation,
            actor=staff.actor_in(staff.sub_order("daves-outdoor")),
            outcome="replaced",
        )
        assert not OrderNote.objects.exists()  # not before the resolution is committed

    assert callbacks
    (note,) = OrderNote.objects.filter(order__number="1001")
    assert note.note_type == OrderNote.SYSTEM
    assert note.message == "Dispute with Dave's Outdoor resolved: Replaced."
    assert Dispute.objects.get(conversation=conversation).outcome == "replaced"


def test_the_hook_does_nothing_for_an_order_oscar_no_longer_has(users):
    conversation = Conversation.objects.get(order_number="1002")
    dispute = Dispute(conversation=conversation, outcome="rejected", resolution_note="")
    Order.objects.filter(number="1002").delete()

    adapter().dispute_resolved(dispute=dispute, conversation=conversation)

    assert not OrderNote.objects.exists()


def test_oscars_longest_partner_codes_and_names_hold(users):
    """Oscar allows partner codes and order numbers of 128 characters and addresses with
    names of 510: a conversation about them is written like any other (PostgreSQL checks
    the column lengths that SQLite does not)."""
    partner = Partner.objects.create(name=("Fahrradmanufaktur Müller und Söhne " * 4)[:128])
    assert len(partner.code) > 64
    Line = get_model("order", "Line")
    Line.objects.filter(order__number="1004").update(partner=partner)
    order = Order.objects.get(number="1004")
    order.shipping_address.first_name = "A" * 255
    order.shipping_address.save()
    get_user_model().objects.filter(pk=users["alice"].pk).update(first_name="", last_name="")

    access = access_order(user=users["alice"], order_number="1004")
    sub_order = access.sub_order(partner.code)
    message = actions.post_message(
        order=access.order, sub_order=sub_order, actor=access.actor_in(sub_order), body="Hi"
    )
    conversation = Conversation.objects.get(pk=message.conversation_id)
    assert conversation.vendor_key == partner.code
    assert conversation.vendor_name == partner.name
    assert len(message.author_name) == 200 and len(conversation.customer_name) == 200


# -- the back office's orders ------------------------------------------------------------------


def seed_orders_of(vendor_keys=None) -> list[str]:
    """The seed's orders with items of these vendors (every order for None), newest first."""
    found = [
        (days, -index, number)
        for index, (number, _customer, days, _status, lines) in enumerate(ORDERS)
        if vendor_keys is None or {VENDOR_OF_PRODUCT[name] for name, _ in lines} & vendor_keys
    ]
    return [number for *_, number in sorted(found)]


@pytest.mark.parametrize(
    "vendor_keys", [None, {"bobs-bikes"}, {"daves-outdoor"}, {STORE}, {"bobs-bikes", STORE}]
)
def test_the_back_office_lists_a_vendors_orders_newest_first(vendor_keys):
    found = adapter().list_orders(vendor_keys=vendor_keys, limit=100)

    assert [o.number for o in found] == seed_orders_of(vendor_keys)
    assert len(found) < len(ORDERS) or vendor_keys is None


def test_the_back_office_pages_through_the_orders():
    every = seed_orders_of()

    first = adapter().list_orders(vendor_keys=None, offset=0, limit=2)
    second = adapter().list_orders(vendor_keys=None, offset=2, limit=2)

    assert [o.number for o in first + second] == every[:4]


def test_a_line_of_a_deleted_partner_lists_the_order_as_the_stores(users):
    Partner.objects.get(code="daves-outdoor").delete()

    numbers = [o.number for o in adapter().list_orders(vendor_keys={STORE}, limit=100)]

    assert "1003" in numbers  # Dave's sleeping bags are the store's now
    assert "1003" not in [o.number for o in adapter().list_orders(vendor_keys={"daves-outdoor"})]


def test_the_back_office_orders_ask_a_fixed_number_of_queries(django_assert_max_num_queries):
    copy_orders(25, start=7000)

    with CaptureQueriesContext(connection) as for_few:
        adapter().list_orders(vendor_keys={"bobs-bikes"}, limit=2)
    with django_assert_max_num_queries(len(for_few)):
        many = adapter().list_orders(vendor_keys={"bobs-bikes"}, limit=25)

    assert len(many) == 25 and len(for_few) <= 3


def test_the_customers_orders_page_is_oscars_order_history():
    assert adapter().get_customer_orders_url(None) == reverse("customer:order-list")
