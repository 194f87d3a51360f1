"""English and German: the committed catalogues are complete, compiled and up to date with
the code, and the pages render in German when the browser or the language chooser asks."""

import ast
import datetime as dt
import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from order_messages.charts import daily_chart
from tests.conftest import conversation_of

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "src" / "order_messages"
DEMO = REPO / "demo"
# Each catalogue: the directory makemessages runs in, and what it leaves out there
# (the same as `make messages`).
CATALOGUES = {
    "app": (APP, ["migrations", "static"]),
    "demo": (DEMO, ["store/migrations", "store/static"]),
}
LANGUAGES = ["de"]


def po_path(root, language="de"):
    return root / "locale" / language / "LC_MESSAGES" / "django.po"


PO_FILES = [
    pytest.param(po_path(root, language), id=f"{name}-{language}")
    for name, (root, _ignore) in CATALOGUES.items()
    for language in LANGUAGES
]

needs_gettext = pytest.mark.skipif(
    not (shutil.which("msgfmt") and shutil.which("xgettext")),
    reason="GNU gettext (msgfmt, xgettext) is not installed",
)


@pytest.fixture(autouse=True)
def back_to_the_default_language():
    """A German request leaves German active in this thread; later tests expect English."""
    yield
    translation.deactivate()


# -- reading .po files ------------------------------------------------------------------


class Entry:
    def __init__(self):
        self.flags: set[str] = set()
        self.references: list[str] = []
        self.msgctxt: str | None = None
        self.msgid = ""
        self.msgid_plural: str | None = None
        self.msgstr: dict[int, str] = {}

    @property
    def key(self):
        return (self.msgctxt, self.msgid)

    def __repr__(self):
        context = f"[{self.msgctxt}] " if self.msgctxt else ""
        return f"{context}{self.msgid!r}"


def read_po(path) -> list[Entry]:
    """The entries of a .po file, header first; obsolete (#~) entries are left out."""
    entries, entry, field = [], None, None

    def start():
        nonlocal entry
        if entry is None or entry.msgstr:
            entry = Entry()
            entries.append(entry)
        return entry

    def append(name, text):
        if name == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + text
        elif name == "msgid":
            entry.msgid += text
        elif name == "msgid_plural":
            entry.msgid_plural = (entry.msgid_plural or "") + text
        else:
            index = int(name[7:-1]) if name.startswith("msgstr[") else 0
            entry.msgstr[index] = entry.msgstr.get(index, "") + text

    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            start().flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#:"):
            start().references.extend(line[2:].split())
        elif line.startswith("#"):
            start()
        elif line.startswith('"'):
            append(field, ast.literal_eval(line))
        else:
            field, _, rest = line.partition(" ")
            if field in ("msgctxt", "msgid") and (entry is None or entry.msgstr):
                start()
            append(field, ast.literal_eval(rest))
    return entries


def messages_of(path) -> list[Entry]:
    return [e for e in read_po(path) if e.msgid]


NAMED = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
POSITIONAL = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
BRACED = re.compile(r"\{(\w*)(?:![rsa])?(?::[^{}]*)?\}")


def placeholders(text: str) -> tuple:
    """What a translation must keep: named %(x)s and {x} placeholders (as a set: order and
    repetition may change) and positional %d/%s (in order)."""
    text = text.replace("%%", "")
    named = frozenset(NAMED.findall(text)) | frozenset(f"{{{n}}}" for n in BRACED.findall(text))
    positional = tuple(POSITIONAL.findall(NAMED.sub("", text)))
    return named, positional


def test_placeholders_are_recognised():
    assert placeholders("%(n)d of %(total)s, {name} and %d %s, 100%%") == (
        frozenset({"n", "total", "{name}"}),
        ("%d", "%s"),
    )


# -- (a) complete catalogues ------------------------------------------------------------


def problems_in(path) -> list[str]:
    header, *entries = read_po(path)
    problems = []
    if header.msgid != "" or "fuzzy" in header.flags:
        problems.append("the header is missing or marked fuzzy")
    elif "Plural-Forms: nplurals=2; plural=(n != 1);" not in header.msgstr.get(0, ""):
        problems.append("the header has no German Plural-Forms")
    for entry in entries:
        if "fuzzy" in entry.flags:
            problems.append(f"{entry}: fuzzy")
        forms = [entry.msgstr.get(i, "") for i in range(2 if entry.msgid_plural else 1)]
        if not all(form.strip() for form in forms):
            problems.append(f"{entry}: not translated")
            continue
        sources = [entry.msgid] + ([entry.msgid_plural] * (len(forms) - 1))
        for source, form in zip(sources, forms, strict=True):
            if placeholders(form) != placeholders(source):
                problems.append(f"{entry}: {form!r} does not keep the placeholders of {source!r}")
    return problems


@pytest.mark.parametrize("path", PO_FILES)
def test_every_entry_is_translated_and_keeps_its_placeholders(path):
    assert path.exists(), f"{path} is missing; run `make messages`"
    assert len(read_po(path)) > 1, "the catalogue is empty"
    assert not problems_in(path)


def test_the_catalogue_check_finds_each_kind_of_problem(tmp_path):
    path = tmp_path / "django.po"
    path.write_text(
        """msgid ""
msgstr ""
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

#, fuzzy
msgid "Send"
msgstr "Senden"

msgid "Reason"
msgstr ""

#, python-format
msgid "Order #%(number)s"
msgstr "Bestellung #%(nummer)s"

#, python-format
msgid "%(counter)s unread"
msgid_plural "%(counter)s unread"
msgstr[0] "%(counter)s ungelesen"
msgstr[1] ""

msgctxt "date format"
msgid "M j"
msgstr "j. M"
""",
        encoding="utf-8",
    )
    assert problems_in(path) == [
        "'Send': fuzzy",
        "'Reason': not translated",
        "'Order #%(number)s': 'Bestellung #%(nummer)s' does not keep the placeholders of "
        "'Order #%(number)s'",
        "'%(counter)s unread': not translated",
    ]


def test_strings_in_both_catalogues_are_translated_alike():
    """The demo's catalogue (LOCALE_PATHS) wins over the app's for the same msgid, so a
    difference would change the app's wording inside the demo."""
    app = {e.key: e.msgstr for e in messages_of(po_path(APP))}
    demo = {e.key: e.msgstr for e in messages_of(po_path(DEMO))}
    differ = {
        key: (app[key], demo[key]) for key in app.keys() & demo.keys() if app[key] != demo[key]
    }
    assert not differ


def test_the_apps_catalogue_holds_only_the_apps_strings():
    for entry in messages_of(po_path(APP)):
        for reference in entry.references:
            assert (APP / reference.split(":")[0]).is_file(), f"{entry}: from {reference}"


# -- (b) compiled catalogues --------------------------------------------------------------


def load_mo(path) -> gettext.GNUTranslations:
    with open(path, "rb") as file:
        return gettext.GNUTranslations(file)


@needs_gettext
@pytest.mark.parametrize("path", PO_FILES)
def test_the_committed_mo_is_compiled_from_the_po(path, tmp_path):
    committed = path.with_suffix(".mo")
    assert committed.exists(), f"{committed} is missing; run `make messages`"
    fresh = tmp_path / "django.mo"
    # --check: also the python-format placeholders and the header, as compilemessages does.
    subprocess.run(["msgfmt", "--check", "-o", fresh, path], check=True, capture_output=True)
    expected, actual = load_mo(fresh), load_mo(committed)
    assert actual._catalog == expected._catalog, f"{committed} is stale; run `make messages`"
    assert [actual.plural(n) for n in range(200)] == [expected.plural(n) for n in range(200)]


# -- (c) nothing left out -----------------------------------------------------------------


@needs_gettext
@pytest.mark.parametrize("name", CATALOGUES)
def test_makemessages_finds_no_string_missing_from_the_catalogue(name, tmp_path):
    """makemessages over a copy of the sources, with the committed catalogue, adds
    nothing: every marked string is in the committed .po (and so, by the test above,
    translated)."""
    root, ignore = CATALOGUES[name]
    copy = tmp_path / root.name
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo"))
    command = [sys.executable, REPO / "manage.py", "makemessages", "--locale=de"]
    command += ["--no-obsolete", "--add-location=file", *(f"--ignore={i}" for i in ignore)]
    subprocess.run(command, cwd=copy, check=True, capture_output=True, text=True)
    committed = {e.key for e in messages_of(po_path(root))}
    extracted = messages_of(po_path(copy))
    missing = [e for e in extracted if e.key not in committed]
    assert extracted, "makemessages found no strings at all"
    assert not missing, (
        f"marked but not in the {name} catalogue (run `make messages` and translate): {missing}"
    )


# -- (d) the pages in German ----------------------------------------------------------------


def html(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def german(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    return client


def assert_german(page, present, absent):
    assert '<html lang="de">' in page
    for text in present:
        assert text in page, f"{text!r} is not on the German page"
    for text in absent:
        assert text not in page, f"{text!r} is still on the German page"


def test_english_stays_the_default(client_for):
    page = html(client_for("alice").get("/orders/"))
    assert '<html lang="en">' in page
    for text in ("My orders", "Contact seller", "Messages", "€583.50", "Delivered"):
        assert text in page
    page = html(client_for("alice").get("/orders/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9"))
    assert '<html lang="en">' in page and "My orders" in page


def test_the_customers_order_messages_page_in_german(client_for, post):
    post("bob", "1001", "bobs-bikes", "Your helmet ships today.")
    alice = client_for("alice")
    page = html(alice.get("/messages/orders/1001/bobs-bikes/", HTTP_ACCEPT_LANGUAGE="de"))
    assert_german(
        page,
        present=[
            "Nachrichten zu Bestellung #1001",
            "Nachrichten</a> ›",
            "Unterhaltungen zu dieser Bestellung",
            "Ihre Nachricht",
            'placeholder="Nachricht schreiben …"',
            ">Senden</button>",
            "Streitfall eröffnen",
            ">Grund</label>",
            "Verkäufer</span>",  # Bob's role
            "Gesamt ",
            "\u00a0€",
        ],
        absent=["Messages about order", ">Send<", "Open dispute", "Your message", "Reason"],
    )
    assert "Your helmet ships today." in page  # what people write stays as written


def test_a_german_error_and_flash_message(client_for, demo, post):
    post("alice", "1001", "bobs-bikes", "Where is my helmet?")  # a dispute may follow
    alice = german(client_for("alice"))
    response = alice.post("/messages/orders/1001/bobs-bikes/", {"body": "  "})
    assert response.status_code == 422
    assert "Bitte schreiben Sie eine Nachricht, bevor Sie sie senden." in response.content.decode()
    response = alice.post(
        "/messages/orders/1001/bobs-bikes/dispute/open/", {"reason": "Broken"}, follow=True
    )
    assert "Der Streitfall wurde eröffnet." in html(response)


def test_the_vendors_back_office_in_german(client_for, post):
    post("alice", "1001", "bobs-bikes", "Where is my helmet?")
    bob = german(client_for("bob"))
    page = html(bob.get("/messages/"))
    assert_german(
        page,
        present=[
            "<h1>Nachrichten</h1>",
            "Unterhaltungen mit Ihren Kunden.",
            ">Alle</a>",
            ">Ungelesen</a>",
            "Offene Streitfälle",
            "Als gelesen markieren",
            "Alle als gelesen markieren",
            "Bestellung #1001",
            "1 ungelesen",
            'placeholder="Bestellnummer, Kunde oder Text"',
        ],
        absent=["Mark as read", "Conversations with your customers.", "Order #1001", "unread<"],
    )
    response = bob.post(
        "/messages/mark/",
        {"conversation": conversation_of("1001", "bobs-bikes").pk, "action": "read"},
        follow=True,
    )
    assert "1 Unterhaltung als gelesen markiert." in html(response)


def test_the_dashboard_in_german(client_for, dispute):
    dispute.open("alice", "1002", "bobs-bikes", "The bike arrived scratched.")
    admin = client_for("admin")
    page = html(admin.get("/messages/dashboard/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5"))
    assert_german(
        page,
        present=[
            "<h1>Übersicht</h1>",
            "Wie der Shop und seine Verkäufer ihren Kunden antworten.",
            "1 neuer Streitfall seit Ihrem letzten Besuch",
            "eröffnet von Alice Archer",
            "Ungelesene Nachrichten",
            "Offene Streitfälle",
            "Kundennachrichten und Streitfälle pro Tag",
            "Zahlen anzeigen",
            "Datum (UTC)",
        ],
        absent=["Dashboard</h1>", "Unread messages", "Open disputes", "Show the numbers"],
    )
    # Dates as German writes them: "Mo, 5. Mär" rather than "Mon, Mar 5".
    assert re.search(r"<time datetime=\"[\d-]+\">\w\w, \d{1,2}\. \w{3}</time>", page)


def test_the_charts_dates_follow_the_language():
    days = [SimpleNamespace(date=dt.date(2026, 3, 30), messages=1, disputes=0)]
    assert daily_chart(days=days).x_labels[-1].text == "Mar 30"
    with translation.override("de"):
        assert daily_chart(days=days).x_labels[-1].text == "30. Mär"


def test_the_language_chooser_switches_the_language(demo):
    client = Client()
    client.force_login(demo["alice"])
    page = html(client.get("/orders/"))
    chooser = re.search(
        r'<form class="language-form" action="([^"]+)" method="post">(.*?)</form>', page, re.S
    )
    assert chooser and chooser.group(1) == "/i18n/setlang/"
    assert '<label for="language">Language</label>' in chooser.group(2)
    assert re.search(r'<select id="language" name="language">', chooser.group(2))
    assert '<option value="de" lang="de">Deutsch</option>' in chooser.group(2)
    assert '<button type="submit">Change language</button>' in chooser.group(2)

    response = client.post("/i18n/setlang/", {"language": "de", "next": "/orders/"})
    assert response.status_code == 302 and response["Location"] == "/orders/"
    page = html(client.get("/orders/"))
    assert_german(
        page,
        present=["Meine Bestellungen", "Verkäufer kontaktieren", "583,50\u00a0€", "Zugestellt"],
        absent=["My orders", "Contact seller", "€583.50", "Delivered"],
    )
    assert '<option value="de" lang="de" selected>Deutsch</option>' in page
    assert '<button type="submit">Sprache ändern</button>' in page

    client.post("/i18n/setlang/", {"language": "en", "next": "/orders/"})
    page = html(client.get("/orders/"))
    assert '<html lang="en">' in page and "My orders" in page
