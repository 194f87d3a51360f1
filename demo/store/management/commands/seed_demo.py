"""Fill the demo marketplace: customers, vendors, the store's staff, products, orders, and
sixty days of history (demo/store/history.py) for the dashboard's figures.

Idempotent: running it again resets the demo passwords and adds what is missing.
"""

import time
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from demo.catalogue import ORDERS, PASSWORD, PRODUCTS, USERS, VENDORS
from demo.store import pictures
from demo.store.history import History
from demo.store.models import Order, OrderItem, Product, Vendor
from demo.store.webhook_receiver import DESCRIPTION as DEMO_RECEIVER
from order_messages.actions import mark_read, post_message, upload_attachment
from order_messages.adapter import get_adapter
from order_messages.conf import app_settings
from order_messages.models import (
    Attachment,
    Conversation,
    Message,
    Notification,
    Participant,
    Role,
    WebhookEndpoint,
)
from order_messages.queries import Actor
from order_messages.webhooks.signing import new_secret

# The history's stories are told with the app's default deadlines, whatever the demo runs with.
HISTORY_DEADLINES = {
    "ORDER_MESSAGES_DISPUTE_RESPONSE_HOURS": 48,
    "ORDER_MESSAGES_DISPUTE_REMINDER_HOURS": 12,
    "ORDER_MESSAGES_DISPUTE_BUSINESS_HOURS": None,
}


def progress_bar(total):
    """A progress bar on the terminal (tqdm, a dev extra), or none."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    # tqdm's monitor thread would read a clock that time-machine stops and moves.
    tqdm.monitor_interval = 0
    return tqdm(total=total, desc="60 days of history", unit=" steps", disable=None)


class Command(BaseCommand):
    help = "Create the demo marketplace's users, vendors, products and orders."

    @transaction.atomic
    def add_arguments(self, parser):
        parser.add_argument(
            "--webhook-receiver",
            action="store_true",
            help="Register the demo store's own webhook receiver (/demo/webhooks/).",
        )
        parser.add_argument(
            "--no-history",
            action="store_true",
            help="Leave out the sixty days of history (orders, conversations, disputes of "
            "a dozen more customers and Emma's Electronics); the test suite's seed.",
        )

    def handle(self, *args, **options):
        User = get_user_model()
        # Hashed once for every account: each hash takes a quarter of a second, and the
        # password is the same public "demo" for all of them anyway.
        password = make_password(PASSWORD)
        users = {}
        for username, first, last, email in USERS:
            user, _ = User.objects.update_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": email},
            )
            user.password = password
            user.save()
            users[username] = user
        admin, _ = User.objects.update_or_create(
            username="admin",
            defaults={
                "first_name": "Ada",
                "last_name": "Admin",
                "email": "admin@marketplace.example",
                "is_staff": True,
                "is_superuser": True,
            },
        )
        admin.password = password
        admin.save()

        vendors = {}
        for slug, name, owner in VENDORS:
            vendor, _ = Vendor.objects.update_or_create(slug=slug, defaults={"name": name})
            vendor.staff.add(users[owner])
            vendors[slug] = vendor

        products = {}
        for name, price, vendor in PRODUCTS:
            products[name], _ = Product.objects.update_or_create(
                name=name,
                defaults={"price": Decimal(price), "vendor": vendors.get(vendor)},
            )

        now = timezone.now()
        created = 0
        for number, username, days, status, lines in ORDERS:
            customer = users.get(username)
            order, made = Order.objects.get_or_create(
                number=number,
                defaults={
                    "customer": customer,
                    "email": customer.email if customer else "gina@guests.example",
                    "name": customer.get_full_name() if customer else "Gina Guest",
                    "placed_at": now - timedelta(days=days),
                    "status": status,
                },
            )
            if made:
                created += 1
                for product_name, quantity in lines:
                    product = products[product_name]
                    OrderItem.objects.create(
                        order=order,
                        product=product,
                        vendor=product.vendor,
                        name=product.name,
                        quantity=quantity,
                        price=product.price,
                    )
        self.seed_conversations(users)
        if not options["no_history"]:
            self.seed_history(password=password, verbosity=options["verbosity"])
            self.roll_up_responses()
        if options["webhook_receiver"]:
            self.seed_webhook_endpoint()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {User.objects.count()} users, {Vendor.objects.count()} "
                f"vendors, {Product.objects.count()} products, {Order.objects.count()} orders "
                f"({created} new). Password for everyone: {PASSWORD}"
            )
        )

    def seed_history(self, *, password, verbosity):
        """Sixty days of orders, questions, answers and disputes, written once."""
        try:
            import time_machine
        except ImportError:
            self.stderr.write(
                "No history: it is written with time-machine, which comes with the dev "
                "extras (pip install -e '.[dev]', as `make demo` does)."
            )
            return
        history = History(now=timezone.now(), password=password)
        if history.is_written():
            history.add_people()  # their passwords reset, like everyone's
            return
        started = time.monotonic()
        # The history's stories (a fast seller, a slow one escalated) are told with the
        # app's default deadlines, whatever DISPUTE_RESPONSE_HOURS the demo runs with.
        with transaction.atomic(), override_settings(**HISTORY_DEADLINES):
            steps = history.write(
                travel=lambda when: time_machine.travel(when, tick=False),
                progress=progress_bar if verbosity >= 1 else None,
            )
        if verbosity >= 1:
            self.stdout.write(
                f"History: {len(history.numbers)} orders and {steps} messages and dispute "
                f"events of the last 60 days, in {time.monotonic() - started:.1f} s."
            )

    def roll_up_responses(self):
        """The dashboard's response figures, counted from the messages at once rather than
        at the worker's first round: all of them again, without the usual lag, so that a
        round a worker ran while the history's long transaction was open misses nothing."""
        call_command("roll_up_responses", rebuild=True, lag=0, verbosity=0)

    def seed_webhook_endpoint(self):
        """The demo store hears of events at its own receiver (/demo/webhooks/), at the
        address the demo is served on now."""
        url = app_settings.SITE_URL.rstrip("/") + reverse("demo_webhooks_receive")
        endpoint, _ = WebhookEndpoint.objects.get_or_create(
            description=DEMO_RECEIVER, defaults={"url": url, "secret": new_secret()}
        )
        if endpoint.url != url:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=url)

    def seed_conversations(self, users):
        """A finished exchange on #1002, and a guest's open question to Dave on #1006."""
        adapter = get_adapter()
        if not Conversation.objects.filter(order_number="1002").exists():
            order = adapter.get_order("1002")
            bikes = order.sub_orders[0]
            alice = Actor(users["alice"], Role.CUSTOMER, "Alice Archer")
            bob = Actor(users["bob"], Role.VENDOR, "Bob Baker")
            post_message(
                order=order,
                sub_order=bikes,
                actor=alice,
                body="Hello! Does the City bike come assembled?",
            )
            post_message(
                order=order,
                sub_order=bikes,
                actor=bob,
                body="Hi Alice, yes: fully assembled and tuned. Just fit the pedals.",
            )
            post_message(order=order, sub_order=bikes, actor=alice, body="Perfect, thank you!")
            conversation = Conversation.objects.get(order_number="1002")
            mark_read(conversation=conversation, user=users["bob"])
            # Seeded messages are history: nobody is to be e-mailed about them now.
            Notification.objects.filter(conversation=conversation).delete()
        if not Conversation.objects.filter(order_number="1006").exists():
            order = adapter.get_order("1006")
            post_message(
                order=order,
                sub_order=order.sub_orders[0],
                actor=Actor(None, Role.CUSTOMER, order.customer_name),
                body="Hi, I ordered as a guest. Is the sleeping bag warm enough for −5 °C nights?",
            )
            Notification.objects.filter(conversation__order_number="1006").delete()
        if not Conversation.objects.filter(order_number="1007").exists():
            self.seed_photos(users)

    def seed_photos(self, users):
        """#1007: alice shows Dave the broken zip, Dave sends a return label."""
        order = get_adapter().get_order("1007")
        bags = order.sub_orders[0]
        alice = Actor(users["alice"], Role.CUSTOMER, "Alice Archer")
        dave = Actor(users["dave"], Role.VENDOR, "Dave Dawson")
        for actor, body, name, content in [
            (
                alice,
                "The zip of one sleeping bag broke on the second night: the slider came off.",
                "IMG_4127.jpg",
                pictures.damaged_zip_photo(),
            ),
            (
                dave,
                "Sorry about that! Please send it back with this label; a new one is on its way.",
                "return-label-1007.pdf",
                pictures.return_label(),
            ),
        ]:
            upload = upload_attachment(
                order_number=order.number,
                vendor_key=bags.vendor_key,
                actor=actor,
                name=name,
                content=content,
            )
            post_message(
                order=order, sub_order=bags, actor=actor, body=body, attachments=[upload.pk]
            )
        conversation = Conversation.objects.get(order_number="1007")
        mark_read(conversation=conversation, user=users["alice"])
        Notification.objects.filter(conversation=conversation).delete()
        # History: written two weeks ago, below the newer conversations in every list.
        when = timezone.now() - timedelta(days=14)
        Message.objects.filter(conversation=conversation).update(created_at=when)
        Conversation.objects.filter(pk=conversation.pk).update(last_message_at=when)
        Participant.objects.filter(conversation=conversation).update(last_message_at=when)
        Attachment.objects.filter(conversation=conversation).update(created_at=when)
