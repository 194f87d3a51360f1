"""The shape of a generated marketplace, the same for both systems.

Many customers with one to four orders; an order bought from one vendor or from two; a
few vendors with very many conversations (Zipf shares: the top one has about a third);
most conversations a handful of messages, one in a hundred a few hundred, and a few "hot"
ones of exactly HOT_SIZE messages, all with the top vendor. A conversation's messages
alternate customer, vendor, customer ...; in three conversations out of ten the last one
is still unread by the other side.

Deterministic for a given (messages, seed): both systems get the same people, the same
conversations and the same unread messages.
"""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass
from itertools import accumulate

VENDORS = 20
HOT_SIZE = 5_000
SPAN_SECONDS = 365 * 24 * 3600
UNREAD_SHARE = 0.3
ORDER_NUMBER_BASE = 100_000
DISPUTE_EVERY = 100
# Users: 1 is the store's staff, 2 .. VENDORS + 1 the vendors' staff, then the customers.
STORE_USER = 1
FIRST_VENDOR_USER = 2
FIRST_CUSTOMER_USER = FIRST_VENDOR_USER + VENDORS


@dataclass
class Shape:
    messages: int
    end: int  # epoch seconds of the newest possible message
    customers: int
    # Per order: its customer index.
    order_customer: array
    # Per conversation: order index, vendor index, messages, first timestamp, seconds between
    # messages, and whether its last message is unread.
    conv_order: array
    conv_vendor: array
    conv_count: array
    conv_start: array
    conv_step: array
    conv_unread: array
    hot: int  # conversations 0 .. hot-1 have HOT_SIZE messages

    @property
    def conversations(self) -> int:
        return len(self.conv_order)

    @property
    def orders(self) -> int:
        return len(self.order_customer)

    @property
    def users(self) -> int:
        return FIRST_CUSTOMER_USER - 1 + self.customers

    def vendor_user(self, vendor: int) -> int:
        return FIRST_VENDOR_USER + vendor

    def customer_user(self, customer: int) -> int:
        return FIRST_CUSTOMER_USER + customer

    def order_number(self, order: int) -> str:
        return str(ORDER_NUMBER_BASE + order)

    def order_is_split(self, conversation: int) -> bool:
        order = self.conv_order[conversation]
        before = conversation > 0 and self.conv_order[conversation - 1] == order
        after = conversation + 1 < self.conversations and self.conv_order[conversation + 1] == order
        return before or after

    def message_time(self, conversation: int, seq: int) -> int:
        return self.conv_start[conversation] + (seq - 1) * self.conv_step[conversation]

    def disputed(self, conversation: int) -> bool:
        """One conversation in a hundred has an open dispute (ours only: postman has none)."""
        return conversation % DISPUTE_EVERY == DISPUTE_EVERY // 2

    def escalated(self, conversation: int) -> bool:
        """A fifth of the open disputes were escalated to the store."""
        return self.disputed(conversation) and conversation // DISPUTE_EVERY % 5 == 0


def vendor_key(vendor: int) -> str:
    return f"v{vendor + 1:02d}"


def vendor_name(vendor: int) -> str:
    return f"Vendor {vendor + 1:02d}"


def thread_length(rng: random.Random) -> int:
    if rng.random() < 0.01:
        return rng.randint(100, 1_000)
    return 1 + int(rng.expovariate(1 / 5))


def make_shape(*, messages: int, end: int, seed: int = 1) -> Shape:
    rng = random.Random(seed)
    hot = max(1, min(20, messages // 500_000)) if messages >= 2 * HOT_SIZE else 0
    counts = array("l", [HOT_SIZE] * hot)
    left = messages - hot * HOT_SIZE
    while left > 0:
        n = min(left, thread_length(rng))
        counts.append(n)
        left -= n

    weights = list(accumulate(1 / (k + 1) ** 1.2 for k in range(VENDORS)))
    conv_order, conv_vendor = array("l"), array("l")
    order_customer = array("l")
    customer, orders_left = -1, 0
    i = 0
    while i < len(counts):
        if orders_left == 0:
            customer, orders_left = customer + 1, rng.randint(1, 4)
        order = len(order_customer)
        order_customer.append(customer)
        orders_left -= 1
        if i < hot:  # the hot conversations: one order each, with the top vendor
            vendors = [0]
        elif rng.random() < 0.3 and i + 1 < len(counts):
            first = rng.choices(range(VENDORS), cum_weights=weights)[0]
            second = rng.choices(range(VENDORS), cum_weights=weights)[0]
            vendors = [first] if first == second else sorted([first, second])
        else:
            vendors = rng.choices(range(VENDORS), cum_weights=weights)
        for vendor in vendors:
            conv_order.append(order)
            conv_vendor.append(vendor)
            i += 1

    conv_start, conv_step, conv_unread = array("q"), array("l"), array("b")
    for n in counts:
        # Room for one message a second at least, so that none is in the future.
        start = min(end - int(rng.random() * SPAN_SECONDS), end - n)
        step = min(rng.randint(60, 3_600 * 6), max(1, (end - start) // n))
        conv_start.append(start)
        conv_step.append(step)
        conv_unread.append(rng.random() < UNREAD_SHARE)

    return Shape(
        messages=messages,
        end=end,
        customers=customer + 1,
        order_customer=order_customer,
        conv_order=conv_order,
        conv_vendor=conv_vendor,
        conv_count=counts,
        conv_start=conv_start,
        conv_step=conv_step,
        conv_unread=conv_unread,
        hot=hot,
    )


BODIES = [
    "Hello, when will my order ship?",
    "It left our warehouse this morning; the tracking number is in your account.",
    "The parcel arrived but one item is missing, could you check?",
    "Sorry about that. We are sending the missing part today.",
    "Thanks! Can I change the delivery address to my office?",
    "Yes, done. It will be delivered between 9 and 17.",
    "The size is too small. How do I return it?",
    "Send it back with the label in the box; we refund within five days.",
    "Is this model compatible with a 29 inch wheel?",
    "It fits 27.5 and 29 inch wheels with up to 2.4 inch tyres.",
    "Could you add a gift note to the order?",
    "Of course. What should it say?",
]


def body_for(conversation: int, seq: int) -> str:
    text = BODIES[(conversation * 7 + seq) % len(BODIES)]
    return f"{text} (#{seq})"
