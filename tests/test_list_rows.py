"""What every listed conversation writes, as Django would write it but without its cost per
row: its address, not reversed each time (links.py), exactly what ``reverse`` gives for any
order number and vendor key, under a script prefix and with the language in the path; and
its excerpt, shortened as ``truncatechars`` shortens it."""

import pytest
from django.urls import NoReverseMatch, reverse, set_script_prefix
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from order_messages.links import thread_url
from order_messages.models import Conversation

# Any text, quoting's edge cases on purpose: % ? # & + spaces, non-ASCII, surrogates aside.
text = st.text(
    st.one_of(
        st.sampled_from("%?#&+ =;@:~'()!*,$/\\\"<>é€😀\t\n"),
        st.characters(blacklist_categories=["Cs"]),
    ),
    max_size=24,
)


def reversed_or_error(number, vendor_key):
    try:
        return reverse("order_messages:thread", args=[number, vendor_key])
    except NoReverseMatch as error:
        return type(error)


def written_or_error(number, vendor_key):
    try:
        return thread_url(number, vendor_key)
    except NoReverseMatch as error:
        return type(error)


@settings(max_examples=300, deadline=None)
@given(number=text, vendor_key=text)
def test_a_conversations_address_is_what_reverse_gives(number, vendor_key):
    assert written_or_error(number, vendor_key) == reversed_or_error(number, vendor_key)


def test_an_order_number_that_is_no_path_segment_is_refused_as_reverse_refuses_it():
    for number, vendor_key in (("10/01", "bobs-bikes"), ("", "bobs-bikes"), ("1001", "")):
        with pytest.raises(NoReverseMatch):
            thread_url(number, vendor_key)


def test_the_address_follows_the_script_prefix():
    assert thread_url("1001", "bobs-bikes") == "/messages/orders/1001/bobs-bikes/"
    set_script_prefix("/shop/")  # as the WSGI and ASGI handlers set it from SCRIPT_NAME
    try:
        prefixed = thread_url("A 1", "dave's")
    finally:
        set_script_prefix("/")
    assert prefixed == "/shop/messages/orders/A%201/dave's/"
    assert thread_url("1001", "bobs-bikes") == "/messages/orders/1001/bobs-bikes/"


def test_the_address_follows_the_language_in_the_path(settings):
    settings.ROOT_URLCONF = "tests.urls_i18n_patterns"
    seen = []
    for language in ("en", "de", "en"):
        with translation.override(language):
            seen.append(thread_url("1001", "bobs-bikes"))
    assert seen == [
        "/en/messages/orders/1001/bobs-bikes/",
        "/de/messages/orders/1001/bobs-bikes/",
        "/en/messages/orders/1001/bobs-bikes/",
    ]


def test_a_conversation_links_to_its_page():
    conversation = Conversation(order_number="1002", vendor_key="store")
    assert conversation.get_absolute_url() == "/messages/orders/1002/store/"


# Characters whose NFC form is longer than themselves (U+0F43 "GHA" becomes two), and
# combining marks, which truncatechars does not count.
GROWING = "\u0f43\u0f4d\u0f52\u0f57\u0f5c\u0f69\u0f73\u0f75\u0f76\u0f78\u0f81\u0301"


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(st.one_of(st.sampled_from(GROWING), st.characters()), max_size=160),
    length=st.integers(min_value=-2, max_value=140),
)
def test_an_excerpt_is_shortened_as_truncatechars_shortens_it(text, length):
    from django.template.defaultfilters import truncatechars

    from order_messages.templatetags.order_messages import shortened

    assert shortened(text, length) == truncatechars(text, length)


def test_a_text_that_grows_when_normalised_is_shortened_too():
    from order_messages.templatetags.order_messages import shortened

    assert shortened("\u0f43" * 3, 3) == "\u0f42\u0fb7…"
    assert shortened("abc", "not a number") == "abc"


AS_BLOCKTRANSLATE_WRITES_THEM = (
    "{% load i18n %}"
    "{% blocktranslate with number=c.number %}Order #{{ number }}{% endblocktranslate %}|"
    "{% blocktranslate with title=c.title %}Select {{ title }}{% endblocktranslate %}|"
    "{% blocktranslate count counter=c.n %}{{ counter }} unread{% plural %}"
    "{{ counter }} unread{% endblocktranslate %}"
)
AS_THE_ROWS_WRITE_THEM = (
    "{% load order_messages %}"
    "{{ c.number|order_label }}|{{ c.title|select_label }}|{{ c.n|unread_label }}"
)


@settings(max_examples=200, deadline=None)
@given(number=text, title=text, n=st.integers(min_value=0, max_value=10**6))
@pytest.mark.parametrize("language", ["en", "de"])
def test_a_rows_labels_are_what_blocktranslate_writes(language, number, title, n):
    from django.template import engines

    engine = engines["django"]
    row = {"c": {"number": number, "title": title, "n": n}}
    with translation.override(language):
        written = engine.from_string(AS_THE_ROWS_WRITE_THEM).render(row)
        assert written == engine.from_string(AS_BLOCKTRANSLATE_WRITES_THEM).render(row)


def test_a_rows_labels_in_german():
    from order_messages.templatetags.order_messages import order_label, select_label, unread_label

    with translation.override("de"):
        assert order_label("1002") == "Bestellung #1002"
        assert select_label("Bestellung #1002") == "Bestellung #1002 auswählen"
        assert unread_label(2) == "2 ungelesen"
