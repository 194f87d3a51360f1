"""Reading the pages the tests get: text, the header icon's count, links and forms, as a
browser would find them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser


def html(response) -> str:
    return response.content.decode()


def text(response) -> str:
    """The page's visible text, tags and scripts removed, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", html(response), flags=re.S | re.I)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def header_icon(response) -> str:
    """The messages icon of the page's header (the ``<a>`` with data-testid
    "messages-icon"); fails when the page has none."""
    found = re.search(r'<a\b[^>]*data-testid="messages-icon".*?</a>', html(response), re.S)
    assert found, "the page has no messages icon"
    return found.group(0)


def unread_badge(response) -> int:
    """The count the header icon shows; 0 when it shows none."""
    found = re.search(r'data-testid="unread-count">\s*(\d+)\s*<', header_icon(response))
    return int(found.group(1)) if found else 0


def links(response) -> dict[str, str]:
    """{visible text: href} of the page's links (the first of each text)."""
    found = {}
    for href, label in re.findall(r'<a\b[^>]*href="([^"]*)"[^>]*>(.*?)</a>', html(response), re.S):
        label = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", label))).strip()
        found.setdefault(label, unescape(href))
    return found


@dataclass
class Form:
    attrs: dict[str, str]
    fields: list[tuple[str, str]] = field(default_factory=list)
    # name -> the values a select or a group of radio buttons offers
    choices: dict[str, list[str]] = field(default_factory=dict)

    @property
    def action(self) -> str:
        return unescape(self.attrs.get("action", ""))

    def data(self, **values) -> dict[str, str]:
        """What submitting the form sends: its fields as the page fills them, with
        ``values`` typed in (each must be a field of the form)."""
        sent = dict(self.fields)
        for name, value in values.items():
            assert name in sent, f"the form has no field {name!r}: {sorted(sent)}"
            if name in self.choices:
                assert value in self.choices[name], f"{value!r} is not offered for {name!r}"
            sent[name] = value
        return sent


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.textarea: str | None = None
        self.select: str | None = None
        self.selected: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.current = Form(attrs)
            self.forms.append(self.current)
            return
        form = self.current
        if form is None or "name" not in attrs:
            if tag == "option" and form is not None and self.select is not None:
                self._option(attrs)
            return
        name = attrs["name"]
        if tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                form.choices.setdefault(name, []).append(attrs.get("value", "on"))
                if "checked" in attrs:
                    form.fields.append((name, attrs.get("value", "on")))
                elif kind == "radio" and name not in dict(form.fields):
                    form.fields.append((name, ""))
            elif kind not in ("submit", "button", "image", "file", "reset"):
                form.fields.append((name, attrs.get("value", "")))
        elif tag == "textarea":
            self.textarea = name
            form.fields.append((name, ""))
        elif tag == "select":
            self.select, self.selected = name, None
            form.choices[name] = []
        elif tag == "button" and attrs.get("type", "submit") == "submit":
            pass  # a button's name is sent only when it is clicked: see Form.data

    def _option(self, attrs):
        value = attrs.get("value", "")
        self.current.choices[self.select].append(value)
        if self.selected is None or "selected" in attrs:
            self.selected = value

    def handle_data(self, data):
        if self.textarea is not None and self.current is not None:
            name, value = self.current.fields[-1]
            self.current.fields[-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "textarea":
            self.textarea = None
        elif tag == "select" and self.select is not None:
            self.current.fields.append((self.select, self.selected or ""))
            self.select = None
        elif tag == "form":
            self.current = None


def forms(response) -> list[Form]:
    parser = _Forms()
    parser.feed(html(response))
    return parser.forms


def form(
    response, *, action: str | None = None, id: str | None = None, having: str | None = None
) -> Form:
    """The page's one form that posts to ``action``, has this ``id`` or a field named
    ``having``."""
    found = [
        f
        for f in forms(response)
        if (action is None or f.action == action)
        and (id is None or f.attrs.get("id") == id)
        and (having is None or having in dict(f.fields))
    ]
    assert len(found) == 1, (
        f"{len(found)} forms for action={action!r} id={id!r} having={having!r}; the page's "
        f"forms: {[(f.attrs.get('id'), f.action) for f in forms(response)]}"
    )
    return found[0]


def submit(client, page, *, action=None, id=None, having=None, **values):
    """Fill in and send a form of ``page`` as a browser does (a form without an action
    posts to the page's own URL)."""
    found = form(page, action=action, id=id, having=having)
    assert found.attrs.get("method", "get").lower() == "post"
    return client.post(found.action or page.request["PATH_INFO"], found.data(**values))


def is_sent_to_login(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")
