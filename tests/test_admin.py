"""The Django admin for the store owner: finding conversations and disputes, reading them,
and never changing the evidence."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from order_messages import actions, queries
from order_messages.models import Conversation, Dispute, Message
from tests.conftest import assert_counters_exact, conversation_of

pytestmark = pytest.mark.usefixtures("no_conversations")

CONVERSATIONS = "/admin/order_messages/conversation/"
DISPUTES = "/admin/order_messages/dispute/"
MESSAGES = "/admin/order_messages/message/"


@pytest.fixture
def story(post, dispute):
    """Four conversations; #1002 with Bob's Bikes has an open dispute (damaged, a
    replacement asked for), #1001's with Dave's Outdoor one resolved as replaced."""
    post("alice", "1001", "bobs-bikes", "Where is my helmet?")
    post("alice", "1001", "daves-outdoor", "Is the tent waterproof?")
    dispute.open("alice", "1001", "daves-outdoor", "It leaks.")
    dispute.close(
        "admin", "1001", "daves-outdoor", outcome="replaced", note="A new tent is on its way."
    )
    post("alice", "1002", "bobs-bikes", "Is the bike assembled?")
    dispute.open(
        "alice",
        "1002",
        "bobs-bikes",
        "It arrived broken.",
        reason_code="damaged",
        requested="replacement",
    )
    post("carol", "1005", "daves-outdoor", "When will the stove ship?")


@pytest.fixture
def manager(demo):
    """A staff user who may manage conversations, and nothing else in the admin."""
    user = get_user_model().objects.create_user(
        "sam", "sam@marketplace.example", "demo", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="manage_conversations"))
    client = Client()
    client.force_login(user)
    return client


def rows(response):
    """The rows of an admin changelist, as (order number, vendor key)."""
    assert response.status_code == 200
    found = set()
    for obj in response.context["cl"].result_list:
        conversation = obj if isinstance(obj, Conversation) else obj.conversation
        found.add((conversation.order_number, conversation.vendor_key))
    return found


ALL = {
    ("1001", "bobs-bikes"),
    ("1001", "daves-outdoor"),
    ("1002", "bobs-bikes"),
    ("1005", "daves-outdoor"),
}


# -- conversations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ALL),
        ("?dispute=yes", {("1002", "bobs-bikes")}),
        ("?dispute=no", ALL - {("1002", "bobs-bikes")}),
        ("?vendor_name=Dave%27s+Outdoor", {("1001", "daves-outdoor"), ("1005", "daves-outdoor")}),
        ("?vendor_name=Bob%27s+Bikes&dispute=no", {("1001", "bobs-bikes")}),
        ("?q=1001", {("1001", "bobs-bikes"), ("1001", "daves-outdoor")}),
        ("?q=%231002", {("1002", "bobs-bikes")}),
        ("?q=100", set()),  # an order number is matched whole
        ("?q=carol+chen", {("1005", "daves-outdoor")}),
        ("?q=alice%40customers.example", ALL - {("1005", "daves-outdoor")}),
        ("?q=nobody", set()),
    ],
)
def test_the_conversation_list_filters_and_searches(story, client_for, query, expected):
    assert rows(client_for("admin").get(CONVERSATIONS + query)) == expected


def test_the_conversation_list_shows_the_name_the_vendor_and_the_dispute(story, client_for):
    page = client_for("admin").get(CONVERSATIONS).content.decode()

    assert "Order #1001 — Bob&#x27;s Bikes" in page
    assert "Order #1002" in page
    assert "Carol Chen" in page
    assert page.count('alt="True"') == 1  # one open dispute


def test_the_conversation_list_costs_the_same_whatever_its_length(story, client_for, post):
    client = client_for("admin")
    with CaptureQueriesContext(connection) as few:
        client.get(CONVERSATIONS)
    post("carol", "1005", "bobs-bikes", "And the helmet?")
    post("alice", "1001", "store", "Are the bottles dishwasher safe?")
    with CaptureQueriesContext(connection) as more:
        assert len(rows(client.get(CONVERSATIONS))) == 6
    assert len(more) == len(few)


def test_a_conversation_page_shows_the_thread_participants_and_disputes(story, client_for):
    conversation = conversation_of("1002", "bobs-bikes")
    response = client_for("admin").get(f"{CONVERSATIONS}{conversation.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Is the bike assembled?" in page
    assert "It arrived broken." in page
    assert "Alice Archer" in page
    # Nothing on it can be edited or deleted: no inputs for messages, no save button.
    assert 'name="messages-0-body"' not in page
    assert "<textarea" not in page
    assert 'name="_save"' not in page
    assert "DELETE" not in page
    # "View on site" leads to the thread on the Messages pages, where staff act.
    assert 'href="/messages/orders/1002/bobs-bikes/"' in page


def test_a_conversation_cannot_be_added_changed_or_deleted(story, client_for):
    client = client_for("admin")
    conversation = conversation_of("1002", "bobs-bikes")
    before = (conversation.last_seq, Message.objects.count(), Dispute.objects.count())

    assert client.get(CONVERSATIONS + "add/").status_code == 403
    change = f"{CONVERSATIONS}{conversation.pk}/change/"
    assert client.post(change, {"vendor_name": "Someone else"}).status_code == 403
    delete = f"{CONVERSATIONS}{conversation.pk}/delete/"
    assert client.post(delete, {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [conversation.pk], "post": "yes"}
    client.post(CONVERSATIONS, bulk)

    conversation = conversation_of("1002", "bobs-bikes")
    assert conversation.vendor_name == "Bob's Bikes"
    assert (conversation.last_seq, Message.objects.count(), Dispute.objects.count()) == before
    assert_counters_exact()


# -- messages: evidence ------------------------------------------------------------------------


def test_messages_can_never_be_added_changed_or_deleted_in_the_admin(demo):
    request = RequestFactory().get("/admin/")
    request.user = demo["admin"]  # a superuser: every permission there is
    message_admin = admin.site._registry[Message]
    inline = next(
        i
        for i in admin.site._registry[Conversation].get_inline_instances(request)
        if i.model is Message
    )

    for model_admin in (message_admin, inline):
        assert model_admin.has_view_permission(request)
        assert not model_admin.has_add_permission(request, None)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


def test_the_message_pages_refuse_every_change(story, client_for):
    client = client_for("admin")
    message = Message.objects.get(conversation=conversation_of("1002", "bobs-bikes"), seq=1)

    assert client.get(MESSAGES + "add/").status_code == 403
    assert client.post(MESSAGES + "add/", {"body": "Forged"}).status_code == 403
    change = f"{MESSAGES}{message.pk}/change/"
    response = client.get(change)
    assert response.status_code == 200  # readable
    assert "Is the bike assembled?" in response.content.decode()
    assert "<textarea" not in response.content.decode()
    assert client.post(change, {"body": "Forged"}).status_code == 403
    assert client.post(f"{MESSAGES}{message.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [message.pk], "post": "yes"}
    client.post(MESSAGES, bulk)

    message.refresh_from_db()
    assert message.body == "Is the bike assembled?"
    assert Message.objects.filter(pk=message.pk).exists()


def test_the_message_list_finds_a_conversations_messages(story, client_for):
    response = client_for("admin").get(MESSAGES + "?q=%231002")

    assert rows(response) == {("1002", "bobs-bikes")}
    assert len(response.context["cl"].result_list) == 2  # the question and the dispute


# -- disputes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", {("1002", "bobs-bikes"), ("1001", "daves-outdoor")}),
        ("?status__exact=open", {("1002", "bobs-bikes")}),
        ("?status__exact=closed", {("1001", "daves-outdoor")}),
        ("?q=leaks", {("1001", "daves-outdoor")}),
        ("?status__exact=escalated", set()),
        ("?outcome__exact=replaced", {("1001", "daves-outdoor")}),
        ("?outcome__exact=refunded", set()),
        ("?requested__exact=replacement", {("1002", "bobs-bikes")}),
    ],
)
def test_the_dispute_list_filters_by_status_and_outcome(story, client_for, query, expected):
    assert rows(client_for("admin").get(DISPUTES + query)) == expected


def test_the_dispute_list_shows_who_opened_it_and_when_it_closed(story, client_for):
    page = client_for("admin").get(DISPUTES).content.decode()

    for column in ("Conversation", "Status", "Opened by name", "Opened at", "Closed at"):
        assert column in page
    assert "Order #1002" in page
    assert "Alice Archer" in page


def test_the_dispute_list_shows_the_reason_the_request_the_deadline_and_the_outcome(
    story, client_for
):
    response = client_for("admin").get(DISPUTES)
    page = response.content.decode()

    for column in ("Reason chosen", "Requested", "Respond by", "Escalated at", "Outcome"):
        assert column in page
    shown = {
        d.conversation.order_number: (
            d.reason_label,
            d.get_requested_display(),
            d.get_outcome_display(),
        )
        for d in response.context["cl"].result_list
    }
    assert shown == {"1002": ("Damaged", "Replacement", ""), "1001": ("Other", "Other", "Replaced")}
    for text in ("Damaged", "Replacement", "Replaced", "Resolved"):
        assert f">{text}<" in page
    assert [f.title for f in response.context["cl"].filter_specs] == [
        "status",
        "outcome",
        "requested",
    ]


def test_a_dispute_page_shows_its_whole_lifecycle(story, client_for):
    client = client_for("admin")
    resolved = Dispute.objects.get(conversation=conversation_of("1001", "daves-outdoor"))
    running = Dispute.objects.get(conversation=conversation_of("1002", "bobs-bikes"))

    page = client.get(f"{DISPUTES}{resolved.pk}/change/").content.decode()
    for label in ("Reason chosen", "Requested", "Respond by", "Responded at", "Escalated at"):
        assert f"{label}:" in page
    assert "Replaced" in page and "A new tent is on its way." in page
    page = client.get(f"{DISPUTES}{running.pk}/change/").content.decode()
    assert "Damaged" in page and "Replacement" in page and "It arrived broken." in page
    assert running.respond_by is not None
    # The conversation's page lists every dispute with the same fields.
    page = client.get(f"{CONVERSATIONS}{resolved.conversation_id}/change/").content.decode()
    assert "A new tent is on its way." in page and "Replaced" in page


def test_a_dispute_is_read_only(story, client_for):
    client = client_for("admin")
    dispute = Dispute.objects.get(conversation=conversation_of("1002", "bobs-bikes"))
    change = f"{DISPUTES}{dispute.pk}/change/"

    response = client.get(change)
    assert response.status_code == 200
    assert "It arrived broken." in response.content.decode()
    assert 'name="_save"' not in response.content.decode()
    assert client.post(change, {"status": "closed"}).status_code == 403
    assert client.get(DISPUTES + "add/").status_code == 403
    assert client.post(f"{DISPUTES}{dispute.pk}/delete/", {"post": "yes"}).status_code == 403

    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN


# -- saved replies -------------------------------------------------------------------------------

SAVED_REPLIES = "/admin/order_messages/savedreply/"


@pytest.fixture
def saved_replies(demo):
    bob = queries.access_backoffice(user=demo["bob"])
    store = queries.access_backoffice(user=demo["admin"])
    return [
        actions.create_saved_reply(scope=bob, title="Thanks", body="Thank you!"),
        actions.create_saved_reply(scope=store, title="Returns", body="30 days.", shared=True),
    ]


def test_saved_replies_are_listed_with_their_owner_and_filtered_by_sharing(saved_replies, manager):
    response = manager.get(SAVED_REPLIES)
    assert response.status_code == 200
    assert [r.title for r in response.context["cl"].result_list] == ["Returns", "Thanks"]
    assert "bob" in response.content.decode()
    shared = manager.get(SAVED_REPLIES + "?shared__exact=1")
    assert [r.title for r in shared.context["cl"].result_list] == ["Returns"]
    found = manager.get(SAVED_REPLIES + "?q=thank")
    assert [r.title for r in found.context["cl"].result_list] == ["Thanks"]


def test_saved_replies_are_read_only_in_the_admin(saved_replies, manager):
    reply = saved_replies[0]
    change = f"{SAVED_REPLIES}{reply.pk}/change/"

    page = manager.get(change)
    assert page.status_code == 200 and "Thank you!" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert manager.post(change, {"title": "Forged", "body": "x"}).status_code == 403
    assert manager.get(SAVED_REPLIES + "add/").status_code == 403
    assert manager.post(f"{SAVED_REPLIES}{reply.pk}/delete/", {"post": "yes"}).status_code == 403

    reply.refresh_from_db()
    assert reply.title == "Thanks"


# -- who may use these pages -------------------------------------------------------------------


def test_store_staff_with_manage_conversations_may_read_the_admin_pages(story, manager):
    assert "Conversations" in manager.get("/admin/").content.decode()
    assert rows(manager.get(CONVERSATIONS)) == ALL
    assert rows(manager.get(DISPUTES + "?status__exact=open")) == {("1002", "bobs-bikes")}
    conversation = conversation_of("1002", "bobs-bikes")
    page = manager.get(f"{CONVERSATIONS}{conversation.pk}/change/").content.decode()
    assert "Is the bike assembled?" in page  # the inlines are visible to them too
    assert manager.get(MESSAGES + "add/").status_code == 403


def test_other_staff_users_may_not(story, demo):
    user = get_user_model().objects.create_user("pat", "pat@marketplace.example", is_staff=True)
    client = Client()
    client.force_login(user)

    assert client.get(CONVERSATIONS).status_code == 403
    assert client.get(DISPUTES).status_code == 403
    assert "Conversations" not in client.get("/admin/").content.decode()


@pytest.mark.parametrize("username", ["alice", "bob"])
def test_customers_and_vendors_are_sent_to_the_admin_login(story, client_for, username):
    response = client_for(username).get(CONVERSATIONS)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# -- the outbox: sending failed e-mails again ----------------------------------------------------

NOTIFICATIONS = "/admin/order_messages/notification/"


def test_sending_a_failed_email_again_folds_it_into_the_newer_pending_batch(demo, post, client_for):
    """Bob's first e-mail failed for good; Alice wrote again, which opened a new batch for
    him. Sending the failed one again must not collide with the open batch (one open batch
    per recipient and conversation): it joins it, and one e-mail tells of both messages."""
    from order_messages.models import Notification

    Status = Notification.Status
    bob = demo["bob"].email
    post("alice", "1002", "bobs-bikes", "First")
    failed = Notification.objects.get(email=bob)
    Notification.objects.filter(pk=failed.pk).update(
        status=Status.FAILED, attempts=8, last_error="SMTPRecipientsRefused"
    )
    post("alice", "1002", "bobs-bikes", "Second")
    newer = Notification.objects.get(email=bob, status=Status.PENDING)
    assert (newer.first_seq, newer.last_seq) == (2, 2)

    response = client_for("admin").post(
        NOTIFICATIONS, {"action": "send_again", "_selected_action": [failed.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "1 e-mail will be sent again." in response.content.decode()
    failed.refresh_from_db()
    newer.refresh_from_db()
    assert failed.status == Status.SKIPPED
    assert (newer.status, newer.first_seq, newer.last_seq) == (Status.PENDING, 1, 2)
    assert Notification.objects.filter(email=bob, status=Status.PENDING).count() == 1


def test_staff_mark_unrouted_inbound_mail_handled(demo, manager):
    from order_messages.models import InboundMail

    unrouted = InboundMail.objects.create(sender="a@x.example", status="unrouted")
    posted = InboundMail.objects.create(sender="b@x.example", status="posted")

    response = manager.post(
        "/admin/order_messages/inboundmail/",
        {"action": "mark_handled", "_selected_action": [unrouted.pk, posted.pk]},
        follow=True,
    )

    assert "1 e-mail marked as handled." in response.content.decode()
    assert InboundMail.objects.get(pk=unrouted.pk).status == InboundMail.Status.HANDLED
    assert InboundMail.objects.get(pk=posted.pk).status == InboundMail.Status.POSTED
