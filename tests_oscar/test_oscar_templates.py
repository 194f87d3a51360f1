"""Oscar's own pages carry the app's additions (the header icon, the account's Messages
tab, "Contact seller" and each seller's conversation on the order page, the unread counts
in the order history), and stay Oscar's: the app's templates extend Oscar's rather than
copy them, so Oscar's content is all still there."""

from __future__ import annotations

import re
from pathlib import Path

import oscar
import pytest
from django.test import Client
from django.urls import reverse
from oscar.core.loading import get_model

import order_messages.contrib.oscar
from order_messages import actions
from order_messages.adapter import get_adapter
from order_messages.guest import make_guest_token
from order_messages.queries import access_order

from .pages import header_icon, html, links, submit, text, unread_badge

Order = get_model("order", "Order")

pytestmark = pytest.mark.django_db

CONTRIB_TEMPLATES = Path(order_messages.contrib.oscar.__file__).parent / "templates"
OSCAR_TEMPLATES = Path(oscar.__file__).parent / "templates"
# The Oscar templates the app changes, and the one block each adds to.
EXTENDED = {
    "oscar/layout.html": "extrastyles",
    "oscar/partials/nav_primary.html": "navbar_basket",
    "oscar/customer/baseaccountpage.html": "standard_tabs",
    "oscar/customer/order/order_detail.html": "order_actions",
    "oscar/customer/order/order_list.html": "tabcontent",
    "oscar/customer/anon_order.html": "content",
}


def order_page(number):
    return reverse("customer:order", kwargs={"order_number": number})


def post_as(user, number, vendor_key, body):
    access = access_order(user=user, order_number=number)
    sub_order = access.sub_order(vendor_key)
    return actions.post_message(
        order=access.order, sub_order=sub_order, actor=access.actor_in(sub_order), body=body
    )


def origins(response, name):
    """The files a page's template of this name came from, outermost first."""
    return [Path(t.origin.name) for t in response.templates if t.name == name]


# -- the header icon --------------------------------------------------------------------------


def test_the_header_icon_is_in_oscars_header_for_someone_signed_in(client_for):
    response = client_for("alice").get("/", follow=True)

    assert response.status_code == 200
    assert "oscar/catalogue/browse.html" in [t.name for t in response.templates]
    icon = header_icon(response)
    assert 'href="/messages/"' in icon
    # One icon, in Oscar's primary navigation beside the basket button it shows on a
    # phone: outside the menu that collapses there, so a phone shows it and its count.
    page = html(response)
    assert page.count('data-testid="messages-icon"') == 1
    at = page.index('data-testid="messages-icon"')
    assert page.index("btn-cart") < at < page.index('id="navbarSupportedContent"')
    # The app's head (stylesheet, htmx, script) is in Oscar's <head>.
    head = page[: page.index("</head>")]
    assert "order_messages/order_messages.css" in head
    assert "order_messages/htmx.min.js" in head
    assert "order_messages/oscar.css" in head  # the app's styles for Oscar's layout


def test_the_header_icon_counts_unread_messages(users, client_for):
    post_as(users["bob"], "1001", "bobs-bikes", "Your helmet ships today.")
    post_as(users["admin"], "1001", "store", "And the bottles tomorrow.")

    assert unread_badge(client_for("alice").get("/", follow=True)) == 2
    assert unread_badge(client_for("carol").get("/", follow=True)) == 0
    # The badge alone, as the icon polls it, says the same.
    assert unread_badge(client_for("alice").get(reverse("order_messages:badge"))) == 2


def test_no_header_icon_for_a_visitor_not_signed_in():
    response = Client().get("/", follow=True)

    assert response.status_code == 200
    assert 'data-testid="messages-icon"' not in html(response)
    assert "Login or register" in text(response)  # Oscar's header is there


# -- the account's Messages tab -----------------------------------------------------------------


def messages_tab(response) -> str:
    found = re.search(r'<a href="/messages/" class="nav-link"[^>]*>(.*?)</a>', html(response), re.S)
    assert found, "no Messages tab"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


@pytest.mark.parametrize(
    "page", ["customer:profile-view", "customer:order-list", "customer:address-list"]
)
def test_the_account_navigation_has_a_messages_tab(client_for, page):
    response = client_for("alice").get(reverse(page))

    assert response.status_code == 200
    assert messages_tab(response) == "Messages"
    # Oscar's own tabs are all still there.
    tabs = links(response)
    for label, name in [
        ("Profile", "customer:profile-view"),
        ("Order History", "customer:order-list"),
        ("Address Book", "customer:address-list"),
    ]:
        assert tabs[label] == reverse(name)


def test_the_messages_tab_shows_the_unread_count(users, client_for):
    post_as(users["bob"], "1001", "bobs-bikes", "Your helmet ships today.")

    assert messages_tab(client_for("alice").get(reverse("customer:profile-view"))) == "Messages 1"


# -- the order page ---------------------------------------------------------------------------


def test_an_order_from_several_sellers_links_each_conversation(client_for):
    response = client_for("alice").get(order_page("1001"))

    assert response.status_code == 200
    found = links(response)
    assert found["Contact seller"] == "/messages/orders/1001/"
    conversations = {k: v for k, v in found.items() if k.startswith("Conversation with")}
    assert conversations == {
        "Conversation with Bob's Bikes": "/messages/orders/1001/bobs-bikes/",
        "Conversation with Dave's Outdoor": "/messages/orders/1001/daves-outdoor/",
        "Conversation with Demo Marketplace": "/messages/orders/1001/store/",
    }


@pytest.mark.parametrize("number", ["1002", "1003", "1004"])
def test_an_order_from_one_seller_has_contact_seller_only(client_for, number):
    response = client_for("alice").get(order_page(number))

    assert response.status_code == 200
    assert links(response)["Contact seller"] == f"/messages/orders/{number}/"
    assert "Conversation with" not in text(response)


def test_the_order_page_counts_unread_messages_per_seller(users, client_for):
    post_as(users["dave"], "1001", "daves-outdoor", "The tent is on its way.")
    post_as(users["dave"], "1001", "daves-outdoor", "Tracking number follows.")

    page = text(client_for("alice").get(order_page("1001")))

    assert "2 unread messages" in page
    assert "Conversation with Dave's Outdoor 2 unread" in page
    assert "Conversation with Bob's Bikes 2 unread" not in page


def test_oscars_order_page_content_is_all_still_there(client_for):
    response = client_for("alice").get(order_page("1001"))
    page = text(response)

    assert "Re-order all items" in page
    for item in ("Bike helmet Aero", "Two-person tent Ridge", "Insulated water bottle"):
        assert item in page
    assert "Shipping Address" in page and "Hauptstraße 1" in page
    # "Contact seller" comes just before Oscar's re-order button, in its block.
    assert page.index("Contact seller") < page.index("Re-order all items")


def test_the_order_history_has_contact_seller_or_the_unread_count(users, client_for):
    post_as(users["bob"], "1001", "bobs-bikes", "Your helmet ships today.")

    response = client_for("alice").get(reverse("customer:order-list"))

    assert response.status_code == 200
    page = text(response)
    # #1001 is from three sellers: which one? And beside it, the unread count.
    assert "Order #1001: Contact a seller Which seller is your question for?" in page
    assert "Contact the store 1 unread message" in page
    for number in ("1002", "1003", "1004", "1007"):
        assert f"Order #{number}: Contact seller" in page
    assert links(response)["Contact Bob's Bikes"] == "/messages/orders/1001/bobs-bikes/"
    assert "1005" not in page and "1006" not in page  # not Alice's
    # Oscar's table of orders is still there, above.
    assert page.index("Order number") < page.index("Messages about these orders")


def test_the_order_page_in_german(client_for):
    client = client_for("alice")
    client.cookies["django_language"] = "de"

    page = text(client.get(order_page("1001")))

    assert "Unterhaltung mit Bob's Bikes" in page
    assert "Verkäufer kontaktieren" in page
    assert "Alle Produkte erneut bestellen" in page  # Oscar's own, in German too


# -- the app's own pages in Oscar's layout --------------------------------------------------------


def test_the_apps_pages_are_in_oscars_layout(client_for):
    response = client_for("alice").get("/messages/orders/1001/bobs-bikes/")

    assert response.status_code == 200
    names = [t.name for t in response.templates]
    assert "order_messages/oscar/base.html" in names
    assert "oscar/layout.html" in names
    page = text(response)
    assert "Messages about order #1001" in page
    assert "Browse store" in page  # Oscar's navigation
    assert header_icon(response)
    # The link back to the order goes to Oscar's order page.
    assert links(response)["Order #1001"] == order_page("1001")
    # htmx requests of the page carry the CSRF token.
    assert re.search(r"""hx-headers='\{"X-CSRFToken": "[^"]+"\}'""", html(response))


# -- extended, not copied -------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXTENDED)
def test_each_oscar_template_is_extended_in_one_block_not_copied(name):
    source = (CONTRIB_TEMPLATES / name).read_text()

    assert source.startswith(f'{{% extends "{name}" %}}')
    blocks = re.findall(r"{%\s*block\s+(\w+)", source)
    assert blocks == [EXTENDED[name]]
    assert "block.super" in source  # Oscar's content of the block stays
    assert (OSCAR_TEMPLATES / name).exists()


def test_the_app_changes_no_other_oscar_template():
    ours = {str(p.relative_to(CONTRIB_TEMPLATES)) for p in CONTRIB_TEMPLATES.rglob("*.html")}

    assert {n for n in ours if n.startswith("oscar/")} == set(EXTENDED)


@pytest.mark.parametrize(
    "url, name",
    [
        ("/", "oscar/layout.html"),
        ("/", "oscar/partials/nav_primary.html"),
        (reverse("customer:profile-view"), "oscar/customer/baseaccountpage.html"),
        (order_page("1001"), "oscar/customer/order/order_detail.html"),
        (reverse("customer:order-list"), "oscar/customer/order/order_list.html"),
    ],
)
def test_a_page_renders_the_apps_template_and_then_oscars(client_for, url, name):
    response = client_for("alice").get(url, follow=True)

    assert origins(response, name)[:2] == [CONTRIB_TEMPLATES / name, OSCAR_TEMPLATES / name]


def test_the_guest_orders_url_is_oscars_anonymous_order_page():
    """A guest's order (1006) links to Oscar's page for anonymous orders, which opens once
    the guest gives the order's e-mail address."""
    url = get_adapter().get_order("1006").url
    order = Order.objects.get(number="1006")

    assert url == reverse(
        "customer:anon-order",
        kwargs={"order_number": "1006", "hash": order.verification_hash()},
    )
    guest = Client()
    response = guest.get(url, follow=True)
    assert response.status_code == 200
    response = submit(guest, response, having="email", email="gus@guests.example")
    assert response.status_code == 302 and response["Location"] == url
    response = guest.get(url)
    assert response.status_code == 200
    assert "Order #1006" in text(response) and "Sleeping bag" in text(response)
    # "Contact seller" there is the guest's signed link to the order's messages.
    contact = links(response).get("Contact seller", "")
    assert contact.startswith("/messages/guest/")
    thread = guest.get(contact, follow=True)
    assert thread.status_code == 200
    assert thread.redirect_chain[-1][0] == "/messages/orders/1006/daves-outdoor/"


def guest_link(number):
    """The signed link to an order's messages that the guest's e-mails carry."""
    token = make_guest_token(get_adapter().get_order(number))
    return reverse("order_messages:guest", kwargs={"token": token})


def anon_order_page(number):
    order = Order.objects.get(number=number)
    return reverse(
        "customer:anon-order", kwargs={"order_number": number, "hash": order.verification_hash()}
    )


def order_status_links(response) -> list[str]:
    """The links of a page to Oscar's pages of orders placed without an account."""
    return re.findall(r'href="([^"]*/order-status/[^"]*)"', html(response))


def test_a_guests_conversation_links_back_to_their_order():
    guest = Client()
    thread = guest.get(guest_link("1006"), follow=True)
    assert thread.redirect_chain[-1][0] == "/messages/orders/1006/daves-outdoor/"

    back = links(thread)["Back to order #1006"]
    assert back == anon_order_page("1006")  # with the order's verification hash
    assert order_status_links(thread) == [back]
    # Oscar asks a browser that came from the e-mail for the order's address once ...
    response = guest.get(back)
    assert response.status_code == 302
    assert response["Location"] == back.replace("/order-status/", "/order-status-form/")
    response = submit(
        guest, guest.get(response["Location"]), having="email", email="gus@guests.example"
    )
    assert response["Location"] == back
    page = guest.get(back)
    assert "Order #1006" in text(page) and "Sleeping bag" in text(page)
    # ... and then "Contact seller" there and the link back go to and fro.
    thread = guest.get(links(page)["Contact seller"], follow=True)
    page = guest.get(links(thread)["Back to order #1006"])
    assert page.status_code == 200 and "Sleeping bag" in text(page)


@pytest.mark.parametrize(
    "username, url",
    [
        ("alice", "/messages/orders/1001/bobs-bikes/"),  # her order page is in the trail
        ("dave", "/messages/orders/1006/daves-outdoor/"),  # the guest's seller
        ("admin", "/messages/orders/1006/daves-outdoor/"),
    ],
)
def test_only_the_guest_gets_the_link_to_a_guests_order_page(client_for, username, url):
    response = client_for(username).get(url)

    assert response.status_code == 200
    assert "Back to order" not in text(response)
    assert order_status_links(response) == []


def test_the_shop_shows_times_in_the_readers_time_zone(users, client_for):
    """The shop's pages load the script that reports the browser's time zone, and the
    middleware shows the app's times in it; a name that is no time zone is ignored."""
    post_as(users["bob"], "1001", "bobs-bikes", "Your helmet ships today.")
    alice = client_for("alice")
    page = html(alice.get("/", follow=True))
    assert "order_messages/time_zone.js" in page

    alice.cookies["tz"] = "Asia/Tokyo"
    assert "(JST)" in html(alice.get("/messages/orders/1001/bobs-bikes/"))
    alice.cookies["tz"] = "Not/AZone"
    thread = html(alice.get("/messages/orders/1001/bobs-bikes/"))
    assert "(UTC)" in thread and "(JST)" not in thread
