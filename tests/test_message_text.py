"""A message's HTML is worked out once per text and process, and is the same either way."""

from order_messages.templatetags import order_messages as tags


def test_a_text_is_linked_once_and_shown_the_same_every_time(monkeypatch):
    calls = []
    real = tags.urlize_faithfully

    def counting(text, **options):
        calls.append(text)
        return real(text, **options)

    monkeypatch.setattr(tags, "urlize_faithfully", counting)
    tags._cached_html.cache_clear()
    text = "See https://example.com/a?b=1&c=<2>\nThanks, Bob"

    first, second = tags.message_text(text), tags.message_text(text)

    assert first == second == tags._html(text)
    assert '<a href="https://example.com/a?b=1&amp;c=" rel="nofollow">' in first
    assert "&lt;2&gt;" in first
    assert "<br>Thanks, Bob" in first
    assert calls.count(text) == 2  # the cached one, and _html above


def test_a_long_text_is_linked_each_time_and_not_kept(monkeypatch):
    calls = []
    real = tags.urlize_faithfully
    monkeypatch.setattr(tags, "urlize_faithfully", lambda t, **o: calls.append(t) or real(t, **o))
    tags._cached_html.cache_clear()
    text = "x " * tags.CACHED_TEXT_LENGTH

    tags.message_text(text)
    tags.message_text(text)

    assert len(calls) == 2
    assert tags._cached_html.cache_info().currsize == 0
