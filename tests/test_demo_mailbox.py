"""The demo mailbox's e-mails can be followed: links in the text are links, the links of an
e-mail are listed as buttons, and those in the HTML preview open outside its frame."""

import re

import pytest
from django.test import Client

from demo.mailbox.models import DemoEmail
from demo.mailbox.views import links_of
from tests.conftest import deliver_notifications


@pytest.fixture
def guest_mail(demo, settings, post):
    """The e-mail Gina (a guest) gets when Dave answers her on #1006."""
    settings.EMAIL_BACKEND = "demo.mailbox.mail.MailboxBackend"
    settings.EMAIL_HOST = ""
    post("dave", "1006", "daves-outdoor", "It is warm down to -5 °C.")
    deliver_notifications()
    return DemoEmail.objects.get(to__contains="gina")


def test_the_links_of_an_e_mail_are_found_and_named():
    text = (
        "Read it: http://127.0.0.1:8000/messages/guest/abc.def-123/.\n"
        "(Settings: http://127.0.0.1:8000/messages/preferences/)\n"
        "Again: http://127.0.0.1:8000/messages/guest/abc.def-123/\n"
        "Elsewhere: https://example.com/page?x=1, https://example.com/messages/preferences/"
        " and ftp://example.com/no"
    )
    assert links_of(text) == [
        ("/messages/guest/abc.def-123/", "Open the messages (guest link)"),
        ("/messages/preferences/", "E-mail preferences"),
        ("https://example.com/page?x=1", "example.com/page"),
        ("https://example.com/messages/preferences/", "example.com/messages/preferences/"),
    ]


def test_a_link_whose_path_names_another_host_keeps_its_address():
    """``//evil.example/x`` on its own would be read by the browser as another host."""
    link = "http://127.0.0.1:8000//evil.example/x"

    assert links_of(f"Look: {link}") == [(link, "127.0.0.1:8000//evil.example/x")]


def test_the_guest_link_is_one_click_away(guest_mail):
    page = Client().get("/demo/mailbox/").content.decode()

    path = next(url for url, _label in links_of(guest_mail.text) if "/guest/" in url)
    # A button in the list of the e-mail's links (on this server), and a link in its text.
    assert path.startswith("/messages/guest/")
    assert re.search(
        rf'<ul class="mail__links"[^>]*>.*?<a href="{re.escape(path)}"[^>]*>'
        r"Open the messages \(guest link\)</a>",
        page,
        re.S,
    )
    assert re.search(
        rf'<pre class="mail__text">.*?<a href="http://[^"]*{re.escape(path)}"', page, re.S
    )

    # It works: the guest lands on the order's messages.
    response = Client().get(path, follow=True)
    assert "It is warm down to -5 °C." in response.content.decode()


def test_the_text_of_an_e_mail_stays_text(demo, settings):
    DemoEmail.objects.create(
        to="a@example.com",
        subject="Hi",
        text='<script>alert(1)</script> see http://example.com/"onmouseover=alert(1)',
        raw=b"",
    )

    page = Client().get("/demo/mailbox/").content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert 'href="http://example.com/"onmouseover' not in page


def test_links_in_the_html_preview_open_in_a_new_tab(guest_mail):
    response = Client().get(f"/demo/mailbox/{guest_mail.pk}.html")

    page = response.content.decode()
    links = re.findall(r"<a\s[^>]*>", page)
    assert links and all(a.startswith('<a target="_blank" rel="noopener" href=') for a in links)
    assert "<base" not in page
    policy = response["Content-Security-Policy"]
    assert "sandbox allow-popups allow-popups-to-escape-sandbox" in policy
    assert "allow-scripts" not in policy and "allow-same-origin" not in policy
    assert "script-src" not in policy and "default-src 'none'" in policy

    mailbox = Client().get("/demo/mailbox/").content.decode()
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in mailbox
