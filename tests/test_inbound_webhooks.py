"""Provider webhooks for inbound mail (django-anymail): only the providers the store names
in ORDER_MESSAGES_INBOUND_PROVIDERS are mounted, the system check refuses one that anyone
could call, and mail from such a webhook is never posted."""

import base64
import json
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core.checks import Error, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from order_messages.checks import check_inbound_webhooks
from order_messages.inbound_urls import inbound_urlpatterns
from order_messages.models import InboundMail, Message
from tests.conftest import deliver_notifications

POSTMARK = "/anymail/postmark/inbound/"
DEMO_AUTH = {"authorization": "Basic " + base64.b64encode(b"demo:demo").decode()}


@pytest.fixture(autouse=True)
def reply_domain(settings):
    settings.ORDER_MESSAGES_REPLY_DOMAIN = "reply.shop.example"


@pytest.fixture
def alices_reply(post, demo, mailoutbox):
    """``alices_reply(text)``: Alice's answer, as raw bytes, to the e-mail that told her
    about Bob's message on #1002, sent to its Reply-To address."""
    post("bob", "1002", "bobs-bikes", "Yes, fully assembled.")
    deliver_notifications()
    (notification,) = [m for m in mailoutbox if demo["alice"].email in m.to]
    (address,) = notification.reply_to

    def make(text):
        email = EmailMessage()
        email["From"] = demo["alice"].email
        email["To"] = address
        email["Subject"] = "Re: " + notification.subject
        email["Message-ID"] = make_msgid(domain="customers.example")
        email.set_content(f"{text}\n")
        return email.as_bytes()

    return make


def postmark_post(raw: bytes, *, headers=None):
    payload = {"RawEmail": raw.decode(), "OriginalRecipient": ""}
    return Client().post(
        POSTMARK, data=json.dumps(payload), content_type="application/json", headers=headers
    )


# -- requests -----------------------------------------------------------------------------------


def test_a_postmark_reply_with_the_webhook_secret_is_posted(alices_reply):
    response = postmark_post(alices_reply("Via Postmark"), headers=DEMO_AUTH)

    assert response.status_code == 200
    assert Message.objects.filter(body="Via Postmark").exists()


def test_an_anonymous_postmark_call_is_refused(alices_reply):
    response = postmark_post(alices_reply("Anonymous"))

    assert response.status_code == 400
    assert not Message.objects.filter(body="Anonymous").exists()


def test_without_a_webhook_secret_an_anonymous_call_posts_nothing(alices_reply, settings):
    """The finding: production settings without ANYMAIL_WEBHOOK_SECRET let anyone post as
    any customer whose reply address they name. Even where the system check was not run
    (a server does not run it), such mail is refused."""
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "demo"}

    with pytest.warns(Warning, match="insecure"):
        response = postmark_post(alices_reply("Posing as Alice"))

    assert response.status_code == 400
    assert not Message.objects.filter(body="Posing as Alice").exists()
    assert not InboundMail.objects.filter(raw__contains="Posing as Alice").exists()


@pytest.mark.parametrize(
    "path",
    [
        "/anymail/sendgrid/inbound/",
        "/anymail/mailjet/inbound/",
        "/anymail/brevo/inbound/",
        "/anymail/mailgun/tracking/",
        "/anymail/postmark/tracking/",
        "/anymail/mandrill/",
    ],
)
def test_providers_the_store_does_not_name_are_not_there(db, path):
    assert Client().post(path, data="{}", content_type="application/json").status_code == 404


def test_only_the_named_providers_are_mounted():
    names = {pattern.name for pattern in inbound_urlpatterns(("postmark", "sendgrid"))}

    assert names == {"postmark_inbound_webhook", "sendgrid_inbound_webhook"}
    assert inbound_urlpatterns(()) == []


# -- the system check ---------------------------------------------------------------------------
# The demo's URLconf mounts Mailgun and Postmark; the check looks at both what the setting
# names and what is mounted.


def test_the_demo_settings_pass_the_check():
    assert check_inbound_webhooks(None) == []


def test_a_provider_without_a_secret_fails_the_check(settings):
    settings.ORDER_MESSAGES_INBOUND_PROVIDERS = ("postmark",)
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "key"}

    (error,) = check_inbound_webhooks(None)

    assert isinstance(error, Error) and error.id == "order_messages.E002"
    assert "postmark" in error.msg and "WEBHOOK_SECRET" in error.hint


def test_a_provider_that_signs_its_calls_needs_its_key_not_the_basic_auth(settings):
    settings.ORDER_MESSAGES_INBOUND_PROVIDERS = ("mailgun",)
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "key", "WEBHOOK_SECRET": "user:pass"}
    assert check_inbound_webhooks(None) == []

    settings.ANYMAIL = {"WEBHOOK_SECRET": "user:pass"}
    (error,) = check_inbound_webhooks(None)

    assert error.id == "order_messages.E003"
    assert "mailgun" in error.msg and "MAILGUN_WEBHOOK_SIGNING_KEY" in error.msg


def test_an_unknown_provider_fails_the_check(settings):
    settings.ORDER_MESSAGES_INBOUND_PROVIDERS = ("pigeon",)

    (error,) = check_inbound_webhooks(None)

    assert error.id == "order_messages.E001" and "pigeon" in error.msg


@pytest.mark.urls("tests.urls_every_anymail_webhook")
def test_an_open_webhook_mounted_by_hand_fails_the_check_too(settings):
    """A store that includes anymail.urls itself, without the app's inbound URLs."""
    settings.ORDER_MESSAGES_INBOUND_PROVIDERS = ()
    settings.ANYMAIL = {}

    found = check_inbound_webhooks(None)

    open_ones = [e for e in found if e.id == "order_messages.E002"]
    assert any("postmark" in e.msg for e in open_ones)
    assert all(isinstance(e, Error) for e in open_ones)
    (unconfigured,) = [e for e in found if e.id == "order_messages.W001"]
    assert "mailgun" in unconfigured.msg and "postmark" not in unconfigured.msg


# The checks may ask the database what it supports (JSONField).
@pytest.mark.django_db
def test_manage_py_check_reports_it(settings):
    settings.ORDER_MESSAGES_INBOUND_PROVIDERS = ("postmark",)
    settings.ANYMAIL = {}

    assert any(e.id == "order_messages.E002" for e in run_checks())
    with pytest.raises(SystemCheckError, match="order_messages.E002"):
        call_command("check")
