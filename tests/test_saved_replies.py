"""Saved replies: who sees and changes which, the placeholders filled in
for a conversation, the composer's menu, the page and the API."""

import json
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template import Context, Template
from django.test import Client, RequestFactory

from demo.store.models import Order
from order_messages import actions, queries
from order_messages.adapter import get_adapter
from order_messages.conf import app_settings
from order_messages.errors import OrderMessagesError
from order_messages.models import SavedReply

API = "/api/v1/saved-replies"
PAGE = "/messages/replies/"
THREAD = "/messages/orders/1002/bobs-bikes/"


def scope_of(user):
    return queries.access_backoffice(user=user)


def save(user, title, body="Text", shared=False):
    return actions.create_saved_reply(scope=scope_of(user), title=title, body=body, shared=shared)


@pytest.fixture
def replies(demo):
    """Bob's two, Dave's one, and one the store shares."""
    return {
        "bob-thanks": save(demo["bob"], "Thanks", "Thank you, {customer_name}!"),
        "bob-address": save(demo["bob"], "Address", "Please send your address."),
        "dave": save(demo["dave"], "Dave's own", "Dave here."),
        "shared": save(demo["admin"], "Returns policy", "30 days for order {order_number}.", True),
    }


@pytest.fixture
def other_staff(demo):
    """A second member of the store's staff."""
    return get_user_model().objects.create_user(
        username="ops", email="ops@marketplace.example", is_staff=True, is_superuser=True
    )


class ReplyItems(HTMLParser):
    """The saved replies of a page's composer menu: (title, text to insert)."""

    def __init__(self):
        super().__init__()
        self.menus, self.items, self._text, self._title = 0, [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-saved-replies" in attrs:
            self.menus += 1
        if "data-reply-text" in attrs:
            self._text, self._title = attrs["data-reply-text"], ""
        if tag == "span" and attrs.get("class") == "om-saved-replies__preview":
            self._title, title = None, self._title
            self.items.append((title.strip(), self._text))

    def handle_data(self, data):
        if self._title is not None:
            self._title += data


def menu_of(response) -> ReplyItems:
    parser = ReplyItems()
    parser.feed(response.content.decode())
    return parser


# -- who sees which ----------------------------------------------------------------------------


def test_a_vendor_lists_their_own_replies_by_title_then_the_shared_ones(demo, replies):
    titles = [r.title for r in queries.usable_replies(user=demo["bob"])]

    assert titles == ["Address", "Thanks", "Returns policy"]


def test_store_staff_see_the_shared_replies_but_not_the_vendors_own(demo, replies, other_staff):
    assert [r.title for r in queries.usable_replies(user=other_staff)] == ["Returns policy"]
    assert [r.title for r in queries.usable_replies(user=demo["dave"])] == [
        "Dave's own",
        "Returns policy",
    ]


def test_a_vendor_may_not_share_a_reply(demo):
    with pytest.raises(PermissionDenied):
        save(demo["bob"], "Everyone", shared=True)

    assert not SavedReply.objects.exists()


def test_nobody_changes_another_persons_own_reply(demo, replies):
    with pytest.raises(Http404):
        queries.access_saved_reply(scope=scope_of(demo["dave"]), reply_id=replies["bob-thanks"].pk)
    with pytest.raises(Http404):
        queries.access_saved_reply(scope=scope_of(demo["admin"]), reply_id=replies["dave"].pk)


def test_only_store_staff_change_a_shared_reply(demo, replies, other_staff):
    shared = replies["shared"].pk
    with pytest.raises(PermissionDenied):
        queries.access_saved_reply(scope=scope_of(demo["bob"]), reply_id=shared)

    reply = queries.access_saved_reply(scope=scope_of(other_staff), reply_id=shared)
    actions.update_saved_reply(
        scope=scope_of(other_staff), reply=reply, title="Returns", body="Within 30 days."
    )

    reply.refresh_from_db()
    assert (reply.title, reply.body, reply.shared, reply.owner) == (
        "Returns",
        "Within 30 days.",
        True,
        demo["admin"],
    )


def test_the_customer_is_refused_the_page_and_the_api(client_for, demo, replies):
    alice = client_for("alice")

    assert alice.get(PAGE).status_code == 403
    assert alice.post(PAGE, {"title": "Mine", "body": "Text"}).status_code == 403
    assert alice.get(f"{PAGE}{replies['shared'].pk}/").status_code == 403
    response = alice.get(API)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert alice.post(API, {"title": "Mine", "body": "Text"}, "application/json").status_code == 403
    assert SavedReply.objects.count() == 4
    assert Client().get(PAGE)["Location"].startswith("/accounts/login/")


# -- the text -----------------------------------------------------------------------------------


def test_title_and_text_are_trimmed_and_kept_with_their_line_breaks(demo):
    reply = save(demo["bob"], "  Shipping \n times ", "\r\nLine one\r\nLine two  \n")

    assert (reply.title, reply.body) == ("Shipping times", "Line one\nLine two")


@pytest.mark.parametrize(
    "title, body, code, field",
    [
        ("", "Text", "title_required", "title"),
        ("x" * 101, "Text", "too_long", "title"),
        ("Title", "   ", "empty", "body"),
        ("Title", "x" * (app_settings.MAX_MESSAGE_LENGTH + 1), "too_long", "body"),
        ("Title", "Nul\x00", "bad_encoding", "body"),
    ],
)
def test_a_reply_out_of_bounds_is_refused_with_a_clear_error(demo, title, body, code, field):
    with pytest.raises(OrderMessagesError) as refused:
        save(demo["bob"], title, body)

    assert (refused.value.code, refused.value.field) == (code, field)
    assert not SavedReply.objects.exists()


def test_a_title_of_100_characters_and_a_text_of_the_message_limit_are_accepted(demo):
    reply = save(demo["bob"], "t" * 100, "b" * app_settings.MAX_MESSAGE_LENGTH)

    assert len(reply.title) == 100


def test_placeholders_are_filled_in_and_unknown_ones_left_as_typed(demo):
    order = get_adapter().get_order("1002")
    sub_order = order.sub_order("bobs-bikes")

    text = queries.fill_placeholders(
        "Hi {customer_name}, order {order_number} from {vendor_name}. {tracking} {customer_name}",
        order=order,
        sub_order=sub_order,
    )

    assert text == (
        f"Hi {order.customer_name}, order 1002 from {sub_order.vendor_name}. "
        f"{{tracking}} {order.customer_name}"
    )


# -- the composer's menu ----------------------------------------------------------------------


@pytest.mark.parametrize("username", ["bob", "admin"])
def test_vendors_and_staff_get_the_menu_filled_in_for_the_conversation(
    client_for, replies, username
):
    Order.objects.filter(number="1002").update(name='Al "<img src=x onerror=alert(1)>" & Co')

    response = client_for(username).get(THREAD)

    menu = menu_of(response)
    assert menu.menus == 1
    expected = {
        "bob": [
            ("Address", "Please send your address."),
            ("Thanks", 'Thank you, Al "<img src=x onerror=alert(1)>" & Co!'),
            ("Returns policy · shared", "30 days for order 1002."),
        ],
        "admin": [("Returns policy · shared", "30 days for order 1002.")],
    }[username]
    assert [(" ".join(title.split()), text) for title, text in menu.items] == expected
    page = response.content.decode()
    assert "<img src=x" not in page
    assert 'href="/messages/replies/"' in page and "Manage saved replies" in page


def test_the_customer_gets_no_menu(client_for, replies):
    response = client_for("alice").get(THREAD)

    assert response.status_code == 200
    assert menu_of(response).menus == 0
    assert "Saved replies" not in response.content.decode()


def test_the_menu_costs_one_query_for_the_seller_and_none_for_the_customer(
    demo, replies, django_assert_num_queries
):
    template = Template("{% load order_messages %}{% saved_replies_menu %}")
    order = get_adapter().get_order("1002")
    request = RequestFactory().get(THREAD)
    context = {"order": order, "sub_order": order.sub_order("bobs-bikes"), "request": request}

    request.user = demo["bob"]
    with django_assert_num_queries(1):
        shown = template.render(Context({**context, "role": "vendor"}))
    request.user = demo["alice"]
    with django_assert_num_queries(0):
        hidden = template.render(Context({**context, "role": "customer"}))

    assert shown.count("data-reply-text") == 3
    assert hidden.strip() == ""


# -- the page -------------------------------------------------------------------------------------


def csrf_client(demo, username):
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo[username])
    client.get(PAGE)
    return client, client.cookies["csrftoken"].value


def test_the_page_adds_changes_and_deletes_a_reply_with_the_csrf_token(demo):
    client, token = csrf_client(demo, "bob")

    refused = client.post(PAGE, {"title": "Hello", "body": "Hi {customer_name}"})
    assert refused.status_code == 403 and not SavedReply.objects.exists()

    added = client.post(
        PAGE, {"title": "Hello", "body": "Hi {customer_name}", "csrfmiddlewaretoken": token}
    )
    assert added.status_code == 302 and added["Location"] == PAGE
    reply = SavedReply.objects.get()
    assert (reply.owner, reply.title, reply.body, reply.shared) == (
        demo["bob"],
        "Hello",
        "Hi {customer_name}",
        False,
    )

    form = client.get(f"{PAGE}{reply.pk}/")
    assert form.status_code == 200
    assert 'value="Hello"' in form.content.decode()
    changed = client.post(
        f"{PAGE}{reply.pk}/", {"title": "Hi", "body": "Hello!", "csrfmiddlewaretoken": token}
    )
    assert changed.status_code == 302
    reply.refresh_from_db()
    assert (reply.title, reply.body) == ("Hi", "Hello!")

    assert client.post(f"{PAGE}{reply.pk}/delete/").status_code == 403
    deleted = client.post(f"{PAGE}{reply.pk}/delete/", {"csrfmiddlewaretoken": token})
    assert deleted.status_code == 302 and not SavedReply.objects.exists()


def test_the_page_lists_own_replies_with_their_buttons_and_shared_ones_without(client_for, replies):
    page = client_for("bob").get(PAGE).content.decode()

    for mine in ("bob-thanks", "bob-address"):
        assert f'action="/messages/replies/{replies[mine].pk}/delete/"' in page
    assert f"/messages/replies/{replies['shared'].pk}/" not in page
    assert "Returns policy" in page
    assert "Dave's own" not in page and "Dave&#x27;s own" not in page
    assert 'name="shared"' not in page  # vendors may not share


def test_store_staff_share_a_reply_from_the_page(client_for, demo):
    response = client_for("admin").post(PAGE, {"title": "Hours", "body": "9-5", "shared": "on"})

    assert response.status_code == 302
    assert SavedReply.objects.get().shared
    assert 'name="shared"' in client_for("admin").get(PAGE).content.decode()
    assert "Hours" in client_for("dave").get(PAGE).content.decode()


def test_a_vendor_sharing_through_the_page_is_refused(client_for):
    response = client_for("bob").post(
        PAGE, {"title": "Opening hours", "body": "We open at 9.", "shared": "on"}
    )

    assert response.status_code == 403
    assert not SavedReply.objects.filter(title="Opening hours").exists()
    # Why, with what was typed kept in the form.
    page = response.content.decode()
    assert "Only the store&#x27;s staff share replies." in page
    assert "We open at 9." in page and 'value="Opening hours"' in page


def test_a_refused_reply_shows_why_and_keeps_what_was_typed(client_for):
    body = "A long answer\nthat must not be lost"

    response = client_for("bob").post(PAGE, {"title": "x" * 101, "body": body})

    assert response.status_code == 422
    page = response.content.decode()
    assert "A title can have at most 100 characters (this one has 101)." in page
    assert 'aria-invalid="true"' in page
    assert "x" * 101 in page and body in page
    assert not SavedReply.objects.exists()


def test_the_page_refuses_someone_elses_reply(client_for, replies):
    bob = client_for("bob")

    assert bob.get(f"{PAGE}{replies['dave'].pk}/").status_code == 404
    assert bob.post(f"{PAGE}{replies['dave'].pk}/delete/").status_code == 404
    assert bob.get(f"{PAGE}{replies['shared'].pk}/").status_code == 403
    assert bob.post(f"{PAGE}{replies['shared'].pk}/delete/").status_code == 403
    assert SavedReply.objects.count() == 4


def test_the_back_office_links_to_the_page(client_for):
    bob = client_for("bob")

    for url in ("/messages/", "/messages/dashboard/"):
        assert 'href="/messages/replies/"' in bob.get(url).content.decode()


# -- the API -------------------------------------------------------------------------------------


def api(client, method, path, data=None):
    if data is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, json.dumps(data), content_type="application/json")


def test_the_api_creates_lists_changes_and_deletes_a_reply(client_for, demo, replies):
    bob = client_for("bob")

    created = api(bob, "post", API, {"title": "Tracking", "body": "Order {order_number}"})
    assert created.status_code == 201
    body = created.json()
    assert body | {"id": 0, "created_at": "", "updated_at": ""} == {
        "id": 0,
        "title": "Tracking",
        "body": "Order {order_number}",
        "text": None,
        "shared": False,
        "mine": True,
        "editable": True,
        "created_at": "",
        "updated_at": "",
    }
    listed = api(bob, "get", API).json()["items"]
    assert [(r["title"], r["mine"], r["editable"]) for r in listed] == [
        ("Address", True, True),
        ("Thanks", True, True),
        ("Tracking", True, True),
        ("Returns policy", False, False),
    ]

    changed = api(bob, "put", f"{API}/{body['id']}", {"title": "Where", "body": "Soon"})
    assert changed.status_code == 200 and changed.json()["title"] == "Where"
    assert SavedReply.objects.get(pk=body["id"]).body == "Soon"

    assert api(bob, "delete", f"{API}/{body['id']}").status_code == 204
    assert not SavedReply.objects.filter(pk=body["id"]).exists()


def test_the_api_fills_the_replies_in_for_a_conversation_the_caller_reads(client_for, replies):
    bob = client_for("bob")

    items = bob.get(API, {"order": "1002", "vendor_key": "bobs-bikes"}).json()["items"]

    assert [r["text"] for r in items] == [
        "Please send your address.",
        f"Thank you, {get_adapter().get_order('1002').customer_name}!",
        "30 days for order 1002.",
    ]
    # Another vendor's conversation is not there for Bob; both or neither are given.
    assert bob.get(API, {"order": "1003", "vendor_key": "daves-outdoor"}).status_code == 404
    refused = bob.get(API, {"order": "1002"})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_error"


def test_the_api_refuses_what_the_page_refuses(client_for, replies):
    bob, admin = client_for("bob"), client_for("admin")

    shared = api(bob, "post", API, {"title": "All", "body": "Text", "shared": True})
    assert (shared.status_code, shared.json()["error"]["code"]) == (403, "forbidden")
    theirs = api(bob, "put", f"{API}/{replies['dave'].pk}", {"title": "Mine", "body": "Now"})
    assert (theirs.status_code, theirs.json()["error"]["code"]) == (404, "not_found")
    store = api(bob, "delete", f"{API}/{replies['shared'].pk}")
    assert store.status_code == 403
    long = api(bob, "post", API, {"title": "t" * 101, "body": "Text"})
    assert (long.status_code, long.json()["error"]["code"]) == (422, "too_long")
    nul = api(bob, "post", API, {"title": "Nul\u0000", "body": "Text"})
    assert (nul.status_code, nul.json()["error"]["code"]) == (400, "bad_encoding")
    assert SavedReply.objects.count() == 4
    # Store staff change the shared one, and may unshare it.
    unshared = api(
        admin,
        "put",
        f"{API}/{replies['shared'].pk}",
        {"title": "Returns", "body": "Ask us.", "shared": False},
    )
    assert unshared.status_code == 200 and unshared.json()["shared"] is False


def test_the_api_takes_a_token_and_a_session_needs_the_csrf_token(demo):
    _row, token = actions.create_token(user=demo["bob"], name="App")
    by_token = Client(enforce_csrf_checks=True).post(
        API,
        json.dumps({"title": "By token", "body": "Text"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert by_token.status_code == 201

    session = Client(enforce_csrf_checks=True)
    session.force_login(demo["bob"])
    without = api(session, "post", API, {"title": "By session", "body": "Text"})
    assert without.status_code == 403
    assert [r.title for r in SavedReply.objects.all()] == ["By token"]
