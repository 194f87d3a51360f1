"""The back office's orders and the site's navigation for those who answer customers: a
vendor's staff find the orders with their items and write to the customer from there,
the store's staff every order; customers keep "My orders"."""

import re
from html import unescape

import pytest

from demo.store.adapter import DemoStoreAdapter
from order_messages.adapter import STORE
from order_messages.queries import access_backoffice, backoffice_orders
from order_messages.queries import orders as order_queries

ORDERS = "/messages/orders/"
THREAD = "/messages/orders/{}/{}/"


def html(response):
    return response.content.decode()


def blocks(response) -> dict[str, str]:
    """{order number: its part of the page}, in the page's order."""
    page = html(response)
    page = page[: page.find('<p class="om-pager">')] if 'class="om-pager"' in page else page
    parts = re.split(r'<li class="om-bo-order" data-order="([^"]+)">', page)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def listed(response) -> dict[str, list[tuple[str, str]]]:
    """{order number: [(link text, href)]} of the orders page, in the page's order."""
    return {
        number: [
            (unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()), href)
            for href, text in re.findall(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', block, re.S)
        ]
        for number, block in blocks(response).items()
    }


def order_block(response, number) -> str:
    found = blocks(response)
    assert number in found, f"order {number} is not listed"
    return found[number]


def main_nav(response) -> list[tuple[str, str]]:
    found = re.search(r'<nav class="site-nav"[^>]*>(.*?)</nav>', html(response), re.S)
    assert found
    return [
        (re.sub(r"<[^>]+>", "", text).strip(), href)
        for href, text in re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', found.group(1), re.S)
    ]


# -- who sees which orders ------------------------------------------------------------------------


def test_a_vendor_sees_the_orders_with_their_items_and_only_their_part(demo, client_for):
    response = client_for("bob").get(ORDERS)

    assert response.status_code == 200
    shown = listed(response)
    assert sorted(shown) == ["1001", "1002", "1005"]
    mixed = order_block(response, "1001")
    assert "Bike helmet Aero" in mixed
    assert "Two-person tent Ridge" not in mixed  # Dave's item in the same order
    assert "Insulated water bottle" not in mixed  # the store's own
    assert shown["1001"] == [
        (
            "Write to the customer about order #1001 (Bob's Bikes)",
            THREAD.format("1001", "bobs-bikes"),
        )
    ]


def test_a_vendor_opens_the_conversation_of_an_order_from_the_list(demo, client_for, post):
    post("alice", "1002", "bobs-bikes", "Is the bell included?")
    bob = client_for("bob")

    response = bob.get(ORDERS)
    link = listed(response)["1002"][0]
    thread = bob.get(link[1])

    assert link[0].startswith("Open the conversation")
    assert "1 unread" in order_block(response, "1002")
    assert thread.status_code == 200
    assert "Is the bell included?" in html(thread)


def test_the_stores_staff_see_every_order_with_every_part(demo, client_for):
    response = client_for("admin").get(ORDERS)

    shown = listed(response)
    assert sorted(shown) == ["1001", "1002", "1003", "1004", "1005", "1006", "1007"]
    assert [href for _, href in shown["1001"]] == [
        THREAD.format("1001", "bobs-bikes"),
        THREAD.format("1001", "daves-outdoor"),
        THREAD.format("1001", STORE),
    ]
    assert "Sold by Demo Marketplace" in order_block(response, "1001")
    assert "alice@customers.example" in order_block(response, "1001")


def test_vendors_do_not_see_the_customers_address_where_it_is_masked(demo, client_for, settings):
    settings.ORDER_MESSAGES_MASK_CONTACTS = True

    block = order_block(client_for("bob").get(ORDERS), "1001")

    assert "Alice Archer" in block and "alice@customers.example" not in block


def test_newest_orders_first(demo, client_for):
    numbers = list(listed(client_for("admin").get(ORDERS)))
    placed = DemoStoreAdapter().get_orders(numbers)

    assert [placed[n].placed_at for n in numbers] == sorted(
        (placed[n].placed_at for n in numbers), reverse=True
    )


def test_the_orders_come_in_pages(demo, client_for, monkeypatch):
    monkeypatch.setattr(order_queries, "ORDERS_PAGE_SIZE", 3)
    admin = client_for("admin")

    pages = [admin.get(ORDERS, {"page": n}) for n in (1, 2, 3)]

    numbers = [list(listed(page)) for page in pages]
    assert [len(n) for n in numbers] == [3, 3, 1]
    assert len({n for page in numbers for n in page}) == 7
    assert 'href="?page=2"' in html(pages[0]) and 'href="?page=4"' not in html(pages[2])
    assert admin.get(ORDERS, {"page": "x"}).status_code == 200
    # A page far past the last is an empty page, not an OFFSET the database refuses.
    beyond = admin.get(ORDERS, {"page": "100000000000000000000"})
    assert beyond.status_code == 200 and not list(listed(beyond))


@pytest.mark.parametrize("username", ["alice", "carol"])
def test_customers_have_no_back_office_orders(demo, client_for, username):
    assert client_for(username).get(ORDERS).status_code == 403


def test_anonymous_visitors_are_asked_to_log_in(demo, client):
    response = client.get(ORDERS)

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_in_warehouse_mode_vendors_have_no_orders_to_answer(demo, client_for, settings):
    settings.ORDER_MESSAGES_MODE = "warehouse"

    assert listed(client_for("bob").get(ORDERS)) == {}
    assert [href for _, href in listed(client_for("admin").get(ORDERS))["1001"]] == [
        THREAD.format("1001", STORE)
    ]


def test_the_page_asks_a_fixed_number_of_queries(demo, django_assert_max_num_queries, monkeypatch):
    """The orders, their items, their conversations: not one query more per order."""
    scope = access_backoffice(user=demo["admin"])
    monkeypatch.setattr(order_queries, "ORDERS_PAGE_SIZE", 2)
    with django_assert_max_num_queries(6) as few:
        backoffice_orders(scope=scope)
    monkeypatch.setattr(order_queries, "ORDERS_PAGE_SIZE", 7)

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = backoffice_orders(scope=scope)

    assert len(page.rows) == 7


# -- the store's list of orders (the adapter) ---------------------------------------------------


@pytest.mark.parametrize(
    "vendor_keys, numbers",
    [
        ({"bobs-bikes"}, {"1001", "1002", "1005"}),
        ({"daves-outdoor"}, {"1001", "1003", "1005", "1006", "1007"}),
        ({STORE}, {"1001", "1004"}),
        ({"bobs-bikes", STORE}, {"1001", "1002", "1004", "1005"}),
        (None, {"1001", "1002", "1003", "1004", "1005", "1006", "1007"}),
    ],
)
def test_the_demo_store_lists_the_orders_of_these_vendors(demo, vendor_keys, numbers):
    found = DemoStoreAdapter().list_orders(vendor_keys=vendor_keys)

    assert {o.number for o in found} == numbers
    assert len(found) == len(numbers)  # each once, whatever its number of items


# -- the navigation ---------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["bob", "dave", "admin"])
def test_vendors_and_staff_get_their_own_navigation(demo, client_for, username):
    for url in ("/", "/messages/", ORDERS):
        nav = main_nav(client_for(username).get(url))

        assert nav == [
            ("Shop", "/"),
            ("Conversations", "/messages/"),
            ("Orders", ORDERS),
            ("Dashboard", "/messages/dashboard/"),
        ], url


@pytest.mark.parametrize("username", ["alice", "carol"])
def test_customers_keep_my_orders(demo, client_for, username):
    response = client_for(username).get("/")

    assert main_nav(response) == [("Shop", "/"), ("My orders", "/orders/")]
    assert ORDERS not in html(response)


def test_the_back_office_tabs_lead_to_the_orders(demo, client_for):
    for url in ("/messages/", "/messages/dashboard/", "/messages/replies/", ORDERS):
        page = html(client_for("bob").get(url))
        nav = re.search(r'<nav class="om-bo-nav"[^>]*>(.*?)</nav>', page, re.S).group(1)

        assert f'href="{ORDERS}"' in nav, url
        assert len(re.findall(r'aria-current="page"', nav)) == 1, url
