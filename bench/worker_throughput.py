"""How many notification e-mails per second one worker delivers to a local SMTP server.

    .venv/bin/python bench/worker_throughput.py [--emails 2000] [--workers 1]

Uses its own database (DATABASE_URL, default a fresh SQLite file in /tmp), fills the outbox
through the real posting action (one e-mail per conversation and recipient), starts an
aiosmtpd server on 127.0.0.1 and times `deliver_due` until the outbox is empty. With
--workers N on PostgreSQL, N threads deliver at once (SKIP LOCKED claims).
"""

import argparse
import os
import socket
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/om-bench-worker.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "demo.settings"
    if os.environ["DATABASE_URL"].startswith("sqlite:////tmp/"):
        for suffix in ("", "-wal", "-shm"):
            Path(os.environ["DATABASE_URL"][len("sqlite://") :] + suffix).unlink(missing_ok=True)

    if os.environ["DATABASE_URL"].startswith("postgres"):
        fresh_postgres_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone
    from tqdm import tqdm

    from order_messages.models import Notification
    from order_messages.notifications.worker import deliver_due

    class Count:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            Count.received += 1
            return "250 OK"

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    Notification.objects.all().delete()
    make_outbox(args.emails, tqdm)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    later = timezone.now() + timedelta(days=2)

    def work():
        while deliver_due(limit=100, now=later).handled:
            pass
        connections.close_all()

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    controller.stop()

    sent = Notification.objects.filter(status="sent").count()
    print(
        f"database={connection.vendor} workers={args.workers} e-mails={sent} "
        f"received={Count.received} seconds={elapsed:.2f} rate={sent / elapsed:.0f}/s"
    )
    if sent != args.emails or Count.received != sent:
        sys.exit("not every e-mail was delivered exactly once")


def fresh_postgres_database(url):
    """Drop and create the benchmark's own database, so every run starts alike."""
    from urllib.parse import urlsplit

    import psycopg

    name = urlsplit(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def make_outbox(count, tqdm):
    """``count`` due message e-mails: customers write to vendors about orders of the demo
    store (the worker asks the store, through the access policy, who may still be told)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from demo.store.models import Order, OrderItem, Product
    from order_messages.actions import post_message
    from order_messages.adapter import get_adapter
    from order_messages.models import Notification, Role
    from order_messages.queries import Actor

    User = get_user_model()
    alice = User.objects.get(username="alice")
    product = Product.objects.select_related("vendor").filter(vendor__slug="bobs-bikes").first()
    orders = Order.objects.bulk_create(
        Order(
            number=f"B{i}",
            customer=alice,
            email=alice.email,
            name="Alice Archer",
            placed_at=timezone.now(),
        )
        for i in range(count)
    )
    OrderItem.objects.bulk_create(
        OrderItem(
            order=o, product=product, vendor=product.vendor, name=product.name, price=product.price
        )
        for o in orders
    )
    adapter = get_adapter()
    actor = Actor(alice, Role.CUSTOMER, "Alice Archer")
    for i in tqdm(range(count), desc="filling the outbox", unit="e-mail"):
        order = adapter.get_order(f"B{i}")
        bikes = order.sub_order("bobs-bikes")
        post_message(order=order, sub_order=bikes, actor=actor, body=f"Question {i} about my order")
    Notification.objects.update(due_at=timezone.now())


if __name__ == "__main__":
    main()
