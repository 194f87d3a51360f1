"""The HTML pages through Django's test client: the seed story (SPEC section 4) and each
page's behaviour."""

import re
import time
from unittest import mock

import pytest
from django.core import signing
from django.test import Client
from django.urls import set_script_prefix

from order_messages.guest import SALT, make_guest_token
from order_messages.models import Conversation, Dispute, Message, Participant
from tests.conftest import (
    assert_counters_exact,
    conversation_of,
    counter_of,
    deliver_notifications,
    make_thread,
)

THREAD = "/messages/orders/{}/{}/"


def html(response):
    return response.content.decode()


def badge_count(response):
    """The number in the header icon; 0 when it shows none."""
    found = re.search(r'data-testid="unread-count">(\d+)<', html(response))
    return int(found.group(1)) if found else 0


def order_row(response, number):
    found = re.search(rf'<tr data-order="{number}">(.*?)</tr>', html(response), re.S)
    assert found, f"order {number} is not listed"
    return found.group(1)


def is_sent_to_login(response):
    """Not let in: a visitor without access to an order is asked to log in."""
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def contact_link(response, number):
    row = order_row(response, number)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))


# -- the seed story ---------------------------------------------------------------------------


def test_seed_story(demo, client_for, django_capture_on_commit_callbacks, mailoutbox):
    alice, bob, admin = client_for("alice"), client_for("bob"), client_for("admin")

    # My orders: no messages yet about #1001, an order from three sellers: which one?
    response = alice.get("/orders/")
    assert response.status_code == 200
    assert "Which seller is your question for?" in contact_link(response, "1001")
    assert f'href="{THREAD.format("1001", "bobs-bikes")}"' in order_row(response, "1001")

    # The order's Messages page opens on its first conversation.
    response = alice.get("/messages/orders/1001/")
    assert response.status_code == 302
    assert response["Location"] == THREAD.format("1001", "bobs-bikes")
    response = alice.get(THREAD.format("1001", "bobs-bikes"))
    assert response.status_code == 200
    page = html(response)
    assert "Messages about order #1001" in page
    for tab in ("Bob&#x27;s Bikes", "Dave&#x27;s Outdoor", "Demo Marketplace"):
        assert tab in page
    assert "No messages yet." in page
    assert not Conversation.objects.filter(order_number="1001").exists()  # C4

    # Alice asks Bob.
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(THREAD.format("1001", "bobs-bikes"), {"body": "Where is my helmet?"})
    assert response.status_code == 302
    assert response["Location"] == THREAD.format("1001", "bobs-bikes") + "#m-1"
    deliver_notifications()
    assert [m.to for m in mailoutbox] == [["bob@bobs-bikes.example"]]

    # Bob sees one unread in the header and in his inbox, and reads it.
    response = bob.get("/messages/")
    assert badge_count(response) == 1
    assert "Order #1001" in html(response)
    assert "1 unread" in html(response)
    response = bob.get("/messages/orders/1001/")
    assert response["Location"] == THREAD.format("1001", "bobs-bikes")
    response = bob.get(response["Location"])
    assert "Where is my helmet?" in html(response)
    assert badge_count(response) == 0
    assert badge_count(bob.get("/messages/unread/")) == 0

    # Bob answers; Alice's order list says so.
    with django_capture_on_commit_callbacks(execute=True):
        bob.post(THREAD.format("1001", "bobs-bikes"), {"body": "It ships on Friday."})
    response = alice.get("/orders/")
    assert "1 unread message" in contact_link(response, "1001")
    assert "Contact Bob&#x27;s Bikes" in contact_link(response, "1001")  # and still a way to write
    assert badge_count(response) == 1
    response = alice.get(THREAD.format("1001", "bobs-bikes"))
    page = html(response)
    assert page.index('id="m-1"') < page.index("New messages") < page.index('id="m-2"')
    assert badge_count(response) == 0
    assert "unread" not in contact_link(alice.get("/orders/"), "1001")

    # Alice opens a dispute: she is told, the banner shows, Bob and the store hear of it.
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(
            THREAD.format("1001", "bobs-bikes") + "dispute/open/",
            {"reason": "Still no helmet."},
            follow=True,
        )
    page = html(response)
    assert "A dispute has been opened successfully." in page
    assert "Dispute opened on" in page
    assert "by Alice Archer" in page
    assert "Still no helmet." in page
    deliver_notifications()
    assert sorted(m.to[0] for m in mailoutbox if "dispute" in m.subject) == [
        "admin@marketplace.example",
        "bob@bobs-bikes.example",
        "orders@marketplace.example",
    ]

    # The store's staff now take part: the dispute is in their inbox, unread.
    response = admin.get("/messages/")
    assert badge_count(response) == 1
    assert "Dispute" in html(response)
    response = bob.get(THREAD.format("1001", "bobs-bikes"))
    assert "Dispute opened on" in html(response)
    assert "Close dispute" not in html(response)  # vendors do not handle disputes

    # Alice closes it.
    response = alice.post(THREAD.format("1001", "bobs-bikes") + "dispute/close/", follow=True)
    page = html(response)
    assert "The dispute has been closed." in page
    assert "Dispute closed by Alice Archer" in page
    assert "Dispute opened on" not in page
    assert Dispute.objects.get().status == Dispute.Status.CLOSED
    assert_counters_exact()


def test_the_seeded_conversations_are_there(demo, client_for):
    response = client_for("alice").get(THREAD.format("1002", "bobs-bikes"))
    assert "Does the City bike come assembled?" in html(response)
    response = client_for("dave").get("/messages/")
    assert badge_count(response) == 1
    assert "Order #1006" in html(response)
    assert_counters_exact()


# -- composing --------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [{"body": ""}, {"body": "   \n  "}, {}])
def test_an_empty_message_gets_a_clear_error_and_keeps_nothing(client_for, data):
    client = client_for("alice")
    before = Message.objects.count()

    response = client.post(THREAD.format("1001", "bobs-bikes"), data)

    assert response.status_code == 422
    assert "Please write a message before sending." in html(response)
    assert Message.objects.count() == before
    assert not Conversation.objects.filter(order_number="1001").exists()


def test_a_too_long_message_gets_a_clear_error_and_the_text_is_kept(client_for, settings):
    settings.ORDER_MESSAGES_MAX_MESSAGE_LENGTH = 10

    response = client_for("alice").post(
        THREAD.format("1001", "bobs-bikes"), {"body": "Far too long a message"}
    )

    assert response.status_code == 422
    assert "A message can have at most 10 characters" in html(response)
    assert "Far too long a message</textarea>" in html(response)
    assert not Conversation.objects.filter(order_number="1001").exists()


def test_html_in_a_message_is_escaped_and_links_are_clickable(client_for):
    client = client_for("alice")
    body = '<script>alert("x")</script> <b>bold</b>\nTrack: https://track.example/p?id=1&x=2'
    client.post(THREAD.format("1001", "bobs-bikes"), {"body": body})

    page = html(client_for("bob").get(THREAD.format("1001", "bobs-bikes")))

    assert "<script>alert" not in page
    assert "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;<br>" in page
    assert (
        '<a href="https://track.example/p?id=1&amp;x=2" rel="nofollow">'
        "https://track.example/p?id=1&amp;x=2</a>"
    ) in page


def test_a_message_with_broken_encoding_is_refused_not_stored_mangled(client_for):
    response = client_for("alice").post(
        THREAD.format("1001", "bobs-bikes"),
        b"body=caf%E9+%FF%FEok",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert "The text was not sent as UTF-8" in response.content.decode()
    assert not Conversation.objects.filter(order_number="1001", vendor_key="bobs-bikes").exists()


def test_an_htmx_post_returns_the_conversation_partial(client_for):
    client = client_for("alice")

    response = client.post(
        THREAD.format("1001", "bobs-bikes"), {"body": "Via htmx"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    page = html(response).strip()
    assert page.startswith('<section id="conversation"')
    assert "<html" not in page
    assert "Via htmx" in page
    assert '<textarea name="body"' in page
    assert "Via htmx</textarea>" not in page  # the composer is emptied
    assert conversation_of("1001", "bobs-bikes").last_seq == 1


def test_an_htmx_post_of_an_empty_message_returns_the_error_in_the_partial(client_for):
    response = client_for("alice").post(
        THREAD.format("1001", "bobs-bikes"), {"body": " "}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 422
    assert html(response).strip().startswith('<section id="conversation"')
    assert "Please write a message before sending." in html(response)


def test_an_htmx_get_returns_the_partial(client_for):
    response = client_for("alice").get(THREAD.format("1002", "bobs-bikes"), HTTP_HX_REQUEST="true")

    assert html(response).strip().startswith('<section id="conversation"')


# -- reading ----------------------------------------------------------------------------------


def test_the_header_icon_says_its_count_in_the_readers_language_and_leads_home(
    demo, client_for, post
):
    post("alice", "1002", "bobs-bikes", "Is it in stock?")
    post("alice", "1001", "bobs-bikes", "And this one?")
    bob = client_for("bob")
    icon = html(bob.get("/messages/unread/"))
    assert icon.startswith('<a href="/messages/" class="om-icon om-icon--unread"')
    assert 'hx-get="/messages/unread/"' in icon and 'data-live-url="/messages/live/"' in icon
    assert 'aria-label="Messages, 2 unread"' in icon
    assert badge_count(bob.get("/messages/unread/")) == 2

    german = html(bob.get("/messages/unread/", headers={"accept-language": "de"}))
    assert 'aria-label="Nachrichten, 2 ungelesen"' in german

    # Served under a path prefix, the icon's links carry it (its addresses are kept per
    # prefix).
    set_script_prefix("/shop/")  # as the WSGI and ASGI handlers set it from SCRIPT_NAME
    try:
        prefixed = html(bob.get("/messages/unread/"))
    finally:
        set_script_prefix("/")
    assert 'href="/shop/messages/"' in prefixed and 'hx-get="/shop/messages/unread/"' in prefixed
    assert 'href="/messages/"' in html(bob.get("/messages/unread/"))

    nothing = html(client_for("carol").get("/messages/unread/"))
    assert 'class="om-icon"' in nothing and 'data-testid="unread-count"' not in nothing
    assert 'aria-label="Messages, 0 unread"' in nothing


def test_the_header_icons_links_follow_the_language_in_the_path(settings):
    from django.test import RequestFactory
    from django.utils import translation

    from order_messages.templatetags.order_messages import icon_html

    settings.ROOT_URLCONF = "tests.urls_i18n_patterns"
    request = RequestFactory().get("/")
    request._order_messages_unread = 0
    shown = {}
    for language in ("en", "de", "en"):
        with translation.override(language):
            shown.setdefault(language, set()).add(icon_html(request))
    assert 'href="/en/messages/"' in shown["en"].pop() and len(shown["en"]) == 0
    german = shown["de"].pop()
    assert 'href="/de/messages/"' in german and 'hx-get="/de/messages/unread/"' in german


def test_the_header_icons_count_is_written_as_the_site_writes_numbers(settings):
    from django.test import RequestFactory

    from order_messages.templatetags.order_messages import icon_html

    settings.USE_THOUSAND_SEPARATOR = True
    request = RequestFactory().get("/")
    request._order_messages_unread = 1234
    icon = icon_html(request)
    assert 'aria-label="Messages, 1,234 unread"' in icon
    assert 'data-testid="unread-count">1,234</span>' in icon


def test_viewing_a_thread_marks_it_read_and_lowers_the_badge(demo, client_for, post):
    post("bob", "1001", "bobs-bikes", "One")
    post("bob", "1001", "bobs-bikes", "Two")
    post("dave", "1003", "daves-outdoor", "Other order")
    client = client_for("alice")
    assert badge_count(client.get("/")) == 3

    response = client.get(THREAD.format("1001", "bobs-bikes"))

    assert badge_count(response) == 1
    assert badge_count(client.get("/messages/unread/")) == 1
    assert counter_of(demo["alice"]) == 1
    assert_counters_exact()


def test_the_divider_stands_before_the_first_unread(client_for, post):
    post("alice", "1001", "bobs-bikes", "Question")
    post("bob", "1001", "bobs-bikes", "Answer one")
    post("bob", "1001", "bobs-bikes", "Answer two")

    page = html(client_for("alice").get(THREAD.format("1001", "bobs-bikes")))

    assert page.count("New messages") == 1
    assert page.index('id="m-1"') < page.index("New messages") < page.index('id="m-2"')

    again = html(client_for("alice").get(THREAD.format("1001", "bobs-bikes")))
    assert "New messages" not in again


def test_a_long_thread_is_collapsed_with_a_link_to_earlier_messages(demo, client_for, post):
    post("alice", "1001", "bobs-bikes", "The very first message")
    for i in range(2, 16):
        post("bob" if i % 2 else "alice", "1001", "bobs-bikes", f"Message number {i}")
    post("bob", "1001", "bobs-bikes", "Unread answer")

    page = html(client_for("alice").get(THREAD.format("1001", "bobs-bikes")))

    assert "The very first message" in page
    assert "5 earlier messages" in page  # 2..6; then 7..16, the recent ten
    assert "Message number 6<" not in page
    assert "Message number 7<" in page
    # Alice wrote 14, Bob 15 and 16.
    assert page.index("Message number 14") < page.index("New messages")
    assert page.index("New messages") < page.index("Message number 15")

    earlier = html(client_for("alice").get(THREAD.format("1001", "bobs-bikes") + "?from=2"))
    assert "earlier messages" not in earlier
    assert "Message number 6<" in earlier
    garbage = client_for("alice").get(THREAD.format("1001", "bobs-bikes") + "?from=x")
    assert garbage.status_code == 200
    assert "5 earlier messages" in html(garbage)


def contact_links(fragment):
    """[(text, href)] of the links in a piece of a page, their text with tags dropped."""
    return [
        (re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip(), href)
        for href, text in re.findall(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', fragment, re.S)
    ]


def test_my_orders_shows_the_way_to_write_and_the_unread_count(demo, client_for, post):
    post("bob", "1001", "bobs-bikes", "One")
    post("dave", "1001", "daves-outdoor", "Two")
    post("dave", "1003", "daves-outdoor", "Three")

    response = client_for("alice").get("/orders/")

    assert "2 unread messages" in contact_link(response, "1001")
    assert "Contact a seller" in contact_link(response, "1001")
    assert 'href="/messages/orders/1001/"' in order_row(response, "1001")
    # A single seller's order keeps its one-click "Contact seller", beside the count.
    assert contact_links(order_row(response, "1003"))[-2:] == [
        ("Contact seller", "/messages/orders/1003/"),
        ("1 unread message", "/messages/orders/1003/"),
    ]
    assert contact_links(order_row(response, "1004"))[-1] == (
        "Contact seller",
        "/messages/orders/1004/",
    )
    assert "Which seller" not in order_row(response, "1004")


def test_an_order_from_several_sellers_asks_which_seller(client_for):
    """Each seller by name, and the store for its own items, each to its own conversation."""
    for url in ("/orders/", "/orders/1001/"):
        page = html(client_for("alice").get(url))
        choice = re.search(r'<details class="om-contact-choice">(.*?)</details>', page, re.S)

        assert choice, url
        assert "<summary" in choice.group(
            1
        ) and "Which seller is your question for?" in choice.group(1)
        assert contact_links(choice.group(1)) == [
            ("Contact Bob&#x27;s Bikes", THREAD.format("1001", "bobs-bikes")),
            ("Contact Dave&#x27;s Outdoor", THREAD.format("1001", "daves-outdoor")),
            ("Contact the store", THREAD.format("1001", "store")),
        ]
        # No link that would quietly pick the first seller.
        assert ("Contact seller", "/messages/orders/1001/") not in contact_links(page)


def test_the_order_page_of_one_seller_has_contact_seller(client_for):
    response = client_for("alice").get("/orders/1003/")

    assert response.status_code == 200
    assert ("Contact seller", "/messages/orders/1003/") in contact_links(html(response))
    assert "om-contact-choice" not in html(response)


def test_an_empty_conversation_invites_each_side_to_write(client_for):
    """The customer is asked to write to the seller; the seller, to the customer."""
    for username, invitation in [
        ("alice", "No messages yet. Ask Bob&#x27;s Bikes anything about this order."),
        ("bob", "No messages yet. Write to Alice Archer about this order."),
        ("admin", "No messages yet. Write to Alice Archer about this order."),
    ]:
        page = html(client_for(username).get(THREAD.format("1001", "bobs-bikes")))

        assert invitation in page, username


def test_the_messages_tab_keeps_the_orders_tabs(client_for):
    """My orders and its Messages tab share one tab bar: either leads back to the other."""
    alice = client_for("alice")

    def tabs(url):
        found = re.search(r'<nav class="om-subtabs"[^>]*>(.*?)</nav>', html(alice.get(url)), re.S)
        assert found, url
        current = re.findall(r'<a href="([^"]*)" aria-current="page"', found.group(1))
        return [href for _, href in contact_links(found.group(1))], current

    assert tabs("/orders/") == (["/orders/", "/messages/"], ["/orders/"])
    assert tabs("/messages/") == (["/orders/", "/messages/"], ["/messages/"])


def test_the_order_messages_page_opens_on_the_first_tab_with_unread(client_for, post):
    post("admin", "1001", "store", "From the store")

    response = client_for("alice").get("/messages/orders/1001/")

    assert response["Location"] == THREAD.format("1001", "store")


def test_the_inbox_lists_unread_first_with_a_pager(demo, client_for, settings):
    from tests.conftest import make_conversations

    settings.ORDER_MESSAGES_INBOX_PAGE_SIZE = 5
    make_conversations(customer=demo["carol"], vendor_user=demo["bob"], count=8, unread=2)
    client = client_for("carol")

    first = client.get("/messages/")
    page = html(first)
    numbers = re.findall(r"Order #(\d+)<", page)
    assert numbers == ["9000", "9001", "9002", "9003", "9004"]
    assert page.count("om-inbox__row--unread") == 2
    cursor = re.search(r'href="\?after=([^"]+)"', page).group(1)

    second = html(client.get(f"/messages/?after={cursor}"))
    assert re.findall(r"Order #(\d+)<", second) == ["9005", "9006", "9007"]
    assert "Older conversations" not in second

    assert client.get("/messages/?after=nonsense").status_code == 200


def test_vendors_and_staff_see_who_the_customer_is_but_only_staff_see_the_address(client_for):
    vendor = html(client_for("bob").get(THREAD.format("1002", "bobs-bikes")))
    staff = html(client_for("admin").get(THREAD.format("1002", "bobs-bikes")))

    assert "Alice Archer" in vendor
    assert "alice@customers.example" not in vendor
    assert "alice@customers.example" in staff


# -- disputes ---------------------------------------------------------------------------------


def test_the_open_dispute_page_asks_for_a_reason(client_for):
    response = client_for("alice").get(THREAD.format("1002", "bobs-bikes") + "dispute/open/")

    assert response.status_code == 200
    assert 'name="reason"' in html(response)
    assert not Dispute.objects.exists()


@pytest.mark.parametrize("data", [{"reason": ""}, {"reason": "  "}, {}])
def test_a_dispute_without_a_reason_is_refused_with_a_clear_error(client_for, data):
    before = Message.objects.count()

    response = client_for("alice").post(THREAD.format("1002", "bobs-bikes") + "dispute/open/", data)

    assert response.status_code == 422
    assert "Please give a reason for the dispute." in html(response)
    assert not Dispute.objects.exists()
    assert Message.objects.count() == before


def test_a_second_dispute_shows_the_error_and_creates_nothing(client_for):
    client = client_for("alice")
    url = THREAD.format("1002", "bobs-bikes") + "dispute/open/"
    client.post(url, {"reason": "First"}, follow=True)
    messages_before = Message.objects.count()

    response = client.post(url, {"reason": "Second"}, follow=True)

    page = html(response)
    assert "A dispute is already open for this conversation." in page
    assert "A dispute has been opened successfully." not in page
    assert Dispute.objects.count() == 1
    assert Message.objects.count() == messages_before
    assert "Second" not in page


def test_close_dispute_asks_for_confirmation_then_closes(client_for):
    client = client_for("alice")
    thread = THREAD.format("1002", "bobs-bikes")
    client.post(thread + "dispute/open/", {"reason": "Broken bell"})

    confirm = client.get(thread + "dispute/close/")
    assert confirm.status_code == 200
    assert "Close the dispute about order #1002" in html(confirm)
    assert Dispute.objects.get().status == Dispute.Status.OPEN

    # Store staff resolve it with an outcome (without one, see test_dispute_pages.py).
    admin = client_for("admin")
    assert 'name="outcome"' in html(admin.get(thread + "dispute/close/"))
    response = admin.post(thread + "dispute/close/", {"outcome": "rejected", "note": ""})
    assert response.status_code == 302
    assert response["Location"] == thread
    dispute = Dispute.objects.get()
    assert dispute.status == Dispute.Status.CLOSED
    assert dispute.outcome == Dispute.Outcome.REJECTED
    assert dispute.closed_by_name == "Ada Admin"
    page = html(client.get(thread))
    assert "Dispute closed by Ada Admin" in page
    assert "Outcome: Rejected" in page
    assert "Dispute opened on" not in page


def test_closing_when_no_dispute_is_open_changes_nothing(client_for):
    client = client_for("alice")
    thread = THREAD.format("1002", "bobs-bikes")
    before = Message.objects.count()

    assert "There is no open dispute" in html(client.get(thread + "dispute/close/"))
    response = client.post(thread + "dispute/close/", follow=True)

    assert "The dispute has been closed." not in html(response)
    assert Message.objects.count() == before
    # No conversation yet: neither page creates one.
    client.post(THREAD.format("1003", "daves-outdoor") + "dispute/close/")
    client.get(THREAD.format("1003", "daves-outdoor") + "dispute/close/")
    assert not Conversation.objects.filter(order_number="1003").exists()


def test_a_dispute_can_be_reopened_after_closing(client_for):
    client = client_for("alice")
    thread = THREAD.format("1002", "bobs-bikes")
    client.post(thread + "dispute/open/", {"reason": "First"})
    client.post(thread + "dispute/close/")

    response = client.post(thread + "dispute/open/", {"reason": "Again"}, follow=True)

    assert "A dispute has been opened successfully." in html(response)
    assert Dispute.objects.count() == 2
    assert Dispute.objects.filter(status=Dispute.Status.OPEN).count() == 1


# -- guests -----------------------------------------------------------------------------------


def test_a_guest_link_opens_the_orders_messages(demo, order):
    client = Client()
    token = make_guest_token(order("1006"))

    response = client.get(f"/messages/guest/{token}/")
    assert response.status_code == 302
    assert response["Location"] == "/messages/orders/1006/"

    response = client.get("/messages/orders/1006/", follow=True)
    assert response.status_code == 200
    assert "Is the sleeping bag warm enough" in html(response)

    response = client.post(THREAD.format("1006", "daves-outdoor"), {"body": "Any news?"})
    assert response.status_code == 302
    message = conversation_of("1006", "daves-outdoor").messages.last()
    assert (message.body, message.author_id, message.author_name) == (
        "Any news?",
        None,
        "Gina Guest",
    )
    # The link opens only its own order.
    assert is_sent_to_login(client.get("/messages/orders/1005/"))
    assert_counters_exact()


def test_following_a_guest_link_gives_a_new_session_key(demo, order):
    client = Client()
    session = client.session  # planted before the link is followed
    session["planted"] = True
    session.save()
    planted = session.session_key

    client.get(f"/messages/guest/{make_guest_token(order('1006'))}/")

    assert client.cookies["sessionid"].value != planted
    assert client.session["planted"] is True  # the data moves along, only the key changes
    assert client.get("/messages/orders/1006/")["Location"] == THREAD.format(
        "1006", "daves-outdoor"
    )
    stale = Client()
    stale.cookies["sessionid"] = planted
    assert is_sent_to_login(stale.get("/messages/orders/1006/"))


def test_an_expired_guest_link_gives_410(demo, order):
    long_ago = time.time() - 31 * 24 * 3600
    with mock.patch("django.core.signing.time.time", return_value=long_ago):
        token = make_guest_token(order("1006"))
    client = Client()

    response = client.get(f"/messages/guest/{token}/")

    assert response.status_code == 410
    assert "This link has expired" in html(response)
    assert is_sent_to_login(client.get("/messages/orders/1006/"))


def test_the_guest_link_lifetime_is_a_setting(demo, order, settings):
    two_minutes_ago = time.time() - 120
    with mock.patch("django.core.signing.time.time", return_value=two_minutes_ago):
        token = make_guest_token(order("1006"))

    assert Client().get(f"/messages/guest/{token}/").status_code == 302
    settings.ORDER_MESSAGES_GUEST_LINK_MAX_AGE = 60
    assert Client().get(f"/messages/guest/{token}/").status_code == 410


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-3] + ("abc" if not token.endswith("abc") else "xyz"),
        lambda token: signing.dumps({"o": "1001", "e": "x@example.com"}, salt="another salt"),
        lambda token: signing.dumps(
            {"o": "1001", "e": "x@example.com"}, key="not the key", salt=SALT
        ),
        lambda token: signing.dumps(["1001"], salt=SALT),
        lambda token: "not-a-token",
    ],
)
def test_a_forged_guest_link_gives_404(demo, order, forge):
    client = Client()
    token = forge(make_guest_token(order("1006")))

    response = client.get(f"/messages/guest/{token}/")

    assert response.status_code == 404
    assert "This link is not valid" in html(response)
    assert is_sent_to_login(client.get("/messages/orders/1001/"))
    assert is_sent_to_login(client.get("/messages/orders/1006/"))


def test_a_guest_cannot_open_or_close_someone_elses_dispute(demo, order):
    client = Client()
    client.get(f"/messages/guest/{make_guest_token(order('1006'))}/")
    before = Participant.objects.count(), Message.objects.count()

    response = client.post(THREAD.format("1002", "bobs-bikes") + "dispute/open/", {"reason": "x"})

    assert is_sent_to_login(response)
    assert (Participant.objects.count(), Message.objects.count()) == before


def test_a_logged_out_customer_following_an_email_link_is_asked_to_log_in(demo):
    client = Client()
    thread = THREAD.format("1002", "bobs-bikes")

    response = client.get(thread)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={thread}"
    client.post("/accounts/login/", {"username": "alice", "password": "demo"})
    assert client.get(thread).status_code == 200


def test_a_backlog_longer_than_the_window_is_read_a_page_at_a_time(
    no_conversations, demo, post, settings
):
    settings.ORDER_MESSAGES_THREAD_WINDOW = 5
    make_thread(demo, post, total=12, unread_for_alice=8)
    client = Client()
    client.force_login(demo["alice"])
    url = "/messages/orders/1002/bobs-bikes/"

    first = client.get(url).content.decode()

    # From the first unread (seq 5), five of them; the last three wait behind a link.
    assert "New messages" in first
    assert 'id="m-5"' in first and 'id="m-9"' in first and 'id="m-10"' not in first
    assert "3 newer messages" in first
    assert '?from=10#thread"' in first
    mine = Participant.objects.get(conversation__order_number="1002", user=demo["alice"])
    assert (mine.unread_count, mine.last_read_seq) == (3, 9)

    rest = client.get(url + "?from=10").content.decode()

    assert 'id="m-12"' in rest and "newer message" not in rest
    mine.refresh_from_db()
    assert (mine.unread_count, mine.last_read_seq) == (0, 12)


def test_an_order_line_shows_what_its_whole_quantity_costs(demo, client_for):
    """Two sleeping bags at €119.00: the line says €238.00, on the shop's order page and
    beside the conversation, as the order's total adds it up."""
    alice = client_for("alice")
    for url in ("/orders/1003/", "/messages/orders/1003/daves-outdoor/"):
        page = html(alice.get(url))
        assert "× 2" in page
        assert "€238.00" in page and "€119.00" not in page, url
