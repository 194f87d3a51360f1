"""The whole story in the Oscar shop, through its pages as a browser goes through them: a
customer checks out through Oscar's basket and checkout, finds "Contact seller" on Oscar's
order page and writes to one partner; that partner's user answers from the back office
and hears of it by e-mail; the other partner sees nothing of it; the customer opens a
dispute and the store's staff resolve it, which leaves a note on Oscar's order."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from oscar.core.loading import get_model

from demo.mailbox.models import DemoEmail
from order_messages.models import Conversation, Dispute, Message, Notification

from .pages import form, links, submit, text, unread_badge

Order = get_model("order", "Order")
OrderNote = get_model("order", "OrderNote")
Product = get_model("catalogue", "Product")

HELMET, STOVE = "Bike helmet Aero", "Camping stove Mini"  # Bob's Bikes', Dave's Outdoor's
QUESTION = "Does the helmet come in size M? (about my new order)"
ANSWER = "Yes, size M is in the box. Enjoy your rides!"
TO_DAVE = "Which fuel does the stove take?"


def browser(user) -> Client:
    """A client that checks CSRF tokens as the site does for a browser: every form the
    story posts is the one the page offered, with its token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def check_out(client, products, name=("Carol", "Chen")) -> str:
    """Put one of each product into the basket from its page, go through Oscar's checkout
    (shipping to ``name``) and place the order; returns the new order's number."""
    for product in products:
        page = client.get(product.get_absolute_url())
        assert page.status_code == 200
        # The product page's form posts to Oscar's basket URL for the product.
        add = reverse("basket:add", kwargs={"pk": product.pk})
        response = submit(client, page, action=add, id="add_to_basket_form", quantity="1")
        assert response.status_code == 302, response.content[:500]
    basket = text(client.get(reverse("basket:summary")))
    assert all(product.title in basket for product in products)

    response = client.get(reverse("checkout:index"))
    assert response["Location"] == reverse("checkout:shipping-address")
    page = client.get(response["Location"])
    response = submit(
        client,
        page,
        id="new_shipping_address",
        first_name=name[0],
        last_name=name[1],
        line1="Speicherstadt 5",
        line4="Hamburg",
        postcode="20457",
    )
    assert response.status_code == 302, text(response)[:2000]
    # One shipping method (free shipping) and one way to pay: Oscar chooses them itself,
    # and its payment details page (which takes no payment) goes on to the preview.
    response = client.get(response["Location"], follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("checkout:payment-details")
    response = client.get(links(response)["Continue"])
    assert response.status_code == 200
    assert "Place order" in text(response)

    response = submit(client, response, id="place_order_form")
    assert response.status_code == 302
    assert response["Location"] == reverse("checkout:thank-you")
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    found = re.search(r"your order number is (\w+)", text(thanks), re.I)
    assert found, text(thanks)[:2000]
    return found.group(1)


def thread_url(number, vendor_key):
    return reverse("order_messages:thread", kwargs={"number": number, "vendor_key": vendor_key})


def deliver_emails():
    call_command("deliver_notifications", "--once", stdout=StringIO())


@pytest.fixture
def mailbox(db, settings):
    """E-mails go to the demo mailbox as in the demo shop (not Django's test outbox), and
    a message is mailed at once instead of after the batching delay."""
    settings.EMAIL_BACKEND = "demo.mailbox.mail.MailboxBackend"
    settings.EMAIL_HOST = ""  # the mailbox only, no SMTP
    settings.ORDER_MESSAGES_EMAIL_BATCH_DELAY = 0
    settings.ORDER_MESSAGES_SITE_URL = "https://shop.example"
    DemoEmail.objects.all().delete()
    return DemoEmail.objects


def test_a_customer_checks_out_and_talks_to_one_partner(
    users, mailbox, django_capture_on_commit_callbacks
):
    carol, bob, dave, admin = (browser(users[n]) for n in ("carol", "bob", "dave", "admin"))
    orders_before = set(Order.objects.values_list("number", flat=True))
    products = [Product.objects.get(title=HELMET), Product.objects.get(title=STOVE)]

    # -- Carol buys a helmet from Bob's Bikes and a stove from Dave's Outdoor ---------------
    number = check_out(carol, products)

    order = Order.objects.get(number=number)
    assert number not in orders_before
    assert order.user == users["carol"]
    assert sorted(order.lines.values_list("partner__code", "title")) == [
        ("bobs-bikes", HELMET),
        ("daves-outdoor", STOVE),
    ]
    assert not Conversation.objects.filter(order_number=number).exists()

    # -- Oscar's order page has "Contact seller" and a link to each seller's conversation -----
    page = carol.get(reverse("customer:order", kwargs={"order_number": number}))
    assert page.status_code == 200
    found = links(page)
    assert found["Contact seller"] == reverse("order_messages:order", kwargs={"number": number})
    assert found["Conversation with Bob's Bikes"] == thread_url(number, "bobs-bikes")
    assert found["Conversation with Dave's Outdoor"] == thread_url(number, "daves-outdoor")
    assert HELMET in text(page) and STOVE in text(page)  # Oscar's own order page still

    response = carol.get(found["Contact seller"])
    assert response.status_code == 302
    assert response["Location"] in (
        thread_url(number, "bobs-bikes"),
        thread_url(number, "daves-outdoor"),
    )

    # -- she writes to Bob's Bikes ------------------------------------------------------------
    page = carol.get(found["Conversation with Bob's Bikes"])
    assert page.status_code == 200
    assert f"Messages about order #{number}" in text(page)
    assert "No messages yet." in text(page)
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(carol, page, action=thread_url(number, "bobs-bikes"), body=QUESTION)
    assert response.status_code == 302
    assert response["Location"] == thread_url(number, "bobs-bikes") + "#m-1"
    conversation = Conversation.objects.get(order_number=number)
    assert (conversation.vendor_key, conversation.vendor_name) == ("bobs-bikes", "Bob's Bikes")
    assert conversation.customer == users["carol"]

    # Bob is e-mailed (the demo mailbox records it); Dave and the store's staff are not.
    deliver_emails()
    (email,) = mailbox.all()
    assert email.to == "bob@bobs-bikes.example"
    assert QUESTION in email.text
    assert email.subject == f"Order #{number}: new message"
    assert f"Read and reply: https://shop.example{thread_url(number, 'bobs-bikes')}" in email.text

    # -- Bob sees it in Oscar's header and in his back office, and answers -------------------
    home = bob.get("/", follow=True)
    assert home.status_code == 200
    assert "oscar/catalogue/browse.html" in [t.name for t in home.templates]  # Oscar's page
    assert unread_badge(home) == 1
    inbox = bob.get(reverse("order_messages:inbox"))
    assert inbox.status_code == 200
    assert f"Order #{number}" in text(inbox)
    assert QUESTION in text(inbox)
    page = bob.get(thread_url(number, "bobs-bikes"))
    assert page.status_code == 200
    assert QUESTION in text(page)
    assert unread_badge(page) == 0  # reading it marked it read
    assert unread_badge(bob.get("/", follow=True)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(bob, page, action=thread_url(number, "bobs-bikes"), body=ANSWER)
    assert response.status_code == 302
    assert response["Location"] == thread_url(number, "bobs-bikes") + "#m-2"

    # -- Carol is told: her header, her order history, her order's page ---------------------
    account = carol.get(reverse("customer:summary"), follow=True)
    assert unread_badge(account) == 1
    history = carol.get(reverse("customer:order-list"))
    assert history.status_code == 200
    assert unread_badge(history) == 1
    # An order from two partners: which one? And beside it, the unread count.
    assert f"Order #{number}: Contact a seller Which seller is your question for?" in text(history)
    assert "1 unread message" in text(history)
    page = carol.get(reverse("customer:order", kwargs={"order_number": number}))
    assert "1 unread message" in text(page)
    page = carol.get(thread_url(number, "bobs-bikes"))
    assert ANSWER in text(page)
    assert unread_badge(page) == 0

    # -- Dave, the order's other partner, sees nothing of it ----------------------------------
    assert dave.get(thread_url(number, "bobs-bikes")).status_code == 404
    inbox = dave.get(reverse("order_messages:inbox"))
    assert f"Order #{number}" not in text(inbox)
    assert unread_badge(dave.get("/", follow=True)) == 0
    assert not [e for e in mailbox.all() if "dave" in e.to]
    # His own conversation of the order he does see: his items only, not Bob's words.
    page = dave.get(thread_url(number, "daves-outdoor"))
    assert page.status_code == 200
    assert STOVE in text(page) and HELMET not in text(page)
    assert QUESTION not in text(page) and ANSWER not in text(page)
    assert "Bob's Bikes" not in text(page)
    # Posting to Bob's conversation, with a valid CSRF token from his own page: no such thing.
    token = form(page, action=thread_url(number, "daves-outdoor")).data()["csrfmiddlewaretoken"]
    response = dave.post(
        thread_url(number, "bobs-bikes"), {"body": "Hi", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 404
    assert Message.objects.filter(conversation__order_number=number).count() == 2
    # Carol writes to him too: now the order is in his list, with her words to him only.
    page = carol.get(thread_url(number, "daves-outdoor"))
    with django_capture_on_commit_callbacks(execute=True):
        submit(carol, page, action=thread_url(number, "daves-outdoor"), body=TO_DAVE)
    home = dave.get("/", follow=True)
    assert unread_badge(home) == 1
    inbox = dave.get(reverse("order_messages:inbox"))
    assert f"Order #{number}" in text(inbox) and TO_DAVE in text(inbox)
    assert QUESTION not in text(inbox) and ANSWER not in text(inbox)
    assert QUESTION not in dave.get(f"/api/v1/orders/{number}/conversations").content.decode()
    assert dave.get(f"/api/v1/orders/{number}/conversations/bobs-bikes/messages").status_code == 404

    # -- Carol opens a dispute with Bob's Bikes ---------------------------------------------
    page = carol.get(thread_url(number, "bobs-bikes"))
    open_url = reverse(
        "order_messages:open_dispute", kwargs={"number": number, "vendor_key": "bobs-bikes"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(
            carol,
            page,
            action=open_url,
            reason_code="damaged",
            requested="refund",
            reason="The helmet arrived with a crack in the shell.",
        )
    assert response.status_code == 302
    assert response["Location"] == thread_url(number, "bobs-bikes")
    dispute = Dispute.objects.get(conversation__order_number=number)
    assert (dispute.status, dispute.reason_code, dispute.requested) == (
        Dispute.Status.OPEN,
        "damaged",
        "refund",
    )
    page = carol.get(response["Location"])
    assert "A dispute has been opened successfully." in text(page)
    # Bob sees it, but handles no dispute; the store's staff now take part.
    page = bob.get(thread_url(number, "bobs-bikes"))
    assert "The helmet arrived with a crack" in text(page)
    assert "Close dispute" not in text(page)
    assert unread_badge(admin.get("/", follow=True)) == 1  # the dispute, in his header
    assert dave.get(thread_url(number, "bobs-bikes")).status_code == 404

    # -- the store's staff resolve it with a refund ------------------------------------------
    page = admin.get(thread_url(number, "bobs-bikes"))
    assert page.status_code == 200
    assert "The helmet arrived with a crack" in text(page)
    close_url = reverse(
        "order_messages:close_dispute", kwargs={"number": number, "vendor_key": "bobs-bikes"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(
            admin, page, action=close_url, outcome="refunded", note="Refunded in full, sorry!"
        )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.status, dispute.outcome) == (Dispute.Status.CLOSED, "refunded")
    assert dispute.closed_by == users["admin"]

    # Oscar's order carries the outcome as a system note, shown on the dashboard's order page.
    (note,) = OrderNote.objects.filter(order=order)
    assert note.note_type == OrderNote.SYSTEM
    assert note.message == (
        "Dispute with Bob's Bikes resolved: Refunded.\nRefunded in full, sorry!"
    )
    page = admin.get(reverse("dashboard:order-detail", kwargs={"number": number}))
    assert page.status_code == 200
    assert "Dispute with Bob's Bikes resolved: Refunded." in text(page)
    # Carol reads the outcome in her conversation.
    page = carol.get(thread_url(number, "bobs-bikes"))
    assert "Refunded in full, sorry!" in text(page)

    # -- e-mails: each one to someone who may read its conversation ------------------------
    deliver_emails()
    sent = {}
    for to, body in mailbox.values_list("to", "text"):
        sent.setdefault(to, []).append(body)
    (to_dave,) = sent["dave@daves-outdoor.example"]
    assert TO_DAVE in to_dave
    for secret in (QUESTION, ANSWER, "crack"):
        assert secret not in to_dave
    assert not Notification.objects.filter(
        conversation__order_number=number,
        conversation__vendor_key="bobs-bikes",
        email="dave@daves-outdoor.example",
    ).exists()
    for staff in ("admin@marketplace.example", "orders@marketplace.example"):
        assert any("Carol Chen opened a dispute" in body for body in sent[staff])
    # The customer's e-mail links her order's page: Oscar's, as the adapter gives it.
    (to_carol,) = sent["carol@customers.example"]
    assert "Outcome: Refunded" in to_carol
    assert f"Your order: https://shop.example/accounts/orders/{number}/" in to_carol
    assert set(sent) == {
        "bob@bobs-bikes.example",
        "carol@customers.example",
        "dave@daves-outdoor.example",
        "admin@marketplace.example",
        "orders@marketplace.example",
    }
    # Carol's question, Bob's answer, the dispute opened and closed; her message to Dave.
    assert Message.objects.filter(conversation__order_number=number).count() == 5


def test_a_customer_who_registered_with_an_email_only_stays_masked_from_sellers(
    mailbox, django_capture_on_commit_callbacks, users
):
    """Oscar's registration asks for an e-mail address and a password only: the account
    has no name. Bob's Bikes, from whom the customer's address is masked
    (ORDER_MESSAGES_MASK_CONTACTS), learns it neither from the conversation, nor from his
    back office, the API or his e-mail; the store's staff do see it."""
    erin = Client(enforce_csrf_checks=True)
    page = erin.get(reverse("customer:register"))
    response = submit(
        erin,
        page,
        id="register_form",
        email="erin.example@customers.example",
        password1="a long password, no doubt",
        password2="a long password, no doubt",
    )
    assert response.status_code == 302, text(response)[:1500]
    account = get_user_model().objects.get(email="erin.example@customers.example")
    assert account.get_full_name() == ""

    products = [Product.objects.get(title=HELMET), Product.objects.get(title=STOVE)]
    number = check_out(erin, products, name=("Erin", "Example"))
    page = erin.get(thread_url(number, "bobs-bikes"))
    with django_capture_on_commit_callbacks(execute=True):
        submit(erin, page, action=thread_url(number, "bobs-bikes"), body=QUESTION)
    deliver_emails()

    bob = browser(users["bob"])
    seen_by_bob = [
        bob.get(reverse("order_messages:inbox")).content.decode(),
        bob.get(thread_url(number, "bobs-bikes")).content.decode(),
        bob.get(f"/api/v1/orders/{number}/conversations/bobs-bikes/messages").content.decode(),
        bob.get("/api/v1/backoffice/conversations").content.decode(),
        *(e.text + e.html for e in mailbox.filter(to="bob@bobs-bikes.example")),
    ]
    assert QUESTION in seen_by_bob[1]
    for seen in seen_by_bob:
        assert "erin.example" not in seen
    # He is shown the name she gave for the order, on the order and on her message.
    assert text(bob.get(thread_url(number, "bobs-bikes"))).count("Erin Example") >= 2
    assert Message.objects.get(conversation__order_number=number).author_name == "Erin Example"
    # The store's staff see the customer's address.
    admin = browser(users["admin"])
    assert "erin.example@customers.example" in text(admin.get(thread_url(number, "bobs-bikes")))
