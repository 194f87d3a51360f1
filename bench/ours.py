"""The scenarios and query-level timings of django-order-messages (run by bench.probe)."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from .probe import (
    DEPTH,
    PAGE,
    POSTERS,
    Probe,
    Request,
    Scenario,
    count_queries,
    login,
    page,
    timed,
)


def probe() -> Probe:
    from django.contrib.auth import get_user_model

    from order_messages import actions, queries
    from order_messages.models import Conversation
    from order_messages.queries.cursors import encode_cursor

    User = get_user_model()
    result = Probe(system="ours")
    vendor = User.objects.get(username="vendor01")
    hot = Conversation.objects.order_by("-last_seq", "pk").first()
    customer = User.objects.get(pk=hot.customer_id)
    vendor_cookie, vendor_csrf = login(vendor)
    customer_cookie, _ = login(customer)

    mine = Conversation.objects.filter(vendor_key="v01").order_by("-last_message_at", "-pk")
    total = mine.count()
    depth = min(DEPTH, (total - 1) // PAGE + 1)
    deep_cursor = None
    if depth > 1:
        before = mine[(depth - 1) * PAGE - 1]
        deep_cursor = encode_cursor("c", before.last_message_at, before.pk)
    deep_path = "/messages/?" + urlencode({"after": deep_cursor}) if deep_cursor else "/messages/"
    thread_path = f"/messages/orders/{hot.order_number}/{hot.vendor_key}/"

    posters, seen = [], set()
    for conversation in mine.filter(last_seq__lt=1_000).order_by("pk").iterator():
        if conversation.customer_id in seen:
            continue
        seen.add(conversation.customer_id)
        cookie, csrf = login(User.objects.get(pk=conversation.customer_id))
        posters.append((conversation, cookie, csrf))
        if len(posters) == POSTERS:
            break
    post_requests = [
        Request(
            "POST",
            f"/messages/orders/{c.order_number}/{c.vendor_key}/",
            cookie,
            urlencode({"body": "Is there any news about my parcel?"}),
            csrf,
        )
        for c, cookie, csrf in posters
    ]
    read_requests = [
        Request(
            "POST",
            f"/api/v1/orders/{c.order_number}/conversations/{c.vendor_key}/read",
            vendor_cookie,
            "",
            vendor_csrf,
        )
        for c, _, _ in posters
    ]

    deep_note = "" if depth == DEPTH else f"page {depth}, the last"
    result.scenarios = [
        page("floor", "/bench/floor/", vendor_cookie),
        page("page floor", "/bench/page/", vendor_cookie),
        page("badge (vendor)", "/messages/unread/", vendor_cookie),
        page("badge (customer)", "/messages/unread/", customer_cookie),
        page("Messages tab (customer)", "/messages/", customer_cookie),
        page("inbox page 1 (vendor)", "/messages/", vendor_cookie),
        page(f"inbox page {DEPTH} (vendor)", deep_path, vendor_cookie, deep_note),
        page(f"thread of {hot.last_seq:,} messages", thread_path, customer_cookie),
        Scenario("post a message", post_requests, connections=32, expect=302),
        Scenario("mark read", read_requests, connections=16, together_with="post while reading"),
        Scenario("post while reading", post_requests, connections=16, expect=302),
    ]
    for scenario in result.scenarios:
        scenario.queries = count_queries(scenario.requests[0])

    # The same reads without HTTP: the query functions the pages call.
    scope = queries.access_backoffice(user=vendor)
    result.queries = {
        "badge (vendor)": timed(lambda: queries.unread_total(vendor)),
        "badge (customer)": timed(lambda: queries.unread_total(customer)),
        "Messages tab (customer)": timed(lambda: list(queries.inbox_page(user=customer).rows)),
        "inbox page 1 (vendor)": timed(lambda: queries.backoffice_page(scope=scope).rows),
        f"inbox page {DEPTH} (vendor)": timed(
            lambda: queries.backoffice_page(scope=scope, cursor=deep_cursor).rows
        ),
        f"thread of {hot.last_seq:,} messages": timed(
            lambda: queries.thread_page(conversation=hot, last_read_seq=hot.last_seq).messages
        ),
    }
    conversation = posters[0][0]
    number = conversation.order_number
    access = queries.access_order(user=conversation.customer, order_number=number)
    order, sub_order = access.order, access.sub_order(conversation.vendor_key)
    actor = access.actor_in(sub_order)
    result.queries["post a message"] = timed(
        lambda: actions.post_message(order=order, sub_order=sub_order, actor=actor, body="Hello?"),
        budget=0.5,
    )

    def post_then_time_read():
        actions.post_message(order=order, sub_order=sub_order, actor=actor, body="Anyone?")
        return timed_once(lambda: actions.mark_read(conversation=conversation, user=vendor))

    samples = sorted(post_then_time_read() for _ in range(100))
    result.queries["mark read"] = {
        "p50_ms": round(samples[50], 3),
        "p99_ms": round(samples[98], 3),
        "runs": len(samples),
    }
    return result


def timed_once(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000
