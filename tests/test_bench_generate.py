"""The benchmark's data generator loads both systems with the same, consistent data
(bench/generate.py). It loads PostgreSQL with COPY, so it runs on the PostgreSQL pass."""

import os

import psycopg
import pytest

from bench.generate import load_ours, load_peer
from bench.shape import UNREAD_SHARE, make_shape

DATABASE_URL = os.environ.get("DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not DATABASE_URL.startswith("postgres"), reason="the generator loads PostgreSQL with COPY"
)


def scratch_url(name: str) -> str:
    return DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def generated():
    shape = make_shape(messages=20_000, end=1_800_000_000, seed=7)
    ours, peer = scratch_url("om_bench_test"), scratch_url("om_bench_peer_test")
    load_ours(shape, ours)
    load_peer(shape, peer)
    with psycopg.connect(ours) as a, psycopg.connect(peer) as b:
        yield shape, a, b


def one(db, sql, *params):
    return db.execute(sql, params).fetchone()[0]


def test_every_message_is_loaded_with_gapless_sequence_numbers(generated):
    shape, ours, _ = generated

    assert one(ours, "SELECT count(*) FROM order_messages_message") == 20_000
    assert one(ours, "SELECT count(*) FROM order_messages_conversation") == shape.conversations
    gaps = one(
        ours,
        """SELECT count(*) FROM order_messages_conversation c
           WHERE c.last_seq <> (SELECT count(*) FROM order_messages_message m
                                WHERE m.conversation_id = c.id)""",
    )
    assert gaps == 0


def test_stored_unread_counters_equal_a_recount(generated):
    shape, ours, _ = generated

    wrong = one(
        ours,
        """SELECT count(*) FROM order_messages_unreadcounter u
           WHERE u.count <> (SELECT coalesce(sum(p.unread_count), 0)
                             FROM order_messages_participant p WHERE p.user_id = u.user_id)""",
    )
    unread = one(ours, "SELECT count(*) FROM order_messages_participant WHERE unread_count > 0")

    assert wrong == 0
    assert unread == sum(shape.conv_unread)
    assert 0.2 < unread / shape.conversations < UNREAD_SHARE + 0.1


def test_both_systems_hold_the_same_messages_and_the_same_unread_ones(generated):
    _, ours, peer = generated

    assert one(peer, "SELECT count(*) FROM postman_message") == 20_000
    for username in ("vendor01", "vendor02", "customer0"):
        counter = one(
            ours,
            """SELECT u.count FROM order_messages_unreadcounter u
               JOIN auth_user a ON a.id = u.user_id WHERE a.username = %s""",
            username,
        )
        postman = one(
            peer,
            """SELECT count(*) FROM postman_message m JOIN auth_user a ON a.id = m.recipient_id
               WHERE a.username = %s AND m.read_at IS NULL""",
            username,
        )
        assert counter == postman


def test_the_hot_conversations_are_the_longest_and_belong_to_the_top_vendor(generated):
    shape, ours, _ = generated

    number, vendor, length = ours.execute(
        """SELECT order_number, vendor_key, last_seq FROM order_messages_conversation
           ORDER BY last_seq DESC, id LIMIT 1"""
    ).fetchone()

    assert (number, vendor, length) == (shape.order_number(0), "v01", max(shape.conv_count))


def test_vendor_answers_carry_their_response_time_as_the_posting_action_records_it(generated):
    _, ours, _ = generated

    wrong = one(
        ours,
        """SELECT count(*) FROM order_messages_message v
           JOIN order_messages_message c ON c.conversation_id = v.conversation_id
                                        AND c.seq = v.seq - 1
           WHERE v.author_role = 'vendor'
             AND (v.response_seconds <> extract(epoch FROM v.created_at - c.created_at)::int
                  OR v.answered <> 1
                  OR v.answered_within_day <> (v.response_seconds <= 86400)::int)""",
    )
    customers_with_figures = one(
        ours,
        """SELECT count(*) FROM order_messages_message
           WHERE author_role = 'customer' AND (response_seconds IS NOT NULL OR answered <> 0)""",
    )

    assert wrong == 0 and customers_with_figures == 0


def test_customers_wait_where_the_last_message_is_theirs(generated):
    _, ours, _ = generated

    wrong = one(
        ours,
        """SELECT count(*) FROM order_messages_conversation
           WHERE (awaiting_since IS NOT NULL) <> (mod(last_seq, 2) = 1)
              OR awaiting_count <> mod(last_seq, 2)
              OR (awaiting_since IS NOT NULL AND awaiting_since <> last_message_at)""",
    )

    assert wrong == 0


def test_one_conversation_in_a_hundred_has_an_open_dispute(generated):
    shape, ours, _ = generated
    expected = [c for c in range(shape.conversations) if shape.disputed(c)]

    disputed = one(
        ours, "SELECT count(*) FROM order_messages_conversation WHERE open_dispute_id IS NOT NULL"
    )
    escalated = one(ours, "SELECT count(*) FROM order_messages_conversation WHERE escalated")
    wrong = one(
        ours,
        """SELECT count(*) FROM order_messages_conversation c
           JOIN order_messages_dispute d ON d.id = c.open_dispute_id
           WHERE d.conversation_id <> c.id OR c.escalated <> (d.status = 'escalated')
              OR c.dispute_count <> 1""",
    )

    assert disputed == len(expected) > 0
    assert escalated == sum(shape.escalated(c) for c in expected) > 0
    assert wrong == 0
