"""What a list page's rows cost in the template engine for their links, excerpts and labels:
twenty conversations, half with an excerpt longer than the 120 characters a row shows and
two in three with unread messages, rendered as Django's own tags write them (``{% url %}``,
``truncatechars`` and ``{% blocktranslate %}``) and as the pages write them
(``Conversation.get_absolute_url``, ``shortened``, ``order_label``, ``select_label`` and
``unread_label``). Both give the same HTML (checked before timing); the best of five runs
is printed.

    .venv/bin/python -m bench.rows
"""

from __future__ import annotations

import os
import timeit

ROWS = 20
RUNS = 500

AS_DJANGO_WRITES_THEM = (
    "{% load i18n %}{% for c in rows %}"
    '<input aria-label="{% blocktranslate with title=c.title %}Select {{ title }}'
    '{% endblocktranslate %}">'
    "<a href=\"{% url 'order_messages:thread' c.order_number c.vendor_key %}\">"
    "{% blocktranslate with number=c.order_number %}Order #{{ number }}{% endblocktranslate %}"
    "{% if c.unread %}{% blocktranslate count counter=c.unread %}{{ counter }} unread"
    "{% plural %}{{ counter }} unread{% endblocktranslate %}{% endif %}"
    "{{ c.last_message_excerpt|truncatechars:120 }}</a>"
    "{% endfor %}"
)
AS_THE_PAGES_WRITE_THEM = (
    "{% load order_messages %}{% for c in rows %}"
    '<input aria-label="{{ c.title|select_label }}">'
    '<a href="{{ c.get_absolute_url }}">{{ c.order_number|order_label }}'
    "{% if c.unread %}{{ c.unread|unread_label }}{% endif %}"
    "{{ c.last_message_excerpt|shortened:120 }}</a>"
    "{% endfor %}"
)


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.template import engines

    from order_messages.models import Conversation

    short = "Thanks, the bike arrived. One question about the brakes though."
    rows = [
        Conversation(
            order_number=str(100_000 + i),
            vendor_key="vendor-01",
            last_message_excerpt=short if i % 2 else "Hello! " * 28,
        )
        for i in range(ROWS)
    ]
    for i, row in enumerate(rows):
        row.unread = i % 3  # as the back office's rows carry their reader's count
    engine = engines["django"]
    templates = {
        "Django's tags": engine.from_string(AS_DJANGO_WRITES_THEM),
        "as the pages write them": engine.from_string(AS_THE_PAGES_WRITE_THEM),
    }
    written = {template.render({"rows": rows}) for template in templates.values()}
    assert len(written) == 1, "the two ways write different HTML"
    print(f"{ROWS} rows' links, excerpts and labels, best of 5 × {RUNS} renders:")
    for name, template in templates.items():
        best = min(
            timeit.repeat(lambda t=template: t.render({"rows": rows}), number=RUNS, repeat=5)
        )
        print(f"  {name:34s} {best / RUNS * 1000:6.3f} ms a page")


if __name__ == "__main__":
    main()
