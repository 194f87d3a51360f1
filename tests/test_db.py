"""UPDATE … RETURNING: the values as written, with or without the database's RETURNING."""

import pytest
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from order_messages import db
from order_messages.models import Conversation
from tests.conftest import conversation_of


@pytest.mark.parametrize("returning", [True, False], ids=["RETURNING", "UPDATE and SELECT"])
def test_the_rows_come_back_as_written(demo, post, monkeypatch, returning):
    if not returning:
        monkeypatch.setattr(db, "RETURNING_VENDORS", frozenset())
    post("alice", "1001", "bobs-bikes", "Hello")
    conversation = conversation_of("1001", "bobs-bikes")
    now = timezone.now()

    rows = db.update_returning(
        Conversation.objects.filter(pk=conversation.pk),
        ("last_seq", "last_message_at", "awaiting_since", "escalated", "vendor_key"),
        also=["1 + 1"],
        last_seq=F("last_seq") + 1,
        last_message_at=now,
        awaiting_since=Coalesce(F("awaiting_since"), Value(now)),
    )

    conversation.refresh_from_db()
    assert rows == [
        (
            conversation.last_seq,
            conversation.last_message_at,
            conversation.awaiting_since,
            False,
            "bobs-bikes",
            2,
        )
    ]
    assert conversation.last_seq == 2 and conversation.last_message_at == now
    nothing = Conversation.objects.filter(pk__in=[])
    assert db.update_returning(nothing, ("last_seq",), last_seq=F("last_seq") + 1) == []
