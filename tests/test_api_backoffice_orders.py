"""The back office's orders through the API: a vendor's orders with only his own part of
each, every order for store staff, my unread counts, pages, and who may ask."""

from tests.api_helpers import API, error_of, invalid_fields
from tests.conftest import make_store_orders

pytest_plugins = ["tests.api_helpers"]

ORDERS = f"{API}/backoffice/orders"


def test_a_vendor_sees_his_orders_and_only_his_part_of_each(no_conversations, api_as, post):
    post("alice", "1001", "bobs-bikes", "Where is my helmet?")

    response = api_as("bob").get(ORDERS)

    assert response.status_code == 200
    orders = {o["number"]: o for o in response.json()["items"]}
    assert set(orders) == {"1001", "1002", "1005"}
    helmet = orders["1001"]
    assert [c["vendor_key"] for c in helmet["conversations"]] == ["bobs-bikes"]
    (part,) = helmet["conversations"]
    assert part["started"] and part["unread"] == 1 and part["items"] == 1
    assert orders["1002"]["conversations"][0]["started"] is False
    assert response.json()["next_cursor"] is None


def test_store_staff_see_every_order_in_pages(no_conversations, api_as):
    make_store_orders(
        numbers=[f"9{n:03}" for n in range(20)],
        customer=no_conversations["carol"],
        vendor_key="daves-outdoor",
    )
    admin = api_as("admin")

    first = admin.get(ORDERS).json()
    second = admin.get(ORDERS, after=first["next_cursor"]).json()

    numbers = [o["number"] for o in first["items"] + second["items"]]
    assert len(first["items"]) == 20 and second["next_cursor"] is None
    assert len(numbers) == len(set(numbers)) == 27
    assert {"1001", "1002", "1003", "1004", "1005", "1006", "1007"} <= set(numbers)
    parts = {c["vendor_key"] for o in first["items"] + second["items"] for c in o["conversations"]}
    assert parts >= {"bobs-bikes", "daves-outdoor", "store"}
    assert all(o["customer_email"] for o in first["items"])  # store staff see contacts


def test_customers_have_no_orders_list_here(demo, api_as):
    assert error_of(api_as("alice").get(ORDERS), 403) == "forbidden"
    assert error_of(api_as("anonymous").get(ORDERS), 401) == "not_authenticated"


def test_a_cursor_too_long_is_a_validation_error(demo, api_as):
    assert invalid_fields(api_as("bob").get(ORDERS, after="p" * 101)) == {"query.after"}
