"""What a list page's rows cost in the template engine for their links and excerpts: twenty
conversations, half with an excerpt longer than the 120 characters a row shows, rendered
as Django's own tags write them (``{% url %}`` and ``truncatechars``) and as the pages
write them (``Conversation.get_absolute_url`` and ``shortened``). Both give the same HTML
(checked before timing); the best of five runs is printed.

    .venv/bin/python -m bench.rows
"""

from __future__ import annotations

import os
import timeit

ROWS = 20
RUNS = 500

AS_DJANGO_WRITES_THEM = (
    "{% for c in rows %}"
    "<a href=\"{% url 'order_messages:thread' c.order_number c.vendor_key %}\">"
    "{{ c.last_message_excerpt|truncatechars:120 }}</a>"
    "{% endfor %}"
)
AS_THE_PAGES_WRITE_THEM = (
    "{% load order_messages %}{% for c in rows %}"
    '<a href="{{ c.get_absolute_url }}">{{ c.last_message_excerpt|shortened:120 }}</a>'
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
    engine = engines["django"]
    templates = {
        "{% url %} and truncatechars": engine.from_string(AS_DJANGO_WRITES_THEM),
        "get_absolute_url and shortened": engine.from_string(AS_THE_PAGES_WRITE_THEM),
    }
    written = {template.render({"rows": rows}) for template in templates.values()}
    assert len(written) == 1, "the two ways write different HTML"
    print(f"{ROWS} rows' links and excerpts, best of 5 × {RUNS} renders:")
    for name, template in templates.items():
        best = min(
            timeit.repeat(lambda t=template: t.render({"rows": rows}), number=RUNS, repeat=5)
        )
        print(f"  {name:34s} {best / RUNS * 1000:6.3f} ms a page")


if __name__ == "__main__":
    main()
