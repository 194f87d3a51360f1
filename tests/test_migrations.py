"""Upgrading a store that already has conversations: what the disputes migration fills in."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("order_messages", "0008_attachments")]
AFTER = [("order_messages", "0009_disputes_lifecycle")]


@pytest.fixture
def migrated_back(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_an_upgrade_counts_disputes_finds_waiting_customers_and_starts_the_figures_now(
    migrated_back,
):
    old = migrated_back.loader.project_state(BEFORE).apps
    Conversation = old.get_model("order_messages", "Conversation")
    Message = old.get_model("order_messages", "Message")
    Dispute = old.get_model("order_messages", "Dispute")
    waiting = Conversation.objects.create(order_number="9001", vendor_key="v", vendor_name="V")
    answered = Conversation.objects.create(order_number="9002", vendor_key="v", vendor_name="V")
    for conversation, roles in (
        (waiting, ["vendor", "customer"]),
        (answered, ["customer", "vendor"]),
    ):
        for seq, role in enumerate(roles, start=1):
            Message.objects.create(
                conversation=conversation, seq=seq, author_role=role, author_name=role, body="Hi"
            )
        Conversation.objects.filter(pk=conversation.pk).update(last_seq=len(roles))
    Dispute.objects.create(
        conversation=answered, reason="Broken", opened_by_name="C", status="closed"
    )
    Dispute.objects.create(conversation=answered, reason="Again", opened_by_name="C", status="open")
    last_message = Message.objects.order_by("-pk").values_list("pk", flat=True).first()

    migrated_back.loader.build_graph()
    migrated_back.migrate(AFTER)

    new = migrated_back.loader.project_state(AFTER).apps
    Conversation = new.get_model("order_messages", "Conversation")
    Watermark = new.get_model("order_messages", "Watermark")
    waiting_now = Conversation.objects.get(pk=waiting.pk)
    answered_now = Conversation.objects.get(pk=answered.pk)
    assert waiting_now.awaiting_since is not None and waiting_now.awaiting_count == 1
    assert answered_now.awaiting_since is None and answered_now.awaiting_count == 0
    assert (waiting_now.dispute_count, answered_now.dispute_count) == (0, 2)
    # Replies written before the upgrade carry no response time: the figures start now.
    assert dict(Watermark.objects.values_list("name", "last_id")) == {
        "responses": last_message,
        "responses-from": last_message,
    }
