"""Access follows the store: when an order changes hands, or a guest order its address,
every channel (page, API, badge, e-mail, reply by e-mail, live stream) asks the policy with
the store's data of now. Each case runs twice: with the store telling the app (the demo's
``post_save`` calls ``update_order_access``) and without (a queryset ``update`` bypasses
the signal), where each channel must still be right."""

from __future__ import annotations

import email.policy
import json
import threading
import time
from email.message import EmailMessage

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from demo.store.models import Order
from order_messages import actions, live, policy
from order_messages.guest import make_guest_token
from order_messages.live import MemoryBroker
from order_messages.models import InboundMail, Notification, Participant
from order_messages.notifications import inbound
from tests.conftest import (
    assert_counters_exact,
    conversation_of,
    counter_of,
    deliver_notifications,
    unread_of,
)
from tests.test_inbound import address_for, reply
from tests.test_live import login, read_events

pytestmark = pytest.mark.usefixtures("no_conversations")

TOLD_BY_STORE, STORE_SILENT = "the store tells the app", "the store says nothing"


@pytest.fixture
def broker(monkeypatch):
    fresh = MemoryBroker(window=50)
    monkeypatch.setattr(live, "get_broker", lambda: fresh)
    return fresh


@pytest.fixture
def reply_domain(settings):
    settings.ORDER_MESSAGES_REPLY_DOMAIN = "reply.shop.example"


def move_order(number, *, to, how, django_capture_on_commit_callbacks):
    """The store gives the order to ``to`` (a user, or an e-mail address for a guest)."""
    order = Order.objects.get(number=number)
    if isinstance(to, str):
        fields = {"customer": None, "email": to, "name": "New Guest"}
    else:
        fields = {"customer": to, "email": to.email, "name": to.get_full_name()}
    if how == STORE_SILENT:
        Order.objects.filter(pk=order.pk).update(**fields)
        return
    with django_capture_on_commit_callbacks(execute=True):
        for name, value in fields.items():
            setattr(order, name, value)
        order.save()


def page_text(client, path):
    return client.get(path).content.decode()


@pytest.mark.parametrize("how", [TOLD_BY_STORE, STORE_SILENT])
def test_an_order_that_changes_hands_tells_the_old_customer_nothing_more(
    how, demo, post, broker, mailoutbox, client_for, django_capture_on_commit_callbacks
):
    alice, carol = demo["alice"], demo["carol"]
    post("alice", "1002", "bobs-bikes", "Is the bike assembled?")
    post("bob", "1002", "bobs-bikes", "Yes, fully assembled.")  # unread for alice
    # An e-mail to alice is still waiting for its batching delay when the order moves.
    assert Notification.objects.filter(email=alice.email, status="pending").exists()
    before = counter_of(alice)

    move_order(
        "1002",
        to=carol,
        how=how,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=True):
        post("bob", "1002", "bobs-bikes", "Secret tracking number 4711")

    # E-mail: neither the waiting batch nor the new message reaches alice; carol is told.
    deliver_notifications()
    assert not [m for m in mailoutbox if alice.email in m.to]
    assert [m for m in mailoutbox if carol.email in m.to and "4711" in m.body]
    # Live: alice's stream hears nothing of the new message.
    assert not [
        e for e in broker.replay(alice.pk, 0) or [] if e.data.get("excerpt", "").endswith("4711")
    ]
    assert [e for e in broker.replay(carol.pk, 0) or [] if e.type == "message.posted"]
    # Pages, API and badge.
    alice_client, carol_client = client_for("alice"), client_for("carol")
    for path in ("/messages/", "/api/v1/conversations"):
        assert "4711" not in page_text(alice_client, path)
        assert "4711" in page_text(carol_client, path)
    assert alice_client.get("/messages/orders/1002/bobs-bikes/").status_code == 404
    assert "4711" in page_text(carol_client, "/messages/orders/1002/bobs-bikes/")
    assert counter_of(alice) == before - 1  # the unread answer left with the order
    assert unread_of(alice, "1002", "bobs-bikes") is None
    assert_counters_exact()


@pytest.mark.parametrize("how", [TOLD_BY_STORE, STORE_SILENT])
def test_without_a_new_message_the_old_customers_inbox_and_badge_follow_the_store(
    how, demo, post, client_for, django_capture_on_commit_callbacks
):
    alice = demo["alice"]
    post("bob", "1002", "bobs-bikes", "Your frame number is 12345")
    assert counter_of(alice) == 1

    move_order(
        "1002",
        to=demo["carol"],
        how=how,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )
    client = client_for("alice")

    assert "12345" not in page_text(client, "/messages/")
    assert "12345" not in page_text(client, "/api/v1/conversations")
    # Either the store's call or the inbox page itself moved the participant and counter.
    assert counter_of(alice) == 0
    assert Participant.objects.filter(user=demo["carol"]).exists()
    assert "12345" in page_text(client_for("carol"), "/messages/")
    assert_counters_exact()


@pytest.mark.parametrize("how", [TOLD_BY_STORE, STORE_SILENT])
def test_a_guest_order_given_a_new_address_closes_the_old_link_and_reply_address(
    how, demo, post, mailoutbox, reply_domain, django_capture_on_commit_callbacks
):
    post("dave", "1006", "daves-outdoor", "Rated to −8 °C.")
    conversation = conversation_of("1006", "daves-outdoor")
    old_address = conversation.customer_email
    old_link = "/messages/guest/" + make_guest_token(policy_order("1006")) + "/"
    old_reply_to = address_for(conversation, None)
    guest = Client()
    assert guest.get(old_link, follow=True).status_code == 200

    move_order(
        "1006",
        to="new@guests.example",
        how=how,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )

    # The session that followed the old link, and the old link itself, open nothing more.
    assert guest.get("/messages/orders/1006/daves-outdoor/").status_code in (302, 404)
    response = guest.post("/messages/orders/1006/daves-outdoor/", {"body": "As whom?"})
    assert response.status_code in (302, 404)
    assert Client().get(old_link).status_code == 404
    assert conversation_of("1006", "daves-outdoor").last_seq == 1
    # A reply from the old address is kept for staff, not posted.
    outcome = inbound.receive(reply(sender=old_address, to=old_reply_to, body="Still me"))
    assert (outcome.status, outcome.reason) == ("unrouted", "the sender may no longer write here")
    # The vendor's answer goes to the new address only.
    post("dave", "1006", "daves-outdoor", "Shipped today.")
    deliver_notifications()
    assert not [m for m in mailoutbox if old_address in m.to]
    to_new = [m for m in mailoutbox if "new@guests.example" in m.to]
    assert to_new and "Shipped today." in to_new[-1].body
    # The new guest's link opens the order, and their reply is posted.
    new_link = "/messages/guest/" + make_guest_token(policy_order("1006")) + "/"
    assert "Shipped today." in Client().get(new_link, follow=True).content.decode()
    conversation = conversation_of("1006", "daves-outdoor")
    outcome = inbound.receive(
        reply(sender="new@guests.example", to=address_for(conversation, None), body="Thanks")
    )
    assert outcome.status == "posted"


def policy_order(number):
    from order_messages.adapter import get_adapter

    return get_adapter().get_order(number)


def test_a_reply_address_works_only_for_the_address_it_was_issued_to(demo, post, reply_domain):
    post("bob", "1002", "bobs-bikes", "Question?")
    conversation = conversation_of("1002", "bobs-bikes")
    issued = address_for(conversation, demo["alice"])
    # Alice's account changes address: the address issued to the old one stops working.
    get_user_model().objects.filter(pk=demo["alice"].pk).update(email="alice@new.example")

    for sender in ("alice@customers.example", "alice@new.example"):
        outcome = inbound.receive(reply(sender=sender, to=issued, body="Hello"))
        assert outcome.status == "unrouted"
    assert conversation_of("1002", "bobs-bikes").last_seq == 1


# -- From headers that cannot be trusted -------------------------------------------------------


def raw_reply(from_header: str, to: str) -> bytes:
    message = EmailMessage(policy=email.policy.compat32)
    message["From"] = from_header
    message["To"] = to
    message["Subject"] = "Re: Order #1002"
    message["Message-ID"] = "<x1@mail.example>"
    message.set_payload("I want a refund.")
    return message.as_bytes()


@pytest.mark.parametrize(
    "from_header, reason",
    [
        ("alice@customers.example <carol@attacker.example>", "malformed From header"),
        ('"alice@customers.example" <carol@attacker.example>', "another address"),
        ("alice@customers.example, carol@attacker.example", "several addresses"),
        ("Alice <alice@customers.example", "malformed From header"),
    ],
)
def test_a_from_header_that_cannot_be_trusted_is_kept_for_staff(
    from_header, reason, demo, post, reply_domain
):
    post("bob", "1002", "bobs-bikes", "Question?")
    conversation = conversation_of("1002", "bobs-bikes")
    raw = raw_reply(from_header, address_for(conversation, demo["alice"]))

    outcome = inbound.receive(raw)

    assert outcome.status == "unrouted" and reason in outcome.reason
    assert conversation_of("1002", "bobs-bikes").last_seq == 1
    kept = InboundMail.objects.get(pk=outcome.inbound.pk)
    assert kept.status == "unrouted" and reason in kept.reason and "refund" in kept.raw


def test_a_plain_from_header_with_a_name_is_trusted(demo, post, reply_domain):
    post("bob", "1002", "bobs-bikes", "Question?")
    conversation = conversation_of("1002", "bobs-bikes")
    raw = raw_reply(
        '"Alice Smith" <ALICE@customers.example>', address_for(conversation, demo["alice"])
    )

    assert inbound.receive(raw).status == "posted"


# -- the policy is the one place -------------------------------------------------------------


def test_the_policy_asks_the_store_not_the_conversations_copy(demo, post):
    post("bob", "1002", "bobs-bikes", "Hello")
    conversation = conversation_of("1002", "bobs-bikes")
    assert policy.viewer_of_conversation(conversation=conversation, user=demo["alice"])

    Order.objects.filter(number="1002").update(customer=demo["carol"])

    assert conversation_of("1002", "bobs-bikes").customer_id == demo["alice"].pk  # the copy
    assert policy.viewer_of_conversation(conversation=conversation, user=demo["alice"]) is None
    found = policy.viewer_of_conversation(conversation=conversation, user=demo["carol"])
    assert found is not None and found.role == "customer"


def test_update_order_access_moves_participants_and_counters_in_one_step(demo, post):
    post("bob", "1002", "bobs-bikes", "One")
    post("bob", "1002", "bobs-bikes", "Two")
    Order.objects.filter(number="1002").update(customer=demo["carol"], email="c@x.example")

    changed = actions.update_order_access(order_number="1002")

    assert changed == 2  # alice out, carol in
    assert unread_of(demo["carol"], "1002", "bobs-bikes") == 2
    assert counter_of(demo["carol"]) == 2 and counter_of(demo["alice"]) == 0
    conversation = conversation_of("1002", "bobs-bikes")
    assert (conversation.customer_id, conversation.customer_email) == (
        demo["carol"].pk,
        "c@x.example",
    )
    assert actions.update_order_access(order_number="1002") == 0  # nothing left to do
    assert_counters_exact()


# -- the live stream ---------------------------------------------------------------------------


def listen_until_closed(client) -> threading.Event:
    ended = threading.Event()

    def listen():
        with client.stream("GET", "/messages/live/", timeout=10) as response:
            for _line in response.iter_lines():
                pass
        ended.set()

    threading.Thread(target=listen, daemon=True).start()
    return ended


@pytest.mark.parametrize("change", ["password changed", "logged out", "deactivated"])
def test_a_stream_ends_within_a_heartbeat_when_its_session_no_longer_holds(
    change, asgi_server, demo, broker, settings
):
    settings.ORDER_MESSAGES_LIVE_HEARTBEAT = 0.2
    alice = login(asgi_server, "alice")
    ended = listen_until_closed(alice)
    time.sleep(0.5)
    assert not ended.is_set()

    user = get_user_model().objects.get(username="alice")
    if change == "password changed":
        user.set_password("a new one")
        user.save()
    elif change == "logged out":
        login_page = alice.get("/accounts/login/")
        assert login_page.status_code == 200
        alice.post("/accounts/logout/", data={"csrfmiddlewaretoken": alice.cookies["csrftoken"]})
    else:
        user.is_active = False
        user.save()

    assert ended.wait(timeout=3), f"the stream went on after the {change}"


def test_a_stream_passes_on_no_event_of_a_conversation_the_store_took_away(
    asgi_server, demo, broker, post
):
    post("bob", "1002", "bobs-bikes", "Old news")
    post("bob", "1001", "bobs-bikes", "Still hers")
    taken, kept = conversation_of("1002", "bobs-bikes"), conversation_of("1001", "bobs-bikes")
    alice = login(asgi_server, "alice")
    result = {}
    reader = threading.Thread(target=lambda: result.update(events=read_events(alice, want=1)))
    reader.start()
    time.sleep(0.5)

    # Published before the store's change reached the app, or by a process that missed it.
    Order.objects.filter(number="1002").update(customer=demo["carol"])
    broker.publish(demo["alice"].pk, "message.posted", {"conversation": taken.pk, "seq": 9})
    broker.publish(demo["alice"].pk, "message.posted", {"conversation": kept.pk, "seq": 9})
    reader.join(timeout=10)

    events = result["events"]
    assert [json.loads(e["data"])["conversation"] for e in events] == [kept.pk]


def test_a_vendor_told_of_a_leaving_staff_member_takes_them_out_at_once(
    demo, post, client_for, django_capture_on_commit_callbacks
):
    from django.contrib.auth import get_user_model

    from demo.store.models import Vendor

    ben = get_user_model().objects.create_user(username="ben", email="ben@bobs-bikes.example")
    bikes = Vendor.objects.get(slug="bobs-bikes")
    bikes.staff.add(ben)
    post("alice", "1002", "bobs-bikes", "Frame size?")  # ben takes part, one unread
    assert unread_of(ben, "1002", "bobs-bikes") == 1 and counter_of(ben) == 1

    with django_capture_on_commit_callbacks(execute=True):
        bikes.staff.remove(ben)  # the demo's m2m_changed calls update_vendor_access

    assert unread_of(ben, "1002", "bobs-bikes") is None
    assert counter_of(ben) == 0
    assert unread_of(demo["bob"], "1002", "bobs-bikes") == 1
    assert_counters_exact()


def test_the_new_customer_writing_first_after_an_unreported_change_keeps_counts_exact(demo, post):
    post("alice", "1002", "bobs-bikes", "One")
    post("bob", "1002", "bobs-bikes", "Two")
    Order.objects.filter(number="1002").update(customer=demo["carol"], email="c@x.example")

    post("carol", "1002", "bobs-bikes", "Hello, the order is mine now")

    assert unread_of(demo["carol"], "1002", "bobs-bikes") == 0
    assert counter_of(demo["carol"]) == 0 and counter_of(demo["alice"]) == 0
    assert unread_of(demo["bob"], "1002", "bobs-bikes") == 1
    assert_counters_exact()


def test_a_split_order_changing_hands_moves_every_conversation_in_one_step(demo, post):
    for vendor_key, answerer in (("bobs-bikes", "bob"), ("daves-outdoor", "dave")):
        post("alice", "1001", vendor_key, "Question")
        post(answerer, "1001", vendor_key, "Answer")
    Order.objects.filter(number="1001").update(customer=demo["carol"], email="c@x.example")

    assert actions.update_order_access(order_number="1001") == 4

    assert counter_of(demo["alice"]) == 0
    assert counter_of(demo["carol"]) == 4  # both conversations, whole
    assert_counters_exact()


def test_someone_signed_in_with_a_guest_link_reads_and_writes_as_the_guest(demo, post, client_for):
    post("dave", "1006", "daves-outdoor", "Rated to −8 °C.")
    client = client_for("carol")
    link = "/messages/guest/" + make_guest_token(policy_order("1006")) + "/"

    assert "Rated to" in client.get(link, follow=True).content.decode()
    response = client.post("/messages/orders/1006/daves-outdoor/", {"body": "Thanks!"})

    assert response.status_code == 302
    last = conversation_of("1006", "daves-outdoor").messages.order_by("-seq").first()
    assert (last.body, last.author_id, last.author_role) == ("Thanks!", None, "customer")
    assert not Participant.objects.filter(user=demo["carol"]).exists()
    assert_counters_exact()


def test_a_reply_address_from_before_the_binding_works_for_the_address_of_now(
    demo, post, reply_domain
):
    from django.utils import timezone

    from order_messages.notifications import tokens

    post("bob", "1002", "bobs-bikes", "Question?")
    conversation = conversation_of("1002", "bobs-bikes")
    value = "-".join(
        tokens._base36(n)
        for n in (conversation.pk, demo["alice"].pk, timezone.localdate().toordinal())
    )
    legacy = f"reply+{value}-{tokens._signature(value)}@reply.shop.example"

    stranger = inbound.receive(reply(sender="carol@customers.example", to=legacy, body="Me?"))
    alice = inbound.receive(reply(sender="alice@customers.example", to=legacy, body="Yes"))

    assert (stranger.status, alice.status) == ("unrouted", "posted")


def test_mail_forged_in_someones_name_does_not_use_up_their_replies(
    demo, post, reply_domain, settings
):
    settings.ORDER_MESSAGES_INBOUND_RATE_LIMIT = 3
    post("bob", "1002", "bobs-bikes", "Question?")
    conversation = conversation_of("1002", "bobs-bikes")
    bobs_address = address_for(conversation, demo["bob"])
    for i in range(5):  # From: alice, to an address issued to Bob, or to none at all
        to = bobs_address if i % 2 else "reply+forged@reply.shop.example"
        outcome = inbound.receive(reply(sender="alice@customers.example", to=to, body=f"F{i}"))
        assert outcome.status == "unrouted"

    mine = address_for(conversation, demo["alice"])
    outcome = inbound.receive(reply(sender="alice@customers.example", to=mine, body="Real"))

    assert outcome.status == "posted"


def test_the_new_customer_opening_the_order_joins_its_conversations(demo, post, client_for):
    post("alice", "1002", "bobs-bikes", "Is it assembled?")
    post("bob", "1002", "bobs-bikes", "Yes, with tracking 4711")
    Order.objects.filter(number="1002").update(customer=demo["carol"], email="c@x.example")
    carol = client_for("carol")
    assert "4711" not in page_text(carol, "/messages/")  # nobody told the app yet

    assert "4711" in page_text(carol, "/messages/orders/1002/bobs-bikes/")

    assert unread_of(demo["carol"], "1002", "bobs-bikes") == 0  # shown, so read
    assert "4711" in page_text(carol, "/messages/")
    assert unread_of(demo["alice"], "1002", "bobs-bikes") is None
    assert_counters_exact()
