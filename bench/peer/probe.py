"""The scenarios and query-level timings of django-postman (run by bench.probe)."""

from __future__ import annotations

from urllib.parse import urlencode

from ..probe import (
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
    from django.db.models import Count, F, Q
    from postman.models import Message

    User = get_user_model()
    result = Probe(system="peer")
    vendor = User.objects.get(username="vendor01")
    # The longest thread, and its customer (the same people as in ours: same generator).
    longest = (
        Message.objects.filter(thread__isnull=False)
        .values("thread_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "thread_id")
        .first()
    )
    first = Message.objects.get(pk=longest["thread_id"])
    customer = first.sender
    vendor_cookie, _ = login(vendor)
    customer_cookie, _ = login(customer)

    # Postman's inbox lists conversations (threads), newest first, 20 a page (dj-pagination).
    threads = Message.objects.inbox(vendor).count()
    depth = min(DEPTH, (threads - 1) // PAGE + 1)

    # A reply answers a message one received: the vendor's second message of a thread.
    replies = (
        Message.objects.filter(sender=vendor, parent_id=F("thread_id"))
        .exclude(thread_id=longest["thread_id"])
        .order_by("pk")
        .values_list("pk", "recipient_id")
    )
    posters, seen = [], set()
    for pk, recipient_id in replies.iterator():
        if recipient_id in seen:
            continue
        seen.add(recipient_id)
        cookie, csrf = login(User.objects.get(pk=recipient_id))
        posters.append((pk, cookie, csrf))
        if len(posters) == POSTERS:
            break
    body = urlencode({"subject": "Re: your order", "body": "Is there any news about my parcel?"})
    send = [
        Request("POST", f"/messages/reply/{pk}/", cookie, body, csrf)
        for pk, cookie, csrf in posters
    ]

    deep_note = "" if depth == DEPTH else f"page {depth}, the last"
    result.scenarios = [
        page("floor", "/bench/floor/", vendor_cookie),
        page("page floor", "/bench/page/", vendor_cookie),
        page("badge (vendor)", "/bench/unread/", vendor_cookie),
        page("badge (customer)", "/bench/unread/", customer_cookie),
        page("Messages tab (customer)", "/messages/inbox/", customer_cookie),
        page("inbox page 1 (vendor)", "/messages/inbox/", vendor_cookie),
        page(
            f"inbox page {DEPTH} (vendor)",
            f"/messages/inbox/?page={depth}",
            vendor_cookie,
            deep_note,
        ),
        page(
            f"thread of {longest['n']:,} messages", f"/messages/view/t/{first.pk}/", customer_cookie
        ),
        Scenario("post a message", send, connections=32, expect=302),
    ]
    for scenario in result.scenarios:
        scenario.queries = count_queries(scenario.requests[0])

    def inbox_page(user, number):
        # What dj-pagination's {% autopaginate %} does with postman's folder: count, slice.
        folder = Message.objects.inbox(user)
        folder.count()
        return list(folder[(number - 1) * PAGE : number * PAGE])

    result.queries = {
        "badge (vendor)": timed(lambda: Message.objects.inbox_unread_count(vendor)),
        "badge (customer)": timed(lambda: Message.objects.inbox_unread_count(customer)),
        "Messages tab (customer)": timed(lambda: inbox_page(customer, 1)),
        "inbox page 1 (vendor)": timed(lambda: inbox_page(vendor, 1)),
        f"inbox page {DEPTH} (vendor)": timed(lambda: inbox_page(vendor, depth)),
        f"thread of {longest['n']:,} messages": timed(
            lambda: list(Message.objects.thread(customer, Q(thread=first.pk)))
        ),
    }
    return result
