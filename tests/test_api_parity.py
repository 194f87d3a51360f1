"""Everything a person can do on the Messages pages, an app can do through the JSON API.

Every page (each URL name of ``order_messages.urls``), each method it answers, and each
choice of a form's submit buttons maps to operations of the served OpenAPI document; the
few things that only make sense as pages say why. A page added without an API
counterpart, or a button with a new choice, fails here until it gets one or a reason."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

import order_messages
from order_messages import urls

# URL name: {method: the operations that do what the page does with it}.
PAGES = {
    "inbox": {"GET": {"listConversations", "listBackofficeConversations"}},
    "mark": {"POST": {"markBackofficeConversations"}},
    "order_list": {"GET": {"listBackofficeOrders"}},
    "dashboard": {"GET": {"getDashboard", "markDashboardSeen"}},
    "vendor_dashboard": {"GET": {"getVendorFigures"}},
    "badge": {"GET": {"getUnread"}},
    "preferences": {
        "GET": {"getEmailPreferences", "listMutedConversations"},
        "POST": {"updateEmailPreferences"},
    },
    "unmute": {"POST": {"unmuteConversation"}},
    "tokens": {"GET": {"listApiTokens"}, "POST": {"createApiToken"}},
    "revoke_token": {"POST": {"revokeApiToken"}},
    "saved_replies": {"GET": {"listSavedReplies"}, "POST": {"createSavedReply"}},
    "edit_saved_reply": {"GET": {"listSavedReplies"}, "POST": {"updateSavedReply"}},
    "delete_saved_reply": {"POST": {"deleteSavedReply"}},
    "file": {"GET": {"getAttachmentContent"}},
    "thumbnail": {"GET": {"getAttachmentThumbnail"}},
    "discard_file": {"POST": {"discardAttachment"}},
    "order": {"GET": {"listOrderConversations"}},
    # Opening a thread shows its messages and marks them read.
    "thread": {"GET": {"listMessages", "markRead"}, "POST": {"postMessage"}},
    "read": {"POST": {"markRead"}},
    "upload_file": {"POST": {"uploadAttachment"}},
    "open_dispute": {"GET": {"listDisputeOptions"}, "POST": {"openDispute"}},
    "close_dispute": {"GET": {"listDisputes", "listDisputeOptions"}, "POST": {"closeDispute"}},
}

# (URL name a form posts to, a submit button's name, its value): the operations.
CHOICES = {
    ("mark", "action", "read"): {"markBackofficeConversations"},
    ("mark", "action", "unread"): {
        "markBackofficeConversations",
        "markBackofficeConversationUnread",
    },
    ("mark", "all", "read"): {"markBackofficeConversations"},
}

# What only makes sense as a page, and why.
PAGE_ONLY = {
    "live": "The Server-Sent Events stream for the site's open pages; an app polls getUnread "
    "and listMessages (after=last_seq) instead.",
    "unsubscribe": "The signed one-click link in an e-mail (RFC 8058): the link is the "
    "authorisation, for a mail client without an account; unmuteConversation undoes it.",
    "guest": "The signed link e-mailed to a guest, who has no account; the API needs one.",
    "mailed_file": "A file's signed link in an e-mail to a guest; with an account, "
    "getAttachmentContent.",
}

SAMPLE_ARGUMENTS = {
    "number": "1001",
    "vendor_key": "bobs-bikes",
    "conversation_id": 1,
    "token": "x",
    "token_id": 1,
    "reply_id": 1,
    "attachment_id": 1,
}
TEMPLATES = Path(order_messages.__file__).parent / "templates"


def url_names() -> list[str]:
    return [pattern.name for pattern in urls.urlpatterns]


def served_operations() -> set[str]:
    schema = Client().get("/api/v1/openapi.json").json()
    return {
        operation["operationId"]
        for methods in schema["paths"].values()
        for operation in methods.values()
    }


def page_url(name: str) -> str:
    pattern = next(p for p in urls.urlpatterns if p.name == name)
    kwargs = {key: SAMPLE_ARGUMENTS[key] for key in pattern.pattern.converters}
    return reverse(f"order_messages:{name}", kwargs=kwargs)


def submit_choices() -> set[tuple[str, str, str]]:
    """(URL name posted to, name, value) of every submit button with a name in the
    package's templates."""
    found = set()
    for template in TEMPLATES.rglob("*.html"):
        for form in re.findall(r"<form\b.*?</form>", template.read_text(), flags=re.S):
            target = re.search(r"""action="\{% url ['"]order_messages:(\w+)['"]""", form)
            for button in re.findall(r"<button\b[^>]*>", form):
                name = re.search(r'\bname="([^"]+)"', button)
                value = re.search(r'\bvalue="([^"]*)"', button)
                if name and 'type="button"' not in button:
                    assert target, f"{template.name}: a choice posted to its own page"
                    found.add((target.group(1), name.group(1), value.group(1) if value else ""))
    return found


def test_every_page_has_an_api_counterpart_or_a_reason():
    names = url_names()

    assert set(PAGES).isdisjoint(PAGE_ONLY)
    assert [n for n in names if n not in PAGES and n not in PAGE_ONLY] == []
    assert sorted(set(PAGES) | set(PAGE_ONLY)) == sorted(names), "a page listed no longer exists"
    assert len(PAGE_ONLY) <= 5 and all(len(reason) > 20 for reason in PAGE_ONLY.values())


def test_every_operation_named_is_served():
    served = served_operations()
    named = set().union(*(ops for methods in PAGES.values() for ops in methods.values()))
    named |= set().union(*CHOICES.values())

    assert named - served == set()


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_method_a_page_answers_is_mapped(client_for, name):
    """A page that starts to take POSTs (or GETs) needs an operation for them."""
    admin = client_for("admin")
    url = page_url(name)

    answered = {
        method
        for method, call in (("GET", admin.get), ("POST", admin.post))
        if call(url).status_code != 405
    }

    assert answered == set(PAGES[name])


def test_each_choice_of_a_form_is_mapped():
    choices = submit_choices()

    assert ("mark", "action", "unread") in choices  # the scan finds the back office's
    assert choices - set(CHOICES) == set()
    assert {name for name, _field, _value in CHOICES} <= set(PAGES)
