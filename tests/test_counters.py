"""check_unread_counts: every stored unread count against a recount, and the repair."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from order_messages.models import Participant, UnreadCounter


def check(*args):
    out, err = StringIO(), StringIO()
    call_command("check_unread_counts", *args, stdout=out, stderr=err)
    return out.getvalue()


def recount(participant):
    return participant.conversation.messages.filter(seq__gt=participant.last_read_seq).count()


@pytest.fixture
def talk(demo, post, access_as):
    from order_messages import actions

    post("alice", "1001", "bobs-bikes", "Hello Bob")
    post("bob", "1001", "bobs-bikes", "Hello Alice")
    post("alice", "1001", "bobs-bikes", "When does it ship?")
    post("alice", "1002", "bobs-bikes", "And this one?")
    access = access_as("alice", "1001")
    tab = access.sub_order("bobs-bikes")
    conversation = Participant.objects.get(
        user=demo["alice"], conversation__order_number="1001"
    ).conversation
    actions.mark_unread(conversation=conversation, user=demo["alice"], role=access.role_in(tab))
    return demo


def test_counts_kept_by_the_actions_are_all_right(talk):
    assert "0 unread counts and 0 badge counters were wrong." in check()
    for participant in Participant.objects.all():
        assert participant.unread_count == recount(participant)


def test_wrong_counts_are_reported_and_left_alone_without_repair(talk):
    bob = Participant.objects.get(user=talk["bob"], conversation__order_number="1001")
    Participant.objects.filter(pk=bob.pk).update(unread_count=F("unread_count") + 5)
    UnreadCounter.objects.filter(user=talk["alice"]).update(count=42)

    with pytest.raises(CommandError, match="1 unread counts and 2 badge counters were wrong"):
        check()

    bob.refresh_from_db()
    assert bob.unread_count == recount(bob) + 5
    assert UnreadCounter.objects.get(user=talk["alice"]).count == 42


def test_repair_puts_every_count_right_and_a_second_check_finds_nothing(talk):
    for participant in Participant.objects.all():
        Participant.objects.filter(pk=participant.pk).update(unread_count=7)
    UnreadCounter.objects.filter(user=talk["bob"]).delete()

    assert "repaired" in check("--repair", "--batch", "1")

    for participant in Participant.objects.select_related("conversation"):
        assert participant.unread_count == recount(participant)
    for user in ("alice", "bob"):
        expected = sum(p.unread_count for p in Participant.objects.filter(user=talk[user]))
        assert UnreadCounter.objects.get(user=talk[user]).count == expected
    assert UnreadCounter.objects.get(user=talk["bob"]).count > 0
    assert "0 unread counts and 0 badge counters were wrong." in check()
