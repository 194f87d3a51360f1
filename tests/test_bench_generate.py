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
