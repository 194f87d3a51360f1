"""Disputes on the pages: the reason and the request when opening, the seller's deadline in
the banner, escalation, the resolution with its outcome and note, the history of a
conversation's disputes; and the back office's "awaiting reply" and escalated-first order."""

import html as html_lib
import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from order_messages import actions, queries
from order_messages.disputes import format_deadline, reason_choices
from order_messages.models import Conversation, Dispute, Message
from order_messages.queries.cursors import decode_cursor
from tests.conftest import conversation_of, make_conversations

THREAD = "/messages/orders/{}/{}/"

# The demo's seeded conversations (and their disputes) would only be in the way.
pytestmark = pytest.mark.usefixtures("no_conversations")


def html(response):
    return response.content.decode()


def text(response):
    """What a person reads: tags dropped, entities decoded, spaces collapsed."""
    plain = re.sub(r"<[^>]+>", " ", html(response))
    return re.sub(r"\s+", " ", html_lib.unescape(plain))


def select_options(page, name):
    """[(value, label, selected)] of the <select name=...> on the page."""
    found = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert found, f"no select {name}"
    return [
        (value, html_lib.unescape(label.strip()), bool(selected))
        for value, selected, label in re.findall(
            r'<option value="([^"]*)"( selected)?>(.*?)</option>', found.group(1), re.S
        )
    ]


def labels(page):
    return [
        re.sub(r"<[^>]+>", "", label).strip()
        for label in re.findall(r"<label[^>]*>(.*?)</label>", page, re.S)
    ]


def escalate(dispute):
    """The worker's clock, run just after the seller's deadline."""
    return actions.escalate_overdue_disputes(now=dispute.respond_by + timedelta(seconds=1))


# -- opening ------------------------------------------------------------------------------------


@pytest.fixture
def asked(post):
    """Alice asked Bob's Bikes about order 1002: a dispute can follow."""
    return post("alice", "1002", "bobs-bikes", "The bell arrived cracked.")


@pytest.mark.parametrize("path", ["", "dispute/open/"])
def test_opening_asks_what_went_wrong_and_what_the_customer_would_like(asked, client_for, path):
    """The pop-up on the thread and the page without JavaScript offer the same fields."""
    page = html(client_for("alice").get(THREAD.format("1002", "bobs-bikes") + path))

    reasons = select_options(page, "reason_code")
    assert [(v, label) for v, label, _ in reasons] == reason_choices()
    assert [v for v, _, selected in reasons if selected] == ["other"]
    requests = select_options(page, "requested")
    assert [v for v, _, _ in requests] == ["refund", "replacement", "return", "other"]
    assert [v for v, _, selected in requests if selected] == ["other"]
    # Both lists come before the text, which alone is labelled with "Reason".
    assert page.index('name="reason_code"') < page.index('name="requested"')
    assert page.index('name="requested"') < page.index('name="reason"')
    assert "What went wrong?" in labels(page) and "What would you like?" in labels(page)
    assert [label for label in labels(page) if "reason" in label.lower()] == ["Reason"]


def test_opening_records_what_went_wrong_and_what_is_asked(asked, client_for):
    thread = THREAD.format("1002", "bobs-bikes")
    alice = client_for("alice")

    response = alice.post(
        thread + "dispute/open/",
        {"reason_code": "damaged", "requested": "replacement", "reason": "The bell is cracked."},
        follow=True,
    )

    dispute = Dispute.objects.get()
    assert (dispute.reason_code, dispute.requested, dispute.reason) == (
        "damaged",
        "replacement",
        "The bell is cracked.",
    )
    page = text(response)
    assert "A dispute has been opened successfully." in page
    assert "Damaged · asks for a replacement" in page
    # The event in the thread says it too, with the customer's words.
    event = Message.objects.get(kind=Message.Kind.DISPUTE_OPENED)
    assert event.dispute == dispute
    assert "Dispute opened by Alice Archer" in page and "The bell is cracked." in page


def test_an_older_client_posting_only_the_text_opens_an_other_dispute(asked, client_for):
    client_for("alice").post(THREAD.format("1002", "bobs-bikes") + "dispute/open/", {"reason": "x"})

    dispute = Dispute.objects.get()
    assert (dispute.reason_code, dispute.requested) == ("other", "other")


@pytest.mark.parametrize("field, value", [("reason_code", "made_up"), ("requested", "a pony")])
def test_a_choice_not_offered_is_refused_in_the_form_and_the_text_is_kept(
    asked, client_for, field, value
):
    data = {"reason_code": "damaged", "requested": "refund", "reason": "Cracked bell"}
    data[field] = value

    response = client_for("alice").post(THREAD.format("1002", "bobs-bikes") + "dispute/open/", data)

    assert response.status_code == 422
    assert "Select a valid choice" in text(response)
    assert "Cracked bell</textarea>" in html(response)
    assert not Dispute.objects.exists()


def test_the_store_refuses_a_reason_it_no_longer_offers(asked, client_for, settings):
    """A reason the store dropped from its list is refused, and no longer offered."""
    thread = THREAD.format("1002", "bobs-bikes")
    alice = client_for("alice")
    settings.ORDER_MESSAGES_DISPUTE_REASONS = (("damaged", "Damaged"), ("other", "Other"))
    page = html(alice.get(thread + "dispute/open/"))
    assert [v for v, _, _ in select_options(page, "reason_code")] == ["damaged", "other"]

    response = alice.post(
        thread + "dispute/open/", {"reason_code": "wrong_item", "reason": "Not mine"}
    )

    assert response.status_code == 422
    assert not Dispute.objects.exists()


def test_a_choice_the_action_refuses_is_shown_above_the_form(asked, client_for, monkeypatch):
    """The action checks the store's list itself (it changed between the form's check and
    the action's): its refusal is shown with the form, which keeps what was typed."""
    from order_messages import forms

    monkeypatch.setattr(forms, "reason_choices", lambda: [("gone", "Gone"), ("other", "Other")])

    response = client_for("alice").post(
        THREAD.format("1002", "bobs-bikes") + "dispute/open/",
        {"reason_code": "gone", "reason": "Cracked bell"},
    )

    assert response.status_code == 422
    assert "Please choose what went wrong from the list" in text(response)
    assert "Cracked bell</textarea>" in html(response)
    assert not Dispute.objects.exists()


@pytest.mark.parametrize("username", ["alice", "admin"])
def test_the_stores_own_conversation_offers_no_dispute(post, client_for, username):
    """The store already answers its own conversation: there is no one to call in."""
    post("alice", "1004", "store", "Where is my parcel?")
    client = client_for(username)
    thread = THREAD.format("1004", "store")

    page = html(client.get(thread))
    opened = client.post(thread + "dispute/open/", {"reason": "It never came."})
    api = client.post(
        "/api/v1/orders/1004/conversations/store/dispute",
        {"reason": "It never came."},
        content_type="application/json",
    )

    assert "Open dispute" not in page and "dispute/open/" not in page
    assert "join this conversation with" not in page
    assert client.get(thread + "dispute/open/").status_code == 403
    assert (opened.status_code, api.status_code) == (403, 403)
    assert not Dispute.objects.exists()


def test_a_dispute_on_the_stores_conversation_can_still_be_closed(post, dispute, client_for):
    """One opened before the rule (or by the store's own tools) is not left stranded."""
    post("alice", "1004", "store", "Where is my parcel?")
    dispute.open("alice", "1004", "store", "It never came.")
    alice = client_for("alice")

    page = html(alice.get(THREAD.format("1004", "store")))
    closed = alice.post(THREAD.format("1004", "store") + "dispute/close/", follow=True)

    assert "Close dispute" in page and "dispute/open/" not in page
    assert "The dispute has been closed." in text(closed)
    assert not Conversation.objects.get(order_number="1004").open_dispute_id


@pytest.mark.parametrize("username", ["alice", "admin"])
def test_before_the_first_message_no_dispute_is_offered(client_for, username):
    client = client_for(username)
    thread = THREAD.format("1002", "bobs-bikes")

    page = html(client.get(thread))
    refused = client.post(thread + "dispute/open/", {"reason": "Broken"}, follow=True)
    api = client.post(
        "/api/v1/orders/1002/conversations/bobs-bikes/dispute",
        {"reason": "Broken"},
        content_type="application/json",
    )
    tab = client.get("/api/v1/orders/1002/conversations").json()  # as the API tells it

    # No button; the dialog waits, closed, for the first message sent from the page.
    assert 'data-dialog="open-dispute-dialog"' not in page
    assert '<dialog id="open-dispute-dialog"' in page and "<dialog open" not in page
    assert "Write to Bob's Bikes first" in text(refused)
    assert refused.redirect_chain[-1][0] == thread
    assert api.status_code == 409 and api.json()["error"]["code"] == "invalid_transition"
    assert not Dispute.objects.exists()
    offered = {t["vendor_key"]: t["may_open_dispute"] for t in tab["conversations"]}
    assert offered == {"bobs-bikes": False}


def test_after_the_first_message_the_dispute_is_offered(asked, client_for):
    page = html(client_for("alice").get(THREAD.format("1002", "bobs-bikes")))
    tabs = client_for("alice").get("/api/v1/orders/1002/conversations").json()["conversations"]

    assert "dispute/open/" in page and 'id="open-dispute-dialog"' in page
    assert "join this conversation with Bob's Bikes" in text(
        client_for("alice").get(THREAD.format("1002", "bobs-bikes"))
    )
    assert [t["may_open_dispute"] for t in tabs] == [True]


# -- the banner -----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["alice", "bob", "admin"])
def test_the_banner_shows_the_sellers_deadline_to_everyone(dispute, client_for, username):
    opened = dispute.open(
        "alice", "1002", "bobs-bikes", "Cracked", reason_code="damaged", requested="replacement"
    )

    response = client_for(username).get(THREAD.format("1002", "bobs-bikes"))

    banner = re.search(
        r'<div class="om-dispute-banner[^"]*".*?</div>\s*</div>', html(response), re.S
    )
    shown = re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", banner.group(0))))
    assert "Dispute opened on" in shown and "by Alice Archer" in shown
    assert "Damaged · asks for a replacement" in shown
    assert f"Bob's Bikes must answer by {format_deadline(opened.respond_by)}" in shown
    assert f'<time datetime="{timezone.localtime(opened.respond_by).isoformat()}">' in banner.group(
        0
    )
    assert "om-dispute-banner--escalated" not in banner.group(0)


def test_the_sellers_answer_stops_the_clock_in_the_banner(dispute, post, client_for):
    dispute.open("alice", "1002", "bobs-bikes", "Cracked")
    post("bob", "1002", "bobs-bikes", "Sorry! Sending a new one.")

    page = text(client_for("alice").get(THREAD.format("1002", "bobs-bikes")))

    assert "must answer by" not in page
    assert "Bob's Bikes answered on" in page


def test_an_escalated_dispute_is_told_in_the_banner_and_the_thread(dispute, client_for):
    opened = dispute.open("alice", "1002", "bobs-bikes", "Cracked", requested="refund")
    assert escalate(opened) == 1

    for username in ("alice", "bob", "admin"):
        response = client_for(username).get(THREAD.format("1002", "bobs-bikes"))
        page = text(response)
        assert "om-dispute-banner--escalated" in html(response)
        assert "Escalated to the store on" in page
        assert "Bob's Bikes did not answer in time." in page
        assert "must answer by" not in page
        deadline = format_deadline(opened.respond_by)
        assert f"Escalated to the store: Bob's Bikes did not answer by {deadline}." in page
    event = Message.objects.get(kind=Message.Kind.DISPUTE_ESCALATED)
    assert event.author_role == "system" and event.dispute == opened


def test_a_list_row_tells_a_dispute_event_without_text(dispute, client_for):
    """An escalation has no text, nor has a dispute closed without a note: the rows of the
    lists say what happened rather than nothing."""
    dispute.open("alice", "1002", "bobs-bikes", "Cracked", requested="refund")
    escalate(Dispute.objects.get())
    rows = {who: text(client_for(who).get("/messages/")) for who in ("alice", "bob", "admin")}
    assert all("Dispute escalated" in page for page in rows.values())

    dispute.close("admin", "1002", "bobs-bikes", outcome="rejected")
    for who in ("alice", "bob", "admin"):
        assert "Dispute closed" in text(client_for(who).get("/messages/"))

    dispute.open("alice", "1002", "bobs-bikes", "Cracked again")  # a text of its own again
    page = text(client_for("bob").get("/messages/"))
    assert "Cracked again" in page and "Dispute closed" not in page


# -- closing and resolving ---------------------------------------------------------------------


def test_staff_resolve_with_an_outcome_and_a_note_the_customer_reads(dispute, client_for):
    dispute.open(
        "alice", "1002", "bobs-bikes", "Cracked", reason_code="damaged", requested="replacement"
    )
    thread = THREAD.format("1002", "bobs-bikes")
    admin = client_for("admin")

    response = admin.post(
        thread + "dispute/close/",
        {"outcome": "replaced", "note": "A new bell is on its way."},
        follow=True,
    )

    assert "The dispute has been resolved." in text(response)
    resolved = Dispute.objects.get()
    assert (resolved.status, resolved.outcome, resolved.resolution_note) == (
        "closed",
        "replaced",
        "A new bell is on its way.",
    )
    page = text(client_for("alice").get(thread))
    assert "Dispute closed by Ada Admin" in page
    assert "Outcome: Replaced" in page
    assert "A new bell is on its way." in page
    assert "Dispute opened on" not in page  # no banner any more


@pytest.mark.parametrize(
    "requested, asked",
    [
        ("refund", "asks for a refund"),
        ("replacement", "asks for a replacement"),
        ("return", "asks to return the item"),
        ("other", "asks for something else"),
    ],
)
def test_staff_pick_the_outcome_and_see_what_the_customer_asked_for(
    dispute, client_for, requested, asked
):
    """No outcome is chosen for staff, not even the one asked for: a resolution recorded
    by a hurried click would be the customer's, not theirs. What was asked for is shown
    (in the dialog from the banner, on the page without JavaScript itself)."""
    dispute.open("alice", "1002", "bobs-bikes", "Cracked", requested=requested)
    thread = THREAD.format("1002", "bobs-bikes")
    admin = client_for("admin")

    for page in (html(admin.get(thread)), html(admin.get(thread + "dispute/close/"))):
        outcomes = select_options(page, "outcome")
        assert outcomes[0][:2] == ("", "Choose…")
        assert [v for v, _, _ in outcomes[1:]] == Dispute.Outcome.values
        # The empty "Choose…": the browser asks staff to pick one.
        assert [v for v, _, selected in outcomes if selected] == [""]
        assert re.search(r'<select name="outcome"[^>]*required', page)
        assert "Note to the customer" in " ".join(labels(page))
        assert asked in page
    assert "data-outcome" not in html(admin.get(thread))


def test_staff_without_an_outcome_are_asked_for_one_and_lose_nothing(dispute, client_for):
    dispute.open("alice", "1002", "bobs-bikes", "Cracked")
    before = Message.objects.count()

    response = client_for("admin").post(
        THREAD.format("1002", "bobs-bikes") + "dispute/close/",
        {"outcome": "", "note": "We checked."},
    )

    assert response.status_code == 422
    assert "Please choose the outcome of the dispute." in text(response)
    assert "We checked.</textarea>" in html(response)
    assert Dispute.objects.get().status == Dispute.Status.OPEN
    assert Message.objects.count() == before


def test_a_customer_closing_withdraws_the_dispute(dispute, client_for):
    dispute.open("alice", "1002", "bobs-bikes", "Cracked", requested="refund")
    thread = THREAD.format("1002", "bobs-bikes")
    alice = client_for("alice")
    for page in (text(alice.get(thread)), text(alice.get(thread + "dispute/close/"))):
        assert "withdraws it" in page
    assert 'name="outcome"' not in html(alice.get(thread))

    # Even an outcome slipped into the form is not hers to give.
    response = alice.post(thread + "dispute/close/", {"outcome": "refunded"}, follow=True)

    assert "The dispute has been closed." in text(response)
    assert Dispute.objects.get().outcome == Dispute.Outcome.WITHDRAWN
    assert "Outcome: Withdrawn by the customer" in text(response)


@pytest.mark.parametrize("action", ["open", "close"])
def test_vendors_can_neither_open_nor_close_a_dispute(dispute, client_for, action):
    if action == "close":
        dispute.open("alice", "1002", "bobs-bikes", "Cracked")
    before = list(Dispute.objects.values_list("pk", "status"))
    bob = client_for("bob")
    url = THREAD.format("1002", "bobs-bikes") + f"dispute/{action}/"

    assert bob.get(url).status_code == 403
    response = bob.post(url, {"reason": "x", "outcome": "refunded", "reason_code": "damaged"})

    assert response.status_code == 403
    assert list(Dispute.objects.values_list("pk", "status")) == before
    page = html(bob.get(THREAD.format("1002", "bobs-bikes")))
    assert "close-dispute-dialog" not in page and "open-dispute-dialog" not in page


# -- the history -------------------------------------------------------------------------------


def test_the_thread_lists_every_dispute_of_the_conversation(dispute, client_for, settings):
    settings.ORDER_MESSAGES_DISPUTE_RATE_LIMIT = None  # five changes within the hour
    thread = THREAD.format("1002", "bobs-bikes")
    alice = client_for("alice")
    assert 'id="om-history-title"' not in html(alice.get(thread))

    dispute.open("alice", "1002", "bobs-bikes", "First", reason_code="not_received")
    dispute.close("alice", "1002", "bobs-bikes")
    dispute.open("alice", "1002", "bobs-bikes", "Second", reason_code="damaged", requested="refund")
    dispute.close("admin", "1002", "bobs-bikes", outcome="refunded", note="Refunded.")
    dispute.open("alice", "1002", "bobs-bikes", "Third", reason_code="wrong_item")

    response = alice.get(thread)

    history = re.search(r'<section class="om-history".*?</section>', html(response), re.S)
    assert history, "no history"
    items = [
        re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", item))).strip()
        for item in re.findall(r"<li>(.*?)</li>", history.group(0), re.S)
    ]
    assert len(items) == 3
    assert "Wrong item" in items[0] and "Open" in items[0] and "Closed on" not in items[0]
    assert "Damaged" in items[1] and "Refunded" in items[1] and "Closed on" in items[1]
    assert "Not received" in items[2] and "Withdrawn by the customer" in items[2]
    assert [d.pk for d in queries_history("1002")] == list(
        Dispute.objects.order_by("-pk").values_list("pk", flat=True)
    )


def queries_history(number):
    from order_messages.queries.threads import dispute_history

    return dispute_history(conversation=conversation_of(number, "bobs-bikes"))


def test_the_history_costs_nothing_without_disputes(post, django_assert_num_queries):
    from order_messages.queries.threads import dispute_history

    post("alice", "1002", "bobs-bikes", "Hello")
    conversation = conversation_of("1002", "bobs-bikes")
    conversation.dispute_count = 0
    with django_assert_num_queries(0):
        assert dispute_history(conversation=conversation) == []
        assert dispute_history(conversation=None) == []


# -- the back office: awaiting a reply ------------------------------------------------------------


def rows(user, **kwargs):
    scope = queries.access_backoffice(user=user)
    return [
        (c.order_number, c.vendor_key) for c in queries.backoffice_page(scope=scope, **kwargs).rows
    ]


@pytest.fixture
def waiting(no_conversations, post):
    """Customers waiting for Bob's Bikes: carol since 3 hours, alice on #1002 since 2
    hours; alice's #1001 was answered; Dave's #1001 awaits since an hour."""
    start = timezone.now()
    with time_machine.travel(start - timedelta(hours=4), tick=False):
        post("alice", "1001", "bobs-bikes", "Where is my helmet?")
    with time_machine.travel(start - timedelta(hours=3), tick=False):
        post("carol", "1005", "bobs-bikes", "Which size?")
        post("bob", "1001", "bobs-bikes", "On its way.")
    with time_machine.travel(start - timedelta(hours=2), tick=False):
        post("alice", "1002", "bobs-bikes", "Bell broken")
    with time_machine.travel(start - timedelta(hours=1), tick=False):
        post("alice", "1001", "daves-outdoor", "Tent poles?")
        post("carol", "1005", "bobs-bikes", "Any news?")  # still waiting since the first
    return no_conversations


def test_awaiting_reply_lists_the_longest_waiting_first(waiting):
    assert rows(waiting["bob"], show="awaiting") == [("1005", "bobs-bikes"), ("1002", "bobs-bikes")]
    assert rows(waiting["admin"], show="awaiting") == [
        ("1005", "bobs-bikes"),
        ("1002", "bobs-bikes"),
        ("1001", "daves-outdoor"),
    ]
    assert rows(waiting["dave"], show="awaiting") == [("1001", "daves-outdoor")]


def test_the_sellers_answer_takes_a_conversation_off_awaiting(waiting, post):
    post("bob", "1005", "bobs-bikes", "Size M.")
    assert rows(waiting["bob"], show="awaiting") == [("1002", "bobs-bikes")]


def test_awaiting_pages_cover_everything_once_in_order(waiting):
    scope = queries.access_backoffice(user=waiting["admin"])
    seen, cursor = [], None
    while True:
        page = queries.backoffice_page(scope=scope, show="awaiting", cursor=cursor, size=1)
        seen += [(c.order_number, c.vendor_key) for c in page.rows]
        if not page.next_cursor:
            break
        assert page.next_cursor.startswith("a")
        cursor = page.next_cursor
    assert seen == rows(waiting["admin"], show="awaiting")


def test_the_list_marks_every_row_awaiting_a_reply(waiting, client_for):
    bob = client_for("bob")
    every = html(bob.get("/messages/"))
    awaiting = bob.get("/messages/?show=awaiting")

    assert awaiting.status_code == 200
    assert "Awaiting reply" in text(bob.get("/messages/"))  # the filter's name
    assert every.count('class="om-awaiting"') == 2
    page = html(awaiting)
    assert page.count('class="om-awaiting"') == 2
    assert page.index("Order #1005") < page.index("Order #1002")
    assert "Order #1001" not in page
    assert re.search(r"Awaiting reply · (now|\d+\s+\w+ ago|yesterday)", text(awaiting))


def test_the_api_lists_those_awaiting_a_reply(waiting):
    client = Client()
    client.force_login(waiting["bob"])
    response = client.get("/api/v1/backoffice/conversations", {"show": "awaiting"})

    assert response.status_code == 200
    assert [(c["order_number"], c["vendor_key"]) for c in response.json()["items"]] == [
        ("1005", "bobs-bikes"),
        ("1002", "bobs-bikes"),
    ]


# -- the back office: escalated disputes first -------------------------------------------------


def test_escalated_disputes_come_first_in_every_list(waiting, dispute, client_for):
    opened = dispute.open("alice", "1001", "bobs-bikes", "Never came", requested="refund")
    dispute.open("alice", "1002", "bobs-bikes", "Cracked", reason_code="damaged")
    # The oldest activity of all, so only escalation can bring it to the top.
    Conversation.objects.filter(pk=conversation_of("1001", "bobs-bikes").pk).update(
        last_message_at=timezone.now() - timedelta(days=3)
    )
    Dispute.objects.filter(pk=opened.pk).update(respond_by=timezone.now() - timedelta(hours=1))
    opened.refresh_from_db()
    escalate(opened)

    bob = waiting["bob"]
    assert rows(bob)[0] == ("1001", "bobs-bikes")
    assert rows(bob, show="disputes") == [("1001", "bobs-bikes"), ("1002", "bobs-bikes")]
    assert rows(bob, show="unread")[0] == ("1001", "bobs-bikes")

    page = html(client_for("bob").get("/messages/"))
    assert page.count("om-pill--escalated") == 1
    pending = Dispute.objects.get(conversation__order_number="1002")
    assert f"Dispute · answer by {format_deadline(pending.respond_by)}" in html_lib.unescape(page)
    assert page.index("Order #1001") < page.index("Order #1005")


@pytest.mark.parametrize(
    "escalated_at, pages",
    [
        # A page that ends inside the escalated part, one that crosses into the rest.
        ((1, 3, 4), [[1, 3], [4, 0], [2]]),
        # A page that ends exactly at the last escalated conversation.
        ((1, 3), [[1, 3], [0, 2], [4]]),
    ],
)
def test_keyset_pages_cross_from_escalated_to_the_rest_without_gaps(
    no_conversations, client_for, settings, escalated_at, pages
):
    made = make_conversations(
        customer=no_conversations["alice"], vendor_user=no_conversations["bob"], count=5
    )
    Conversation.objects.filter(pk__in=[made[i].pk for i in escalated_at]).update(escalated=True)
    scope = queries.access_backoffice(user=no_conversations["bob"])

    seen, cursors, cursor = [], [], None
    while True:
        page = queries.backoffice_page(scope=scope, cursor=cursor, size=2)
        seen.append([made.index(next(m for m in made if m.pk == c.pk)) for c in page.rows])
        if not page.next_cursor:
            break
        cursor = page.next_cursor
        cursors.append(cursor)
    assert seen == pages
    assert [decode_cursor(c, "ec")[0] for c in cursors] == [
        "e" if page[-1] in escalated_at else "c" for page in pages[:-1]
    ]

    # The same through the page, with its own page size.
    settings.ORDER_MESSAGES_INBOX_PAGE_SIZE = 2
    bob, url, shown = client_for("bob"), "/messages/", []
    while url:
        page = html(bob.get(url))
        shown.append(re.findall(r"Order #(\d+)</span>", page))
        more = re.search(r'<p class="om-pager"><a [^>]*href="([^"]+)"', page)
        url = html_lib.unescape(more.group(1)) if more else None
    assert shown == [[made[i].order_number for i in page] for page in pages]


def test_a_deep_page_across_the_escalated_part_is_one_query(
    no_conversations, django_assert_num_queries
):
    made = make_conversations(
        customer=no_conversations["alice"], vendor_user=no_conversations["bob"], count=12
    )
    Conversation.objects.filter(pk__in=[c.pk for c in made[::3]]).update(escalated=True)
    scope = queries.access_backoffice(user=no_conversations["bob"])
    first = queries.backoffice_page(scope=scope, size=3)
    assert first.next_cursor.startswith("e")
    second = queries.backoffice_page(scope=scope, cursor=first.next_cursor, size=3)

    with django_assert_num_queries(1):
        queries.backoffice_page(scope=scope, cursor=first.next_cursor, size=3)
    with django_assert_num_queries(1):
        queries.backoffice_page(scope=scope, cursor=second.next_cursor, size=3)


def test_staff_opening_a_dispute_are_told_what_it_does_for_them(post, client_for):
    """The dialog and its page speak to whoever opens the dispute: the customer hears that
    the store will join, store staff that they open it for the customer."""
    post("alice", "1002", "bobs-bikes", "The bell is missing.")
    thread = THREAD.format("1002", "bobs-bikes")

    for path in (thread, thread + "dispute/open/"):
        staff, customer = text(client_for("admin").get(path)), text(client_for("alice").get(path))
        assert "Open a dispute for the customer: Bob's Bikes is asked to answer" in staff
        assert "The store administrator will join" not in staff
        assert "Photos of the problem help the store decide." not in staff
        assert "The store administrator will join" in customer
        assert "Open a dispute for the customer" not in customer
