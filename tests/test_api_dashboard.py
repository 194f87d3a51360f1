"""The dashboard through the API (B3): the figures of the dashboard pages for a vendor's
staff and the store's staff, the new-dispute alert marked seen, one seller's figures, and
who may read them."""

import datetime as dt

import pytest

from order_messages.models import DashboardSeen
from tests.api_helpers import API, error_of, invalid_fields
from tests.conftest import counter_of

BOARD = f"{API}/backoffice/dashboard"

pytest_plugins = ["tests.api_helpers"]


@pytest.fixture
def talk(no_conversations, post, dispute):
    """Bob: 1001 (Alice) and 1005 (Carol, disputed). Dave: 1001 (Alice, disputed)."""
    post("alice", "1001", "bobs-bikes", "Where is my helmet?")
    post("alice", "1001", "daves-outdoor", "Tent poles missing")
    post("carol", "1005", "bobs-bikes", "Helmet size question")
    dispute.open("carol", "1005", "bobs-bikes", "Wrong size sent")
    dispute.open("alice", "1001", "daves-outdoor", "No poles, no tent")
    return no_conversations


def test_a_vendor_sees_the_figures_of_his_own_conversations(talk, api_as):
    response = api_as("bob").get(BOARD)

    assert response.status_code == 200
    board = response.json()
    # Alice's and Carol's messages, and the system message that opened Carol's dispute.
    assert board["unread"] == counter_of(talk["bob"]) == 3
    assert board["open_disputes"] == 1
    assert [d["order_number"] for d in board["new_disputes"]] == ["1005"]
    assert board["new_disputes"][0]["dispute"]["reason"] == "Wrong size sent"
    assert board["new_disputes_total"] == 1
    assert [s["vendor_key"] for s in board["sellers"]] == ["bobs-bikes"]
    assert len(board["days"]) == 30 and len(board["sellers"][0]["days"]) == 30
    assert board["sort"] is None and board["mail_problems"] is None


def test_store_staff_see_every_seller_sorted_and_the_mail_problems(talk, api_as):
    board = api_as("admin").get(BOARD, sort="-open").json()

    assert board["open_disputes"] == 2
    assert {d["order_number"] for d in board["new_disputes"]} == {"1001", "1005"}
    keys = [s["vendor_key"] for s in board["sellers"]]
    assert set(keys) >= {"bobs-bikes", "daves-outdoor"}
    opened = [s["open_disputes"] for s in board["sellers"]]
    assert opened == sorted(opened, reverse=True)
    assert board["sort"] == "-open"
    assert board["mail_problems"] == {"failed": 0, "unrouted": 0}


def test_reading_the_dashboard_does_not_mark_it_seen_but_marking_does(talk, api_as):
    bob = api_as("bob")
    first = bob.get(BOARD).json()
    assert bob.get(BOARD).json()["new_disputes_total"] == 1

    seen = bob.post(f"{BOARD}/seen", {"as_of": first["as_of"]})

    assert seen.status_code == 200
    assert bob.get(BOARD).json()["new_disputes_total"] == 0
    assert DashboardSeen.objects.get(
        pk=talk["bob"].pk
    ).disputes_seen_at == dt.datetime.fromisoformat(first["as_of"])


def test_a_seen_time_to_come_counts_as_now(talk, api_as):
    """A fast clock cannot hide the alerts of disputes opened later."""
    bob = api_as("bob")

    seen = bob.post(f"{BOARD}/seen", {"as_of": "9999-01-01T00:00:00Z"})
    naive = bob.post(f"{BOARD}/seen", {"as_of": "2026-01-01T00:00:00"})

    assert seen.status_code == 200
    assert DashboardSeen.objects.get(pk=talk["bob"].pk).disputes_seen_at < dt.datetime(
        2100, 1, 1, tzinfo=dt.UTC
    )
    assert naive.status_code == 422  # a time without its zone means nothing certain


def test_an_older_seen_time_brings_no_alert_back(talk, api_as):
    bob = api_as("bob")
    shown = bob.get(BOARD).json()["as_of"]
    bob.post(f"{BOARD}/seen", {"as_of": shown})

    response = bob.post(f"{BOARD}/seen", {"as_of": "2020-01-01T00:00:00Z"})

    assert response.json()["seen_at"] == shown
    assert bob.get(BOARD).json()["new_disputes"] == []


def test_one_sellers_figures_for_store_staff_and_the_vendor_himself(talk, api_as):
    for who in ("admin", "bob"):
        response = api_as(who).get(f"{BOARD}/vendors/bobs-bikes")
        assert response.status_code == 200
        figures = response.json()
        assert figures["vendor_key"] == "bobs-bikes" and figures["vendor_name"] == "Bob's Bikes"
        assert figures["open_disputes"] == 1 and len(figures["days"]) == 30


def test_another_vendors_figures_do_not_exist_for_a_vendor(talk, api_as):
    hidden = api_as("bob").get(f"{BOARD}/vendors/daves-outdoor")
    missing = api_as("admin").get(f"{BOARD}/vendors/nobody")

    assert error_of(hidden, 404) == error_of(missing, 404) == "not_found"
    # One answer for a vendor hidden from me and one that does not exist.
    assert hidden.json() == missing.json()
    assert hidden.json()["error"]["message"] == "No such vendor."


@pytest.mark.parametrize("path", ["", "/vendors/bobs-bikes"], ids=["dashboard", "vendor figures"])
def test_customers_have_no_dashboard(talk, api_as, path):
    assert error_of(api_as("alice").get(f"{BOARD}{path}"), 403) == "forbidden"
    assert error_of(api_as("anonymous").get(f"{BOARD}{path}"), 401) == "not_authenticated"


def test_a_customer_cannot_mark_a_dashboard_seen(talk, api_as):
    assert error_of(api_as("alice").post(f"{BOARD}/seen", {}), 403) == "forbidden"
    assert not DashboardSeen.objects.filter(pk=talk["alice"].pk).exists()


def test_bad_input_is_a_validation_error(talk, api_as):
    assert invalid_fields(api_as("admin").get(BOARD, sort="price")) == {"query.sort"}
    bad_time = api_as("bob").post(f"{BOARD}/seen", {"as_of": "yesterday"})
    assert invalid_fields(bad_time) == {"body.payload.as_of"}


def test_a_seen_time_in_any_zone_is_kept_as_its_moment(talk, api_as):
    """Offsets beyond the database's (±16 hours) are valid ISO times: the moment counts."""
    bob = api_as("bob")

    far = bob.post(f"{BOARD}/seen", {"as_of": "2026-01-01T00:00:00-21:35"})
    beyond = bob.post(f"{BOARD}/seen", {"as_of": "0001-01-01T00:00:00+05:00"})

    assert far.status_code == 200
    assert DashboardSeen.objects.get(pk=talk["bob"].pk).disputes_seen_at == dt.datetime(
        2026, 1, 1, 21, 35, tzinfo=dt.UTC
    )
    assert beyond.status_code == 422
    assert {field.rsplit(".", 1)[-1] for field in invalid_fields(beyond)} == {"as_of"}
