"""The demo marketplace's last sixty days, so that the dashboard's response figures, its
charts and the back office's lists mean something the moment the demo starts.

A dozen customers order from Bob's Bikes, who answers within minutes; from Dave's Outdoor,
who takes a day or two, sometimes never, and has a dispute escalated to the store; from
Emma's Electronics, whose dispute the store resolved with a refund; and from the store
itself. Every step is written through the app's own actions at the moment it happened
(time-machine), so the waits, response times, deadlines, reminders and escalations are
exactly what the app records; nothing is set by hand. E-mails and webhooks about the past
are taken out of the outbox afterwards: nobody is to be told of them now.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from order_messages import actions
from order_messages.adapter import STORE, get_adapter
from order_messages.conf import app_settings
from order_messages.models import (
    Conversation,
    Dispute,
    Notification,
    Participant,
    Role,
    WebhookDelivery,
)
from order_messages.queries import Actor

from .models import Order, OrderItem, Product, Vendor

DAYS = 60
# The first history order's number; its presence says the history is already written.
FIRST_NUMBER = 2001
# The same history on every machine (relative to the moment it is written).
RANDOM_SEED = 15

EMMA = ("emma", "Emma", "Evans", "emma@emmas-electronics.example")
EMMAS = ("emmas-electronics", "Emma's Electronics", "emma")
EMMAS_PRODUCTS = [
    ("Wireless earbuds Pulse", "89.00"),
    ("Power bank 20,000 mAh", "39.90"),
    ("Smart watch Stride", "199.00"),
    ("Bluetooth speaker Cube", "59.00"),
]

# username, first, last, e-mail
CUSTOMERS = [
    ("liam", "Liam", "Fischer", "liam.fischer@customers.example"),
    ("sofia", "Sofia", "Rossi", "sofia.rossi@customers.example"),
    ("noah", "Noah", "Becker", "noah.becker@customers.example"),
    ("mia", "Mia", "Novak", "mia.novak@customers.example"),
    ("lucas", "Lucas", "Martin", "lucas.martin@customers.example"),
    ("hannah", "Hannah", "Schmidt", "hannah.schmidt@customers.example"),
    ("oskar", "Oskar", "Lindqvist", "oskar.lindqvist@customers.example"),
    ("amira", "Amira", "Haddad", "amira.haddad@customers.example"),
    ("mateo", "Mateo", "García", "mateo.garcia@customers.example"),
    ("chloe", "Chloé", "Dubois", "chloe.dubois@customers.example"),
    ("jonas", "Jonas", "Weber", "jonas.weber@customers.example"),
    ("priya", "Priya", "Nair", "priya.nair@customers.example"),
]

# Orders besides those of the disputes below, spread over the sixty days.
RANDOM_ORDERS = 150

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

# What customers ask and how each seller answers: (question, answer), with {first} (the
# customer's first name) and {product}.
BOB_TOPICS = [
    (
        "Hi, when will my {product} ship?",
        "Hi {first}, it leaves our workshop today; the tracking number follows this evening.",
    ),
    (
        "Could I still change the delivery address?",
        "Done, {first}: it now goes to the new address. Thanks for telling us in time!",
    ),
    (
        "Is the {product} covered by a warranty?",
        "Yes, two years on everything we sell, and five on the frames of our bikes.",
    ),
    (
        "The tracking of my {product} has not moved for two days. Is everything all right?",
        "I checked with the carrier: it is at your local depot and goes out tomorrow morning.",
    ),
    (
        "Could you put my company's name on the invoice?",
        "Of course. The new invoice is in your account under My orders.",
    ),
    (
        "Does the {product} need any assembly?",
        "Nothing to speak of: it comes tuned and ready, you only fit the pedals or the clip.",
    ),
]
DAVE_TOPICS = [
    (
        "Hello, is the {product} good for a week of rain in Scotland?",
        "Sorry for the slow answer. Yes, it is made for exactly that; seal the seams once.",
    ),
    (
        "My order was placed three days ago and has not shipped. When will it?",
        "Apologies, we were short-handed this week. It shipped this morning.",
    ),
    (
        "Can I return the {product} if it is too small?",
        "Yes, within 30 days if unused. Write here and we will send you a label.",
    ),
    (
        "Does the {product} come with a carry bag?",
        "It does, with a small repair kit. Sorry it took me a while to reply.",
    ),
    (
        "Could you ship the {product} to a pick-up point instead?",
        "We can. Send me the address of the pick-up point and I will change it.",
    ),
]
EMMA_TOPICS = [
    (
        "Does the {product} work with an iPhone?",
        "Yes, {first}: it works with iOS and Android over Bluetooth 5.3.",
    ),
    (
        "Which charger do I need for the {product}?",
        "Any USB-C charger with 18 W or more; the cable is in the box.",
    ),
    (
        "My {product} will not pair with my phone. What can I do?",
        "Hold the button for ten seconds until the light blinks white, then pair it again. "
        "Tell me if it still fails!",
    ),
    (
        "Is there a German manual for the {product}?",
        "Yes: the printed one in the box is in six languages, German included.",
    ),
]
STORE_TOPICS = [
    (
        "Can I get the gift card as a PDF to print?",
        "Yes: it is in your account under My orders, print it as often as you like.",
    ),
    (
        "Is the water bottle dishwasher-safe?",
        "The bottle is, {first}; please wash the lid by hand.",
    ),
    (
        "Could I pay this order by invoice instead?",
        "We have switched it to invoice; you have 14 days to pay.",
    ),
]
THANKS = [
    "Great, thank you!",
    "Perfect, thanks a lot.",
    "That helps, thank you.",
]
QUICK_THANKS = [*THANKS, "Thanks for the quick answer!", "Wow, that was fast. Thank you!"]
WELCOME = [
    "You're welcome, {first}. Enjoy it!",
    "Glad to help. Have a good day!",
    "Any time!",
]
NUDGE = [
    "Hello? Any news on this?",
    "I am still waiting for an answer, please.",
]


def bob_delay(rng: random.Random) -> timedelta | None:
    minutes = min(120.0, max(3.0, rng.lognormvariate(math.log(20), 0.8)))
    return timedelta(minutes=minutes)


def dave_delay(rng: random.Random) -> timedelta | None:
    luck = rng.random()
    if luck < 0.15:
        return None  # never answered
    if luck < 0.3:
        return timedelta(hours=rng.uniform(6, 20))
    return timedelta(hours=rng.uniform(20, 40))


def emma_delay(rng: random.Random) -> timedelta | None:
    if rng.random() < 0.1:
        return timedelta(hours=rng.uniform(10, 20))
    return timedelta(hours=rng.uniform(1, 8))


def store_delay(rng: random.Random) -> timedelta | None:
    return timedelta(hours=rng.uniform(0.5, 5))


@dataclass(frozen=True)
class Seller:
    key: str
    username: str
    # How likely an order is to have this seller's items, relative to the others.
    weight: float
    # How often a customer writes about this seller's part of an order.
    chattiness: float
    topics: list
    # How long this seller takes to answer (None: never).
    delay: Callable[[random.Random], timedelta | None]
    # How often they answer a customer's thanks too.
    welcomes: float
    # Unanswered this long, a customer may write again to ask for news.
    nudge_after: timedelta | None = None
    thanks: list = field(default_factory=lambda: THANKS)


SELLERS = [
    Seller(
        key="bobs-bikes",
        username="bob",
        weight=0.35,
        chattiness=0.5,
        topics=BOB_TOPICS,
        delay=bob_delay,
        welcomes=1.0,
        thanks=QUICK_THANKS,
    ),
    Seller(
        key="daves-outdoor",
        username="dave",
        weight=0.3,
        chattiness=0.5,
        topics=DAVE_TOPICS,
        delay=dave_delay,
        welcomes=0.6,
        nudge_after=timedelta(hours=18),
    ),
    Seller(
        key="emmas-electronics",
        username="emma",
        weight=0.25,
        chattiness=0.45,
        topics=EMMA_TOPICS,
        delay=emma_delay,
        welcomes=0.9,
    ),
    Seller(
        key=STORE,
        username="admin",
        weight=0.1,
        chattiness=0.4,
        topics=STORE_TOPICS,
        delay=store_delay,
        welcomes=0.9,
    ),
]


@dataclass
class OrderPlan:
    placed_at: datetime
    customer: str
    # (product name, quantity)
    lines: list
    number: str = ""


def daytime(when: datetime) -> datetime:
    """People write between 7:00 and midnight (UTC, the demo's time zone)."""
    return when + 7 * HOUR if when.hour < 7 else when


class Timeline:
    """Steps to run at given moments, earliest first; a step may add later ones."""

    def __init__(self, *, until: datetime):
        self.until = until
        self.steps: list = []
        self.counter = itertools.count()

    def add(self, when: datetime, step: Callable[[], None]) -> None:
        # What would happen after now has not happened yet: left out.
        if when < self.until:
            heapq.heappush(self.steps, (when, next(self.counter), step))

    def __len__(self):
        return len(self.steps)

    def pop(self):
        when, _, step = heapq.heappop(self.steps)
        return when, step


class History:
    """Writes the sixty days before ``now``. Call ``write()`` once, in a transaction."""

    def __init__(self, *, now: datetime, password: str):
        self.now = now
        self.password = password
        self.rng = random.Random(RANDOM_SEED)
        self.timeline = Timeline(until=now - timedelta(minutes=5))
        self.adapter = get_adapter()
        self.orders = {}
        self.numbers: list[str] = []

    # -- people, products, orders ------------------------------------------------------
    @staticmethod
    def is_written() -> bool:
        return Order.objects.filter(number=str(FIRST_NUMBER)).exists()

    def add_people(self) -> dict:
        """Emma and her shop, the history's customers; every run (passwords reset)."""
        User = get_user_model()
        users = {}
        for username, first, last, email in [EMMA, *CUSTOMERS]:
            user, _ = User.objects.update_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": email,
                    "password": self.password,
                },
            )
            users[username] = user
        slug, name, owner = EMMAS
        vendor, _ = Vendor.objects.update_or_create(slug=slug, defaults={"name": name})
        vendor.staff.add(users[owner])
        for product, price in EMMAS_PRODUCTS:
            Product.objects.update_or_create(
                name=product, defaults={"price": Decimal(price), "vendor": vendor}
            )
        return users

    def catalogue(self) -> dict[str, list[Product]]:
        products: dict[str, list[Product]] = {}
        for product in Product.objects.select_related("vendor").order_by("pk"):
            products.setdefault(product.vendor.slug if product.vendor else STORE, []).append(
                product
            )
        return products

    def plan_random_orders(self, products: dict[str, list[Product]]) -> list[OrderPlan]:
        rng = self.rng
        plans = []
        for _ in range(RANDOM_ORDERS):
            placed = self.now - timedelta(seconds=rng.uniform(1.5, DAYS) * 86400)
            sellers = {rng.choices(SELLERS, weights=[s.weight for s in SELLERS])[0].key}
            if rng.random() < 0.25:
                sellers.add(rng.choice(SELLERS).key)
            lines = []
            for key in sorted(sellers):
                for product in rng.sample(products[key], k=1 + (rng.random() < 0.2)):
                    lines.append((product.name, 2 if rng.random() < 0.1 else 1))
            plans.append(OrderPlan(daytime(placed), rng.choice(CUSTOMERS)[0], lines))
        return plans

    def create_orders(self, plans: list[OrderPlan], users: dict) -> None:
        products = {p.name: p for p in Product.objects.select_related("vendor")}
        for offset, plan in enumerate(sorted(plans, key=lambda p: p.placed_at)):
            plan.number = str(FIRST_NUMBER + offset)
            age = self.now - plan.placed_at
            status = "Delivered" if age > 7 * DAY else "Shipped" if age > 2 * DAY else "Processing"
            customer = users[plan.customer]
            order = Order.objects.create(
                number=plan.number,
                customer=customer,
                email=customer.email,
                name=customer.get_full_name(),
                placed_at=plan.placed_at,
                status=status,
            )
            OrderItem.objects.bulk_create(
                OrderItem(
                    order=order,
                    product=products[name],
                    vendor=products[name].vendor,
                    name=name,
                    quantity=quantity,
                    price=products[name].price,
                )
                for name, quantity in plan.lines
            )
            self.numbers.append(plan.number)

    # -- what people do ----------------------------------------------------------------
    def order(self, number: str):
        if number not in self.orders:
            self.orders[number] = self.adapter.get_order(number)
        return self.orders[number]

    def actor(self, user, role: str) -> Actor:
        return Actor(user, role, self.adapter.get_display_name(user))

    def seller_actor(self, seller_key: str) -> Actor:
        if seller_key == STORE:
            return self.actor(self.staff, Role.STAFF)
        return self.actor(self.sellers[seller_key], Role.VENDOR)

    def post(self, *, number: str, vendor_key: str, actor: Actor, body: str) -> None:
        order = self.order(number)
        actions.post_message(
            order=order, sub_order=order.sub_order(vendor_key), actor=actor, body=body
        )

    def open_dispute(self, *, number: str, vendor_key: str, actor: Actor, **choices) -> None:
        order = self.order(number)
        dispute = actions.open_dispute(
            order=order, sub_order=order.sub_order(vendor_key), actor=actor, **choices
        )
        if dispute.respond_by is not None:
            # The worker looks at the clock every DISPUTE_CLOCK_SECONDS: it reminds the
            # seller before the deadline and escalates once it has passed.
            late = timedelta(seconds=app_settings.DISPUTE_CLOCK_SECONDS)
            reminder = dispute.respond_by - timedelta(hours=app_settings.DISPUTE_REMINDER_HOURS)
            self.timeline.add(max(reminder, dispute.opened_at) + late, self.run_clock)
            self.timeline.add(dispute.respond_by + late, self.run_clock)

    def close_dispute(self, *, number: str, vendor_key: str, actor: Actor, **resolution) -> None:
        conversation = Conversation.objects.get(order_number=number, vendor_key=vendor_key)
        actions.close_dispute(conversation=conversation, actor=actor, **resolution)

    @staticmethod
    def run_clock() -> None:
        now = timezone.now()
        actions.remind_sellers(now=now)
        actions.escalate_overdue_disputes(now=now)

    def at(self, when: datetime, action: Callable, **kwargs) -> None:
        self.timeline.add(when, functools.partial(action, **kwargs))

    # -- conversations -----------------------------------------------------------------
    def plan_chat(self, plan: OrderPlan, seller: Seller, customer) -> None:
        """A question about the order, the seller's answer (as fast as they are), perhaps
        the customer's thanks and the seller's reply to it."""
        rng = self.rng
        order = self.order(plan.number)
        sub_order = order.sub_order(seller.key)
        question, answer = rng.choice(seller.topics)
        words = {"first": customer.first_name, "product": sub_order.items[0].name}
        me = self.actor(customer, Role.CUSTOMER)
        them = self.seller_actor(seller.key)
        talk = functools.partial(self.at, action=self.post, number=plan.number)
        asked = daytime(plan.placed_at + timedelta(hours=rng.uniform(2, 72)))
        talk(asked, vendor_key=seller.key, actor=me, body=question.format(**words))
        delay = seller.delay(rng)
        if seller.nudge_after and (delay is None or delay > seller.nudge_after + 4 * HOUR):
            if rng.random() < 0.5:
                nudged = asked + seller.nudge_after + timedelta(hours=rng.uniform(0, 4))
                talk(nudged, vendor_key=seller.key, actor=me, body=rng.choice(NUDGE))
        if delay is None:
            return
        answered = asked + delay
        talk(answered, vendor_key=seller.key, actor=them, body=answer.format(**words))
        if rng.random() < 0.4:
            thanked = answered + timedelta(hours=rng.uniform(0.3, 8))
            talk(thanked, vendor_key=seller.key, actor=me, body=rng.choice(seller.thanks))
            welcome = seller.delay(rng)
            if welcome is not None and rng.random() < seller.welcomes:
                body = rng.choice(WELCOME).format(**words)
                talk(thanked + welcome, vendor_key=seller.key, actor=them, body=body)

    def plan_chats(self, plans: Iterable[OrderPlan], users: dict) -> None:
        by_key = {seller.key: seller for seller in SELLERS}
        for plan in plans:
            for sub_order in self.order(plan.number).sub_orders:
                seller = by_key[sub_order.vendor_key]
                if self.rng.random() < seller.chattiness:
                    self.plan_chat(plan, seller, users[plan.customer])

    # -- the disputes ------------------------------------------------------------------
    def dispute_plans(self) -> list[tuple[OrderPlan, Callable]]:
        """The four disputes of the story: an order each, and what happened to it."""
        now = self.now
        return [
            (OrderPlan(now - 9 * DAY, "jonas", [("Two-person tent Ridge", 1)]), self.escalated),
            (OrderPlan(now - 31 * DAY, "sofia", [("Sleeping bag −5 °C", 1)]), self.returned),
            (OrderPlan(now - 16 * DAY, "priya", [("Wireless earbuds Pulse", 1)]), self.refunded),
            (OrderPlan(now - 23 * DAY, "noah", [("LED bike lights set", 1)]), self.withdrawn),
        ]

    def escalated(self, plan: OrderPlan, customer) -> None:
        """Dave leaves Jonas's missing tent unanswered; the worker escalates the dispute
        to the store, which has not resolved it yet."""
        me = self.actor(customer, Role.CUSTOMER)
        where = {"number": plan.number, "vendor_key": "daves-outdoor"}
        self.at(
            self.now - 6 * DAY - 3 * HOUR,
            self.post,
            actor=me,
            body="Hi, the tracking of my tent has said “delivered” since Saturday, but "
            "nothing arrived. Could you check with the carrier?",
            **where,
        )
        self.at(
            self.now - 4 * DAY - 2 * HOUR,
            self.open_dispute,
            actor=me,
            reason_code="not_received",
            requested=Dispute.Request.REFUND,
            reason="The tent never arrived although the tracking says delivered, and the "
            "seller has not answered my message for two days. I would like my money back.",
            **where,
        )
        self.at(
            self.now - 1 * DAY - 5 * HOUR,
            self.post,
            actor=me,
            body="Is anyone looking into this? Still no tent.",
            **where,
        )

    def returned(self, plan: OrderPlan, customer) -> None:
        """Dave answers Sofia only after the escalation; the store settles it as a return."""
        me = self.actor(customer, Role.CUSTOMER)
        where = {"number": plan.number, "vendor_key": "daves-outdoor"}
        opened = self.now - 27 * DAY
        self.at(
            opened,
            self.open_dispute,
            actor=me,
            reason_code="not_as_described",
            requested=Dispute.Request.RETURN,
            reason="The bag is sold as warm down to −5 °C, but I was cold at +5 °C on the "
            "first night. I would like to send it back.",
            **where,
        )
        self.at(
            opened + 56 * HOUR,
            self.post,
            actor=self.seller_actor("daves-outdoor"),
            body="Sorry, I was away at a trade fair. Of course you can send it back; you get "
            "your money as soon as it arrives.",
            **where,
        )
        self.at(
            opened + 74 * HOUR,
            self.close_dispute,
            actor=self.seller_actor(STORE),
            outcome=Dispute.Outcome.RETURNED,
            note="Dave's Outdoor takes the bag back: use the return label we sent you, and "
            "the refund follows once it arrives.",
            **where,
        )

    def refunded(self, plan: OrderPlan, customer) -> None:
        """Emma answers Priya within hours; the store refunds her."""
        me = self.actor(customer, Role.CUSTOMER)
        where = {"number": plan.number, "vendor_key": "emmas-electronics"}
        opened = self.now - 12 * DAY
        self.at(
            opened,
            self.open_dispute,
            actor=me,
            reason_code="damaged",
            requested=Dispute.Request.REFUND,
            reason="The left earbud does not charge at all and the light of the case stays "
            "off. I would like a refund, please.",
            **where,
        )
        self.at(
            opened + timedelta(minutes=150),
            self.post,
            actor=self.seller_actor("emmas-electronics"),
            body="I am sorry, Priya! That sounds like a faulty batch. We have no replacements "
            "in stock, so we asked the store to refund you in full.",
            **where,
        )
        self.at(
            opened + 22 * HOUR,
            self.close_dispute,
            actor=self.seller_actor(STORE),
            outcome=Dispute.Outcome.REFUNDED,
            note="We refunded €89.00 to your card; it can take 3–5 business days to show. "
            "No need to send the earbuds back.",
            **where,
        )

    def withdrawn(self, plan: OrderPlan, customer) -> None:
        """Bob finds Noah's parcel within half an hour; Noah withdraws his dispute."""
        me = self.actor(customer, Role.CUSTOMER)
        where = {"number": plan.number, "vendor_key": "bobs-bikes"}
        opened = self.now - 19 * DAY
        self.at(
            opened,
            self.open_dispute,
            actor=me,
            reason_code="not_received",
            requested=Dispute.Request.REFUND,
            reason="My lights were due last week and have not arrived.",
            **where,
        )
        self.at(
            opened + timedelta(minutes=25),
            self.post,
            actor=self.seller_actor("bobs-bikes"),
            body="Hi Noah, the carrier left it with your neighbour at number 12 on Tuesday. "
            "Could you ask them? If it is not there, we send a new set at once.",
            **where,
        )
        self.at(
            opened + 4 * HOUR,
            self.close_dispute,
            actor=me,
            note="Found it at my neighbour's, sorry for the fuss!",
            **where,
        )

    # -- all of it ---------------------------------------------------------------------
    def write(self, *, travel, progress=None) -> int:
        """Write the history; ``travel(when)`` is a context manager that stops the clock at
        ``when`` (time-machine), ``progress(total)`` a progress bar. Returns the number of
        steps written."""
        User = get_user_model()
        users = self.add_people()
        self.staff = User.objects.get(username="admin")
        self.sellers = {
            seller.key: User.objects.get(username=seller.username)
            for seller in SELLERS
            if seller.key != STORE
        }
        stories = self.dispute_plans()
        random_plans = self.plan_random_orders(self.catalogue())
        self.create_orders([plan for plan, _ in stories] + random_plans, users)
        for plan, story in stories:
            story(plan, users[plan.customer])
        self.plan_chats(random_plans, users)

        last_delivery = WebhookDelivery.objects.order_by("-pk").values_list("pk", flat=True)
        last_delivery = last_delivery.first() or 0
        bar = progress(len(self.timeline)) if progress else None
        steps = 0
        while self.timeline:
            when, step = self.timeline.pop()
            with travel(when):
                step()
            steps += 1
            if bar is not None:
                # Steps may add later ones (a dispute's deadline).
                bar.total = steps + len(self.timeline)
                bar.update(1)
        if bar is not None:
            bar.close()
        self.forget_the_mail(last_delivery)
        self.mark_read()
        return steps

    def conversation_ids(self) -> list[int]:
        return list(
            Conversation.objects.filter(order_number__in=self.numbers).values_list("pk", flat=True)
        )

    def forget_the_mail(self, last_delivery: int) -> None:
        """The past's e-mails and webhooks are not sent now: nobody is to hear today of a
        message written weeks ago (the existing seed does the same for its messages)."""
        Notification.objects.filter(conversation_id__in=self.conversation_ids()).delete()
        WebhookDelivery.objects.filter(pk__gt=last_delivery, created_at__lt=self.now).delete()

    def mark_read(self) -> None:
        """Everyone has read the past, except Dave the messages he still owes an answer and
        the store the dispute escalated to it."""
        dave = self.sellers["daves-outdoor"]
        rows = Participant.objects.filter(conversation_id__in=self.conversation_ids())
        for participant in rows.select_related("conversation", "user").filter(unread_count__gt=0):
            conversation = participant.conversation
            if participant.user_id == dave.pk and conversation.awaiting_since is not None:
                continue
            if participant.user_id == self.staff.pk and conversation.escalated:
                continue
            actions.mark_read(conversation=conversation, user=participant.user)
