"""Fill PostgreSQL with a generated marketplace, for django-order-messages and for
django-postman (the peer), with COPY.

    .venv/bin/python -m bench.generate --messages 1000000 [--system ours|peer|both]

Each system gets its own fresh database (BENCH_DATABASE_URL, PEER_DATABASE_URL), migrated
by its own settings module, then loaded with the same people and messages (bench/shape.py).
Ours also gets what its posting action would have recorded: each vendor answer's response
time, the customers still waiting, and open disputes (one conversation in a hundred, a
fifth of them escalated; written as rows without their event messages, so that both
systems hold the same messages). Prints what it loaded and how long it took.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from importlib import import_module
from pathlib import Path

from .bulk import connect, copy_rows, reset_sequences, ts, without_indexes
from .shape import (
    STORE_USER,
    Shape,
    body_for,
    make_shape,
    vendor_key,
    vendor_name,
)

ROOT = Path(__file__).resolve().parent.parent
OURS_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/om_bench")
PEER_URL = os.environ.get("PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/om_bench_peer")
# Any Django password hash would do: these accounts are logged in by the harness directly.
UNUSABLE = "!bench"
# The seller's deadline to answer a dispute (the default ORDER_MESSAGES_DISPUTE_RESPONSE_HOURS).
DISPUTE_SECONDS = 48 * 3600


def fresh_database(url: str, settings: str) -> None:
    base, name = url.rsplit("/", 1)
    with connect(f"{base}/postgres") as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url, "PEER_DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0", f"--settings={settings}"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def user_rows(shape: Shape):
    joined = ts(shape.end - 400 * 24 * 3600)
    yield (STORE_USER, UNUSABLE, None, True, "admin", "Store", "Admin", "", True, True, joined)
    for vendor in range(20):
        user = shape.vendor_user(vendor)
        name = f"vendor{vendor + 1:02d}"
        email = f"{name}@vendors.example"
        yield (
            user,
            UNUSABLE,
            None,
            False,
            name,
            vendor_name(vendor),
            "",
            email,
            False,
            True,
            joined,
        )
    for customer in range(shape.customers):
        user = shape.customer_user(customer)
        name = f"customer{customer}"
        email = f"{name}@example.com"
        yield (
            user,
            UNUSABLE,
            None,
            False,
            name,
            "Customer",
            str(customer),
            email,
            False,
            True,
            joined,
        )


USER_COLUMNS = [
    "id", "password", "last_login", "is_superuser", "username", "first_name", "last_name",
    "email", "is_staff", "is_active", "date_joined",
]  # fmt: skip


def load_ours(shape: Shape, url: str) -> dict:
    fresh_database(url, "bench.settings")
    started = time.perf_counter()
    tables = [
        "auth_user", "store_vendor", "store_vendor_staff", "store_product", "store_order",
        "store_orderitem", "order_messages_conversation", "order_messages_participant",
        "order_messages_unreadcounter", "order_messages_message", "order_messages_dispute",
    ]  # fmt: skip
    counts = {}
    # The back office's search index (migration 0011_search) is filled in one pass after
    # the messages, not row by row by its triggers, and its indexes are rebuilt with the rest.
    with connect(url) as db, without_indexes(db, [*tables, "order_messages_search"]):
        db.execute("ALTER TABLE order_messages_message DISABLE TRIGGER USER")
        counts["users"] = copy_rows(db, "auth_user", USER_COLUMNS, user_rows(shape))
        copy_rows(
            db,
            "store_vendor",
            ["id", "name", "slug"],
            ((v + 1, vendor_name(v), vendor_key(v)) for v in range(20)),
        )
        copy_rows(
            db,
            "store_vendor_staff",
            ["id", "vendor_id", "user_id"],
            ((v + 1, v + 1, shape.vendor_user(v)) for v in range(20)),
        )
        copy_rows(
            db,
            "store_product",
            ["id", "name", "price", "vendor_id"],
            ((v + 1, f"Product of {vendor_name(v)}", "49.90", v + 1) for v in range(20)),
        )

        def orders():
            for order in range(shape.orders):
                customer = shape.order_customer[order]
                yield (
                    order + 1,
                    shape.order_number(order),
                    f"customer{customer}@example.com",
                    f"Customer {customer}",
                    ts(shape.end - 366 * 24 * 3600),
                    "Delivered",
                    shape.customer_user(customer),
                )

        counts["orders"] = copy_rows(
            db,
            "store_order",
            ["id", "number", "email", "name", "placed_at", "status", "customer_id"],
            orders(),
        )
        copy_rows(
            db,
            "store_orderitem",
            ["id", "name", "quantity", "price", "order_id", "product_id", "vendor_id"],
            (
                (c + 1, "Product", 1, "49.90", shape.conv_order[c] + 1, v + 1, v + 1)
                for c, v in enumerate(shape.conv_vendor)
            ),
        )

        disputes = {}  # conversation index -> (dispute id, escalated)

        def dispute_rows():
            for c in range(shape.conversations):
                if not shape.disputed(c):
                    continue
                order, n = shape.conv_order[c], shape.conv_count[c]
                customer = shape.order_customer[order]
                opened = shape.message_time(c, n)
                escalated = shape.escalated(c)
                disputes[c] = (len(disputes) + 1, escalated)
                yield (
                    disputes[c][0], c + 1, "escalated" if escalated else "open", "damaged",
                    "refund", "It arrived damaged.", shape.customer_user(customer),
                    f"Customer {customer}", ts(opened), ts(opened + DISPUTE_SECONDS), None,
                    None, ts(opened + DISPUTE_SECONDS) if escalated else None, None, "", None,
                    "", "",
                )  # fmt: skip

        counts["disputes"] = copy_rows(
            db,
            "order_messages_dispute",
            [
                "id", "conversation_id", "status", "reason_code", "requested", "reason",
                "opened_by_id", "opened_by_name", "opened_at", "respond_by", "responded_at",
                "reminded_at", "escalated_at", "closed_by_id", "closed_by_name", "closed_at",
                "outcome", "resolution_note",
            ],
            dispute_rows(),
        )  # fmt: skip

        def conversations():
            for c in range(shape.conversations):
                order, vendor, n = shape.conv_order[c], shape.conv_vendor[c], shape.conv_count[c]
                customer = shape.order_customer[order]
                dispute, escalated = disputes.get(c, (None, False))
                # Odd messages are the customer's: after an odd last one they wait.
                awaiting = ts(shape.message_time(c, n)) if n % 2 else None
                yield (
                    c + 1, shape.order_number(order), vendor_key(vendor), vendor_name(vendor),
                    shape.order_is_split(c), f"customer{customer}@example.com",
                    f"Customer {customer}", n, ts(shape.message_time(c, n)),
                    body_for(c, n)[:200], ts(shape.conv_start[c]),
                    shape.customer_user(customer), dispute, 0, int(dispute is not None),
                    escalated, awaiting, n % 2,
                )  # fmt: skip

        counts["conversations"] = copy_rows(
            db,
            "order_messages_conversation",
            [
                "id", "order_number", "vendor_key", "vendor_name", "order_is_split",
                "customer_email", "customer_name", "last_seq", "last_message_at",
                "last_message_excerpt", "created_at", "customer_id", "open_dispute_id",
                "attachment_count", "dispute_count", "escalated", "awaiting_since",
                "awaiting_count",
            ],
            conversations(),
        )  # fmt: skip

        unread_total: dict[int, int] = {}

        def participants():
            for c in range(shape.conversations):
                order, vendor, n = shape.conv_order[c], shape.conv_vendor[c], shape.conv_count[c]
                customer = shape.customer_user(shape.order_customer[order])
                vendor_user = shape.vendor_user(vendor)
                last_at, joined = ts(shape.message_time(c, n)), ts(shape.conv_start[c])
                # Odd messages are the customer's: the other side may not have read the last.
                reader = vendor_user if n % 2 else customer
                for i, (user, role) in enumerate(((customer, "customer"), (vendor_user, "vendor"))):
                    unread = int(bool(shape.conv_unread[c]) and user == reader)
                    if unread:
                        unread_total[user] = unread_total.get(user, 0) + 1
                    yield (
                        2 * c + i + 1, role, unread, n - unread, last_at, joined, c + 1, user, False
                    )  # fmt: skip

        counts["participants"] = copy_rows(
            db,
            "order_messages_participant",
            [
                "id", "role", "unread_count", "last_read_seq", "last_message_at", "joined_at",
                "conversation_id", "user_id", "marked_only",
            ],
            participants(),
        )  # fmt: skip
        copy_rows(
            db,
            "order_messages_unreadcounter",
            ["user_id", "count"],
            (
                (shape.customer_user(k), unread_total.get(shape.customer_user(k), 0))
                for k in range(shape.customers)
            ),
        )
        copy_rows(
            db,
            "order_messages_unreadcounter",
            ["user_id", "count"],
            ((shape.vendor_user(v), unread_total.get(shape.vendor_user(v), 0)) for v in range(20)),
        )

        def messages():
            pk = 0
            for c in range(shape.conversations):
                order, vendor = shape.conv_order[c], shape.conv_vendor[c]
                customer = shape.order_customer[order]
                customer_user = shape.customer_user(customer)
                vendor_user = shape.vendor_user(vendor)
                customer_name, staff_name = f"Customer {customer}", vendor_name(vendor)
                # The vendor answers each customer message after the conversation's step,
                # as the posting action records it (response_seconds, answered, ...).
                step = shape.conv_step[c]
                for seq in range(1, shape.conv_count[c] + 1):
                    pk += 1
                    mine = seq % 2
                    yield (
                        pk, seq, "message", "customer" if mine else "vendor",
                        customer_name if mine else staff_name, body_for(c, seq),
                        ts(shape.message_time(c, seq)), customer_user if mine else vendor_user,
                        c + 1, None if mine else step, 0 if mine else 1,
                        0 if mine else int(step <= 24 * 3600),
                    )  # fmt: skip

        counts["messages"] = copy_rows(
            db,
            "order_messages_message",
            [
                "id", "seq", "kind", "author_role", "author_name", "body", "created_at",
                "author_id", "conversation_id", "response_seconds", "answered",
                "answered_within_day",
            ],
            messages(),
            progress="ours: messages",
            total=shape.messages,
        )  # fmt: skip
        print("ours: indexing the messages for search", flush=True)
        db.execute(import_module("order_messages.migrations.0011_search").POSTGRESQL_FILL)
        db.execute("ALTER TABLE order_messages_message ENABLE TRIGGER USER")
        print("ours: rebuilding indexes and constraints", flush=True)
    with connect(url) as db:
        reset_sequences(db, [t for t in tables if t != "order_messages_unreadcounter"])
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts


def load_peer(shape: Shape, url: str) -> dict:
    fresh_database(url, "bench.peer.settings")
    started = time.perf_counter()
    counts = {}
    with connect(url) as db, without_indexes(db, ["auth_user", "postman_message"]):
        counts["users"] = copy_rows(db, "auth_user", USER_COLUMNS, user_rows(shape))

        def messages():
            pk = 0
            for c in range(shape.conversations):
                order, n = shape.conv_order[c], shape.conv_count[c]
                customer = shape.customer_user(shape.order_customer[order])
                vendor_user = shape.vendor_user(shape.conv_vendor[c])
                subject = f"Order #{shape.order_number(order)}"
                first = pk + 1
                for seq in range(1, n + 1):
                    pk += 1
                    sender, recipient = (
                        (customer, vendor_user) if seq % 2 else (vendor_user, customer)
                    )
                    sent = shape.message_time(c, seq)
                    unread = seq == n and shape.conv_unread[c]
                    yield (
                        pk, subject, body_for(c, seq), "", ts(sent),
                        None if unread else ts(sent + 60),
                        ts(shape.message_time(c, seq + 1)) if seq < n else None,
                        False, False, None, None, "a", ts(sent), "", None,
                        pk - 1 if seq > 1 else None, recipient, sender,
                        first if n > 1 else None,
                    )  # fmt: skip

        counts["messages"] = copy_rows(
            db,
            "postman_message",
            [
                "id", "subject", "body", "email", "sent_at", "read_at", "replied_at",
                "sender_archived", "recipient_archived", "sender_deleted_at",
                "recipient_deleted_at", "moderation_status", "moderation_date",
                "moderation_reason", "moderation_by_id", "parent_id", "recipient_id",
                "sender_id", "thread_id",
            ],
            messages(),
            progress="peer: messages",
            total=shape.messages,
        )  # fmt: skip
        print("peer: rebuilding indexes and constraints", flush=True)
    with connect(url) as db:
        reset_sequences(db, ["auth_user", "postman_message"])
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--system", choices=["ours", "peer", "both"], default="both")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    shape = make_shape(messages=args.messages, end=int(time.time()), seed=args.seed)
    print(
        f"{shape.messages:,} messages in {shape.conversations:,} conversations, "
        f"{shape.orders:,} orders, {shape.customers:,} customers, 20 vendors, "
        f"{shape.hot} conversations of 5,000 messages",
        flush=True,
    )
    if args.system in ("ours", "both"):
        print("ours:", load_ours(shape, OURS_URL), flush=True)
    if args.system in ("peer", "both"):
        print("peer:", load_peer(shape, PEER_URL), flush=True)


if __name__ == "__main__":
    main()
