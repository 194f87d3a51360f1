import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from anymail.inbound import AnymailInboundMessage
from hypothesis import given
from hypothesis import strategies as st

from order_messages.notifications.replies import reply_text, strip_quoted

FIXTURES = Path(__file__).parent / "fixtures" / "replies"


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.eml").read_bytes()


def reply_of(name: str) -> str:
    return reply_text(parse(fixture(name)))


def html_part(name: str) -> EmailMessage:
    return next(
        part for part in parse(fixture(name)).walk() if part.get_content_type() == "text/html"
    )


GMAIL_EN = """Hi Bob,

the hoodie arrived today, thanks! Unfortunately it's one size too small.
Can I exchange it for an L? I started the return here:
https://shop.example.com/orders/1042/return/

Best,
Anna"""

GMAIL_DE = """Hallo Bob,

die Jacke ist angekommen, vielen Dank! Leider passt die Größe nicht,
ich bräuchte sie eine Nummer größer.

Viele Grüße
Anna"""

OUTLOOK_EN = """Hello Bob,

thanks for the quick reply. The order number is 1042, I wrote it on the return form as well.
The parcel goes out tomorrow.

Kind regards,
Anna Adams"""

OUTLOOK_DE = """Hallo Bob,

die Rücksendung ist unterwegs, die Sendungsnummer lautet 00340434161094042557.
Bitte schicken Sie mir die Jacke in Größe L.

Mit freundlichen Grüßen
Anna Adams"""

APPLE_DE = """Hallo Bob,

danke, die Größe M passt perfekt. Die Rechnung brauche ich nicht auf Papier.

Grüße
Anna"""

EXPECTED = {
    "gmail_en": GMAIL_EN,
    "gmail_de": GMAIL_DE,
    "outlook_en": OUTLOOK_EN,
    "outlook_de": OUTLOOK_DE,
    "outlook_ios_de": "Passt, danke!",
    "outlook_web_en": (
        "Hi Bob,\n\ncould you send me the invoice for order 1042 as a PDF? My company needs it"
        " for expenses.\n\nThanks\nAnna"
    ),
    "apple_en": (
        "Hi Bob,\n\nperfect, Tuesday works for me. I'll be home after 4 pm, otherwise please"
        " leave\nit with my neighbour at no. 14.\n\nAnna"
    ),
    "apple_de": APPLE_DE,
    "thunderbird_en": (
        'Hi Bob,\n\nthe tracking page still says "label created" after four days. Could you'
        " check with the carrier whether the parcel was actually picked up? As I wrote on"
        " Friday, I need it before the 30th.\n\nThanks\nAnna"
    ),
    "thunderbird_de": (
        "Hallo Bob,\n\nvielen Dank für die schnelle Antwort. Die Größe 42 ist leider"
        " ausverkauft – gibt es das Modell auch in Blau?\n\nGrüße\nAnna"
    ),
    "signature": (
        "Hi Bob,\n\nplease change the invoice address to: Anna Adams, 12 Elm Street,\n"
        "Springfield. The delivery address stays the same.\n\nAnna"
    ),
    "interleaved": "Navy, please.\n\nYes, same address. Thanks!",
    "latin1": (
        "Hallo Bob,\n\ndie Größe passt, aber der Reißverschluss klemmt. Können Sie mir einen\n"
        "Ersatz schicken?\n\nGrüße aus Köln\nAnna"
    ),
    "unknown_charset": (
        "Guten Tag,\n\nbitte stornieren Sie die Bestellung, die Größe ist nicht mehr lieferbar."
        "\nGrüße, Anna Adams"
    ),
    "only_quote": "",
}


# Replies from each client, as the client encodes them.


def test_a_gmail_reply_keeps_only_the_new_text_despite_the_wrapped_attribution():
    assert reply_of("gmail_en") == GMAIL_EN


def test_a_gmail_reply_in_german_keeps_only_the_new_text():
    assert reply_of("gmail_de") == GMAIL_DE


def test_an_outlook_reply_ends_before_the_from_sent_header_block():
    assert reply_of("outlook_en") == OUTLOOK_EN


def test_a_german_outlook_reply_ends_at_the_underscores_above_von_gesendet():
    assert reply_of("outlook_de") == OUTLOOK_DE


def test_a_german_outlook_for_ios_reply_drops_its_app_signature():
    assert reply_of("outlook_ios_de") == EXPECTED["outlook_ios_de"]


def test_an_html_only_outlook_web_reply_ends_at_the_reply_header():
    assert reply_of("outlook_web_en") == EXPECTED["outlook_web_en"]


def test_an_apple_mail_reply_drops_the_quoted_attribution_and_quote():
    assert reply_of("apple_en") == EXPECTED["apple_en"]


def test_an_iphone_reply_in_german_drops_von_meinem_iphone_gesendet_and_the_quote():
    assert reply_of("apple_de") == APPLE_DE


def test_a_thunderbird_reply_joins_flowed_lines_and_drops_the_quote():
    assert reply_of("thunderbird_en") == EXPECTED["thunderbird_en"]


def test_a_thunderbird_reply_in_german_joins_flowed_lines_and_drops_the_quote():
    assert reply_of("thunderbird_de") == EXPECTED["thunderbird_de"]


def test_a_dash_dash_space_signature_is_dropped():
    assert reply_of("signature") == EXPECTED["signature"]


def test_an_interleaved_reply_keeps_the_answers_between_the_quotes():
    assert reply_of("interleaved") == EXPECTED["interleaved"]


def test_an_iso_8859_1_reply_is_decoded():
    assert reply_of("latin1") == EXPECTED["latin1"]


def test_an_unknown_charset_is_read_as_utf_8_and_ursprungliche_nachricht_ends_the_reply():
    assert reply_of("unknown_charset") == EXPECTED["unknown_charset"]


def test_a_reply_that_only_quotes_is_empty():
    assert reply_of("only_quote") == ""


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_crlf_line_endings_give_the_same_text(name):
    raw = fixture(name).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert reply_text(parse(raw)) == EXPECTED[name]


@pytest.mark.parametrize("name", ["gmail_de", "outlook_de", "thunderbird_de", "latin1"])
def test_an_anymail_inbound_message_gives_the_same_text(name):
    message = AnymailInboundMessage.parse_raw_mime_bytes(fixture(name))
    assert reply_text(message) == EXPECTED[name]


@pytest.mark.parametrize(
    "name", ["gmail_en", "gmail_de", "outlook_en", "outlook_de", "apple_de", "only_quote"]
)
def test_the_html_part_alone_gives_the_same_text(name):
    assert reply_text(html_part(name)) == EXPECTED[name]


def test_apple_mail_html_drops_the_cited_blockquote():
    assert reply_text(html_part("apple_en")) == (
        "Hi Bob,\n\nperfect, Tuesday works for me. I’ll be home after 4 pm, otherwise please"
        " leave it with my neighbour at no. 14.\n\nAnna"
    )


# Message structure and encodings.


def text_message(body: bytes, headers: str) -> EmailMessage:
    return parse(f"From: anna@example.com\r\n{headers}\r\n\r\n".encode() + body)


def test_nul_bytes_in_the_body_are_dropped():
    message = text_message(b"Hel\x00lo\r\n\r\n> old\r\n", "Content-Type: text/plain")
    assert reply_text(message) == "Hello"


def test_invalid_utf_8_is_replaced_rather_than_raising():
    message = text_message(b"Gr\xfc\xdfe", 'Content-Type: text/plain; charset="utf-8"')
    assert reply_text(message) == "Gr\ufffd\ufffde"


def test_text_labelled_iso_8859_1_is_read_as_windows_1252():
    message = text_message(
        b"49 \x80, Gr\xfc\xdfe", 'Content-Type: text/plain; charset="iso-8859-1"'
    )
    assert reply_text(message) == "49 €, Grüße"


@pytest.mark.parametrize("charset", ["base64", "idna", "utf\\x008", ""])
def test_charset_names_that_are_no_text_encoding_fall_back_to_utf_8(charset):
    message = text_message("Grüße".encode(), f'Content-Type: text/plain; charset="{charset}"')
    assert reply_text(message) == "Grüße"


def test_a_base64_body_with_broken_padding_does_not_raise():
    message = text_message(b"SGVsbG8gQm9i=x=\r\n", "Content-Transfer-Encoding: base64")
    assert isinstance(reply_text(message), str)


def test_the_text_part_wins_over_html_and_attachments_are_ignored():
    message = EmailMessage()
    message.set_content("The new text\n\n> old text\n")
    message.add_alternative("<p>HTML text</p>", subtype="html")
    message.add_attachment("attached notes", filename="notes.txt")
    assert reply_text(message) == "The new text"


def test_an_empty_text_part_falls_back_to_the_html():
    message = EmailMessage()
    message.set_content("\n")
    message.add_alternative("<div>Only in HTML</div>", subtype="html")
    assert reply_text(message) == "Only in HTML"


def test_a_message_without_a_text_body_is_empty():
    message = EmailMessage()
    message.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="photo.png")
    assert reply_text(message) == ""
    assert (
        reply_text(parse(b"Content-Type: multipart/alternative; boundary=x\r\n\r\n--x--\r\n")) == ""
    )


# HTML turned into text.


def html_reply(html: str) -> str:
    message = EmailMessage()
    message.set_content(html, subtype="html")
    return reply_text(message)


def test_thunderbird_html_drops_the_cite_prefix_and_blockquote_but_keeps_text_below():
    html = (
        '<html><head><meta http-equiv="content-type" content="text/html; charset=UTF-8"></head>'
        '<body><p>Hallo Bob,</p><p>passt!</p><div class="moz-cite-prefix">Am 22.11.26 um 10:02'
        ' schrieb Example Shop:<br></div><blockquote type="cite" cite="mid:x@example.com">'
        "<p>Hallo Anna,</p><blockquote>older</blockquote><p>still quoted</p></blockquote>"
        "<p>PS: Danke!</p></body></html>"
    )
    assert html_reply(html) == "Hallo Bob,\n\npasst!\n\nPS: Danke!"


def test_html_keeps_breaks_and_drops_head_style_and_script():
    html = (
        "<html><head><title>Re: Order</title><style>p { color: red }</style></head><body>"
        "<script>alert(1)</script><div>First&nbsp;line<br>second\n   line</div><div><br></div>"
        '<div>see <a href="https://shop.example.com/x">https://shop.example.com/x</a></div>'
        "</body></html>"
    )
    assert html_reply(html) == "First line\nsecond line\n\nsee https://shop.example.com/x"


def test_html_paragraphs_are_separated_by_a_blank_line():
    assert html_reply("<p>One</p>\n<p>Two</p>") == "One\n\nTwo"


def test_outlooks_zero_margin_paragraphs_keep_single_line_breaks():
    html = (
        '<p class="MsoNormal">Kind regards,</p>\r\n<p class="MsoNormal">Anna</p>'
        '<p class="MsoNormal">&nbsp;</p><p class="MsoNormal">PS</p>'
    )
    assert html_reply(html) == "Kind regards,\nAnna\n\nPS"


def test_an_unclosed_head_does_not_hide_the_body():
    assert html_reply('<head><meta charset="utf-8"><body>Hello</body>') == "Hello"


def test_malformed_html_keeps_the_text_read_before_the_parser_gives_up():
    assert html_reply("Hi<![ x ]>there") == "Hi"


# strip_quoted on plain text.


def test_lines_that_merely_contain_wrote_or_schrieb_are_kept():
    text = (
        "I wrote to the carrier on Monday.\nOn Monday I wrote:\nno answer yet.\n"
        "Wie ich schon schrieb, fehlt ein Teil.\nAm Montag schrieb mir der Paketdienst:\nnichts."
    )
    assert strip_quoted(text) == text


def test_a_wrapped_gmail_attribution_is_removed_with_the_quote():
    en = (
        "Thanks!\n\nOn Sun, Nov 22, 2026 at 10:02 AM Example Shop <\n"
        "orders@example.com> wrote:\n\n> Hi\n"
    )
    de = (
        "Danke!\n\nAm So., 22. Nov. 2026 um 10:02 Uhr schrieb Example Shop <\n"
        "orders@example.com>:\n\n> Hallo\n"
    )
    assert strip_quoted(en) == "Thanks!"
    assert strip_quoted(de) == "Danke!"


def test_three_or_more_blank_lines_collapse_into_one():
    assert strip_quoted("One\n\n\n\n\nTwo\n\n\nThree\n\nFour") == "One\n\nTwo\n\nThree\n\nFour"


def test_the_ends_are_trimmed_and_crlf_and_nul_are_normalised():
    assert strip_quoted("\r\n  \r\nHel\x00lo \r\n  world\r\n\r\n") == "Hello\n  world"


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "________________________________",
        "From: Example Shop <orders@example.com>\nSent: Sunday, November 22, 2026 10:02 AM",
        "Von: Example Shop <orders@example.com>\nGesendet: Sonntag, 22. November 2026 10:02",
    ],
)
def test_outlook_history_without_quote_marks_is_removed(separator):
    text = f"Yes, please.\n\n{separator}\nTo: Anna\nSubject: Order\n\nHello Anna, which size?"
    assert strip_quoted(text) == "Yes, please."


@pytest.mark.parametrize(
    "signature",
    [
        "Sent from my iPhone",
        "Von meinem iPhone gesendet",
        "Gesendet von meinem Samsung Galaxy Smartphone.",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Outlook für iOS beziehen",
        "-- \nAnna Adams\nhttps://anna.example.net",
        "--\nAnna Adams",
    ],
)
def test_signatures_are_removed(signature):
    assert strip_quoted(f"See you Tuesday.\n\n{signature}\n") == "See you Tuesday."


def test_sign_offs_lists_and_warnings_the_library_would_cut_are_kept():
    text = (
        "Hi,\nThanks, but the parcel has not arrived.\nMissing:\n- 2 shirts\n- 1 hat\n"
        "Achtung: die Mail kam doppelt an.\n\nViele Grüße\nAnna"
    )
    assert strip_quoted(text) == text


def test_an_attribution_over_unquoted_history_ends_the_reply():
    text = "Fine.\n\nOn Sunday, 22 November 2026, 10:02, Example Shop wrote:\n\nHello Anna, ..."
    assert strip_quoted(text) == "Fine."


def test_a_very_long_line_does_not_stall_the_header_search():
    line = "On " + "and on " * 5000
    assert strip_quoted(line) == line.strip()


def test_nothing_is_empty():
    assert strip_quoted("") == ""
    assert strip_quoted("> only\n> quoted") == ""


# Properties.


@given(st.text())
def test_strip_quoted_never_raises(text):
    assert isinstance(strip_quoted(text), str)


@given(st.binary())
def test_reply_text_never_raises_on_arbitrary_bytes(data):
    assert isinstance(reply_text(parse(data)), str)


@st.composite
def mime_messages(draw) -> bytes:
    charset = draw(st.sampled_from(["utf-8", "iso-8859-1", "x-unknown", "utf-16", "idna", ""]))
    encoding = draw(st.sampled_from(["7bit", "8bit", "quoted-printable", "base64", "x-uuencode"]))
    subtype = draw(st.sampled_from(["plain", "html"]))
    flowed = draw(st.sampled_from(["", "; format=flowed", "; format=flowed; delsp=yes"]))
    part = (
        f'Content-Type: text/{subtype}; charset="{charset}"{flowed}\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode() + draw(st.binary())
    if draw(st.booleans()):
        return b"MIME-Version: 1.0\r\n" + part
    return (
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\n'
        + part
        + b"\r\n--b\r\n"
        + draw(st.binary())
        + b"\r\n--b--\r\n"
    )


@given(mime_messages())
def test_reply_text_never_raises_on_mangled_mime(data):
    assert isinstance(reply_text(parse(data)), str)


WORDS = st.text(alphabet="bcdefghijk", min_size=1, max_size=8)
LINES = st.lists(WORDS, min_size=1, max_size=6).map(" ".join)
PARAGRAPHS = st.lists(LINES, min_size=1, max_size=4).map("\n".join)
PERSON_TEXT = st.lists(PARAGRAPHS, min_size=1, max_size=3).map("\n\n".join)
# A bare CR is a line break in mail, so a quoted line cannot contain one.
QUOTED_TEXT = st.text(alphabet=st.characters(blacklist_characters="\r"))


@given(PERSON_TEXT, QUOTED_TEXT)
def test_a_gmail_style_reply_keeps_the_new_text_and_no_quoted_line(person, quoted):
    quote = "\n".join("> " + line for line in quoted.split("\n"))
    attribution = "On Sun, Nov 22, 2026 at 10:02 AM Bob Baker <bob@example.com> wrote:"
    result = strip_quoted(f"{person}\n\n{attribution}\n\n{quote}\n")
    assert not any(line.startswith(">") for line in result.split("\n"))
    assert result == person
