"""The demo's seed (seed_demo): the accounts and orders the demo and the tests rely on, and
sixty days of history written through the app's own actions, so that the dashboard's
figures tell a story the moment ``make demo`` starts."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command, get_commands
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from demo.store.history import CUSTOMERS, FIRST_NUMBER
from demo.store.management.commands.seed_demo import HISTORY_DEADLINES
from demo.store.models import Order, Vendor
from order_messages import actions
from order_messages.conf import app_settings
from order_messages.models import (
    Attachment,
    Conversation,
    Dispute,
    Message,
    Notification,
    Participant,
    ResponseDay,
    Role,
    UnreadCounter,
    WebhookDelivery,
    WebhookEndpoint,
)
from order_messages.notifications.worker import deliver_all as deliver_emails
from order_messages.webhooks.signing import new_secret
from tests.conftest import FAST_HASHERS, seed_demo

HISTORY_CUSTOMERS = {username for username, *_ in CUSTOMERS}


@dataclass
class Seeded:
    started: datetime
    endpoint: WebhookEndpoint


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The demo seeded with its history once for the module, over the tests' seed (which
    has none), with a webhook endpoint registered before: each test runs in a transaction
    over it, and afterwards all of it is rolled back."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            if not get_user_model().objects.filter(username="admin").exists():
                seed_demo()  # a transactional test before this module emptied the database
            endpoint = WebhookEndpoint.objects.create(
                url="https://erp.example/hooks/", description="ERP", secret=new_secret()
            )
            started = timezone.now()
            call_command("seed_demo", verbosity=0)
            yield Seeded(started=started, endpoint=endpoint)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def history(seeded, db):
    return seeded


def history_conversations(vendor_key=None):
    rows = Conversation.objects.filter(order_number__gte=str(FIRST_NUMBER))
    return rows.filter(vendor_key=vendor_key) if vendor_key else rows


def response_hours(vendor_key):
    seconds = Message.objects.filter(
        conversation__in=history_conversations(vendor_key), response_seconds__isnull=False
    ).values_list("response_seconds", flat=True)
    return median(seconds) / 3600, len(seconds)


def the_dispute(vendor_key, status):
    return Dispute.objects.select_related("conversation").get(
        conversation__in=history_conversations(vendor_key), status=status
    )


# -- the story ------------------------------------------------------------------------------


def test_sixty_days_of_orders_and_conversations_for_every_seller(history):
    messages = Message.objects.filter(conversation__in=history_conversations())
    first = messages.order_by("created_at").first().created_at
    last = messages.order_by("created_at").last().created_at

    assert history.started - timedelta(days=61) < first < history.started - timedelta(days=50)
    assert last < history.started
    assert len({m.created_at.date() for m in messages}) >= 40
    for vendor_key in ("bobs-bikes", "daves-outdoor", "emmas-electronics", "store"):
        assert history_conversations(vendor_key).count() >= 5, vendor_key
    customers = Order.objects.filter(number__gte=str(FIRST_NUMBER)).values_list(
        "customer__username", flat=True
    )
    assert set(customers) == HISTORY_CUSTOMERS
    emails = Order.objects.filter(number__gte=str(FIRST_NUMBER)).values_list("email", flat=True)
    assert all(email.endswith("@customers.example") for email in emails)


def test_bob_answers_within_minutes_and_dave_after_a_day(history):
    bob, bob_answers = response_hours("bobs-bikes")
    dave, dave_answers = response_hours("daves-outdoor")
    emma, _ = response_hours("emmas-electronics")

    assert bob < 1 and bob_answers >= 20
    assert 20 < dave < 40 and dave_answers >= 10
    assert bob < emma < dave
    # Some of Dave's customers are still waiting; Bob's answered (all but perhaps the last).
    assert history_conversations("daves-outdoor").filter(awaiting_since__isnull=False).count() > 3
    assert history_conversations("bobs-bikes").filter(awaiting_since__isnull=False).count() <= 2


def test_dave_has_a_dispute_escalated_to_the_store_by_the_worker(history):
    dispute = the_dispute("daves-outdoor", Dispute.Status.ESCALATED)
    conversation = dispute.conversation
    clock = timedelta(seconds=app_settings.DISPUTE_CLOCK_SECONDS)
    # The history keeps the app's default deadline whatever the demo is started with.
    hours = timedelta(hours=HISTORY_DEADLINES["ORDER_MESSAGES_DISPUTE_RESPONSE_HOURS"])

    assert dispute.opened_by.username in HISTORY_CUSTOMERS
    assert (dispute.reason_code, dispute.requested) == ("not_received", "refund")
    assert dispute.respond_by == dispute.opened_at + hours
    assert dispute.escalated_at == dispute.respond_by + clock
    assert dispute.reminded_at is not None and dispute.responded_at is None
    assert conversation.escalated and conversation.open_dispute_id == dispute.pk
    escalation = conversation.messages.get(kind=Message.Kind.DISPUTE_ESCALATED)
    assert escalation.author_role == Role.SYSTEM and escalation.created_at == dispute.escalated_at
    # The store's staff have not read it yet: the back office shows it first and unread.
    admin = Participant.objects.get(conversation=conversation, user__username="admin")
    assert admin.unread_count > 0


def test_emma_has_a_dispute_the_store_resolved_with_a_refund(history):
    dispute = the_dispute("emmas-electronics", Dispute.Status.CLOSED)

    assert dispute.outcome == Dispute.Outcome.REFUNDED
    assert dispute.closed_by.username == "admin" and "refunded" in dispute.resolution_note
    assert dispute.opened_at < dispute.responded_at < dispute.respond_by
    assert dispute.escalated_at is None
    closing = dispute.events.get(kind=Message.Kind.DISPUTE_CLOSED)
    assert closing.body == dispute.resolution_note


def test_the_other_disputes_were_returned_after_escalation_and_withdrawn(history):
    returned = the_dispute("daves-outdoor", Dispute.Status.CLOSED)
    withdrawn = the_dispute("bobs-bikes", Dispute.Status.CLOSED)

    assert returned.outcome == Dispute.Outcome.RETURNED
    assert returned.escalated_at < returned.responded_at < returned.closed_at
    assert withdrawn.outcome == Dispute.Outcome.WITHDRAWN
    assert withdrawn.closed_by == withdrawn.opened_by
    assert withdrawn.responded_at - withdrawn.opened_at < timedelta(hours=1)


def test_the_response_figures_are_what_the_app_wrote_at_the_time(history):
    """Each reply's wait is measured from the customer's first unanswered message, as the
    app records it when the reply is written at that moment."""
    replies = Message.objects.filter(
        conversation__in=history_conversations(), response_seconds__isnull=False
    ).select_related("conversation")
    assert replies.count() > 50
    for reply in replies:
        earlier = Message.objects.filter(
            conversation=reply.conversation, seq__lt=reply.seq, kind=Message.Kind.MESSAGE
        ).order_by("-seq")
        waiting = []
        for message in earlier:
            if message.author_role != Role.CUSTOMER:
                break
            waiting.append(message)
        assert reply.answered == len(waiting)
        waited = reply.created_at - waiting[-1].created_at
        assert reply.response_seconds == int(waited.total_seconds())


def test_no_clock_is_left_running(history):
    """Every dispute of the past is escalated or resolved: the demo's worker escalates and
    reminds nothing of its own the moment it starts."""
    now = timezone.now()

    assert actions.remind_sellers(now=now) == 0
    assert actions.escalate_overdue_disputes(now=now + timedelta(days=3)) == 0


@pytest.mark.skipif(
    "roll_up_responses" not in get_commands(), reason="no roll_up_responses command yet"
)
def test_the_response_figures_are_rolled_up_for_the_dashboard(history):
    vendors = set(ResponseDay.objects.values_list("vendor_key", flat=True))

    assert {"bobs-bikes", "daves-outdoor", "emmas-electronics"} <= vendors


# -- nothing of the past is sent now ----------------------------------------------------------


def test_no_email_or_webhook_of_the_past_waits_in_the_outbox(history):
    assert not Notification.objects.filter(conversation__in=history_conversations()).exists()
    assert not WebhookDelivery.objects.filter(endpoint=history.endpoint).exists()

    report = deliver_emails(now=timezone.now() + timedelta(days=2))

    assert report.sent == 0 and mail.outbox == []


# -- idempotent, and the demo's contracts ---------------------------------------------------


def everything():
    User = get_user_model()
    return {
        "users": list(User.objects.order_by("pk").values_list("pk", "username", "email")),
        "vendors": list(Vendor.objects.order_by("pk").values_list("pk", "slug", "name")),
        "orders": list(Order.objects.order_by("pk").values_list("pk", "number", "placed_at")),
        "conversations": list(
            Conversation.objects.order_by("pk").values_list(
                "pk", "last_seq", "awaiting_since", "escalated", "open_dispute_id"
            )
        ),
        "messages": list(Message.objects.order_by("pk").values_list("pk", "created_at")),
        "disputes": list(Dispute.objects.order_by("pk").values_list("pk", "status", "outcome")),
        "participants": list(Participant.objects.order_by("pk").values_list("pk", "unread_count")),
        "counters": list(UnreadCounter.objects.order_by("pk").values_list("pk", "count")),
        "notifications": Notification.objects.count(),
        "deliveries": WebhookDelivery.objects.count(),
    }


def test_a_second_run_changes_nothing(history):
    before = everything()

    call_command("seed_demo", verbosity=0)

    assert everything() == before


def test_the_demo_accounts_and_orders_are_as_before(history, dispute):
    User = get_user_model()
    for username in ("alice", "carol", "bob", "dave", "emma", "admin", *HISTORY_CUSTOMERS):
        assert User.objects.get(username=username).check_password("demo"), username
    vendors = {v.slug: (v.name, [u.username for u in v.staff.all()]) for v in Vendor.objects.all()}
    assert vendors == {
        "bobs-bikes": ("Bob's Bikes", ["bob"]),
        "daves-outdoor": ("Dave's Outdoor", ["dave"]),
        "emmas-electronics": ("Emma's Electronics", ["emma"]),
    }
    assert User.objects.get(username="emma").email == "emma@emmas-electronics.example"
    alices = Order.objects.filter(customer__username="alice").values_list("number", flat=True)
    assert sorted(alices) == ["1001", "1002", "1003", "1004", "1007"]
    assert Attachment.objects.filter(conversation__order_number="1007").count() == 2
    # The history is other people's: alice can still open a dispute with Dave on her order
    # of both vendors and the store.
    assert not Dispute.objects.filter(conversation__order_number__lt="2000").exists()
    opened = dispute.open("alice", "1001", "daves-outdoor", "The tent pole is bent.")
    assert opened.status == Dispute.Status.OPEN
