import html
import unicodedata
from functools import lru_cache

from django import template
from django.template.defaultfilters import linebreaksbr, truncatechars
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import Urlizer, escape, format_html, strip_tags
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import get_language, gettext, ngettext

from .. import links
from ..adapter import STORE, get_adapter
from ..conf import app_settings
from ..disputes import format_deadline
from ..models import Role
from ..queries import in_backoffice, unread_total
from ..queries.saved_replies import reply_menu
from ..routing import conversation_targets
from ..times import shown_time

register = template.Library()


def unread_for_request(request) -> int:
    """The badge count, read once per request however many places show it."""
    if not hasattr(request, "_order_messages_unread"):
        request._order_messages_unread = unread_total(request.user)
    return request._order_messages_unread


@register.inclusion_tag("order_messages/partials/head.html")
def order_messages_head():
    """Stylesheet, htmx and the small script the app's pages use; put it in <head>."""
    return {}


ICON = (
    '<a href="{inbox}" class="om-icon{modifier}" data-testid="messages-icon" '
    'data-live-url="{live}" hx-get="{badge}" '
    'hx-trigger="every {poll}s, om:unread from:body" hx-swap="outerHTML" aria-label="{label}">'
    '<svg aria-hidden="true" width="22" height="22" viewBox="0 0 24 24" fill="none" '
    'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
    '<path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"/></svg>'
    "{count}</a>"
)


def icon_html(request) -> str:
    """The header icon with the unread count (S6): a link to the person's messages that
    polls ``badge`` for itself again when live updates are absent. Written out rather than
    rendered from a template: every page shows it and every open page asks for it again."""
    unread = unread_for_request(request)
    shown = localize(unread)  # as a template shows a number: "1,234" where the site says so
    label = ngettext("Messages, %(counter)s unread", "Messages, %(counter)s unread", unread)
    count = (
        format_html('<span class="om-badge" data-testid="unread-count">{}</span>', shown)
        if unread
        else ""
    )
    inbox, badge, live = links.urls(
        "order_messages:inbox", "order_messages:badge", "order_messages:live"
    )
    return format_html(
        ICON,
        modifier=" om-icon--unread" if unread else "",
        label=label % {"counter": shown},
        count=count,
        poll=app_settings.POLL_INTERVAL,
        inbox=inbox,
        badge=badge,
        live=live,
    )


@register.simple_tag(takes_context=True)
def messages_icon(context):
    """``{% messages_icon %}``: the header icon (``icon_html``)."""
    return icon_html(context["request"])


@register.simple_tag(takes_context=True)
def messages_unread(context) -> int:
    return unread_for_request(context["request"])


@register.inclusion_tag("order_messages/partials/contact_link.html")
def contact_seller(order_number, unread=0, order=None):
    """S1/S2: "Contact seller", and "N unread messages" beside it when there are some.

    Given the store's ``order`` (``adapter.Order``), an order with several conversations
    asks which seller first: one "Contact <seller>" per conversation, so a question about
    one seller's item does not land in another seller's conversation."""
    choices = []
    targets = conversation_targets(order) if order is not None else []
    if len(targets) > 1:
        choices = [
            (
                target.vendor_key == STORE,
                target.vendor_name,
                reverse(
                    "order_messages:thread",
                    kwargs={"number": order_number, "vendor_key": target.vendor_key},
                ),
            )
            for target in targets
        ]
    return {
        "number": order_number,
        "url": reverse("order_messages:order", kwargs={"number": order_number}),
        "unread": unread or 0,
        "choices": choices,
    }


@register.inclusion_tag("order_messages/partials/customer_tabs.html", takes_context=True)
def customer_tabs(context, current):
    """The customer's "Orders | Messages" tabs (``current``: "orders" or "messages"), the
    same on the store's order list and on the Messages page, so either leads back to the
    other. Nothing where the store names no order list (``get_customer_orders_url``)."""
    request = context["request"]
    return {
        "orders_url": get_adapter().get_customer_orders_url(request.user),
        "inbox_url": reverse("order_messages:inbox"),
        "current": current,
        "unread": unread_for_request(request),
    }


@register.simple_tag(takes_context=True)
def answers_customers(context) -> bool:
    """``{% answers_customers as back_office %}``: whether the visitor answers for a vendor
    or the store, so the site's navigation leads them to their conversations, orders and
    dashboard rather than to a customer's "My orders"."""
    return in_backoffice(context["request"].user)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


class FaithfulUrlizer(Urlizer):
    """Django's urlize, except that a word is linked only if the link shows the word as it
    was written. (Django 5.2 drops punctuation after a closing bracket: "(see
    http://example.com/)." would lose its period.) Messages are evidence in disputes."""

    def handle_word(self, word, **options):
        linked = super().handle_word(word, **options)
        if "<a " not in linked or html.unescape(strip_tags(linked)) == word:
            return linked
        return escape(word)


urlize_faithfully = FaithfulUrlizer()


# Texts up to this long keep their HTML in a per-process cache of this many entries.
CACHED_TEXT_LENGTH = 2000
CACHED_TEXTS = 1024


@register.filter(needs_autoescape=True)
def message_text(value, autoescape=True):
    """A message's plain text as HTML (C6): escaped, web and e-mail addresses made links,
    line breaks kept. The HTML of a text is kept for the next time: a thread's messages
    are shown again and again, the same for everyone, and finding the links is most of
    what showing a message costs."""
    text = str(value)
    # Text marked safe is HTML already, and equal to the same text unmarked: not kept.
    if autoescape and len(text) <= CACHED_TEXT_LENGTH and not isinstance(value, SafeData):
        return _cached_html(text)
    return _html(text, autoescape=autoescape)


def _html(text: str, *, autoescape: bool = True) -> str:
    linked = mark_safe(urlize_faithfully(text, nofollow=True, autoescape=True))
    return linebreaksbr(linked, autoescape=autoescape)


@lru_cache(maxsize=CACHED_TEXTS)
def _cached_html(text: str) -> str:
    return _html(text)


# Rendered fields of unbound forms, by what they are made of (at most this many kept).
FORM_FIELDS: dict[tuple, str] = {}
FORM_FIELDS_KEPT = 256


@register.simple_tag
def form_fields(template_name: str, form):
    """A form's fields rendered with ``template_name`` (which reads ``form`` only). Those of
    an unbound form are the same for everyone who reads the page in this language: they are
    kept per process and rendered again only when something they are made of changes (the
    store's list of reasons, say). Django renders every widget through a template of its
    own, which made the dispute dialog's fields a third of a thread page's time."""
    if form.is_bound:
        return render_to_string(template_name, {"form": form})
    key = (template_name, get_language(), type(form), form.auto_id, form.prefix, *_made_of(form))
    html = FORM_FIELDS.get(key)
    if html is None:
        if len(FORM_FIELDS) >= FORM_FIELDS_KEPT:
            FORM_FIELDS.clear()
        html = FORM_FIELDS[key] = render_to_string(template_name, {"form": form})
    return html


def _made_of(form):
    for name, field in form.fields.items():
        choices = tuple((str(value), str(label)) for value, label in getattr(field, "choices", ()))
        yield (
            name,
            str(field.label),
            str(field.help_text),
            field.required,
            repr(sorted(field.widget.attrs.items())),
            choices,
            repr(form.get_initial_for_field(field, name)),
        )


@register.filter(is_safe=True)
def shortened(value, length):
    """``truncatechars``, without walking every character of a text that fits already
    (every row of a list shows an excerpt, most of them short)."""
    try:
        limit = int(length)
    except ValueError:
        return value  # as truncatechars does
    text = unicodedata.normalize("NFC", str(value))  # what truncatechars counts and gives
    if 0 < limit and len(text) <= limit:
        return text
    return truncatechars(value, length)


# A list's rows say these in every row: as {% blocktranslate %} writes them (the same
# messages, the same HTML), without its cost, a quarter of a millisecond a page each.
@register.filter
def order_label(number):
    """``{{ c.order_number|order_label }}``: "Order #1002"."""
    return gettext("Order #%(number)s") % {"number": number}


@register.filter
def select_label(title):
    """``{{ c.title|select_label }}``: "Select Order #1002", a row's checkbox's name."""
    return gettext("Select %(title)s") % {"title": title}


@register.filter
def unread_label(count):
    """``{{ c.my_unread|unread_label }}``: "3 unread"."""
    return ngettext("%(counter)s unread", "%(counter)s unread", count) % {"counter": count}


@register.filter
def deadline(value):
    """A dispute's deadline in the store's time zone: ``{{ dispute.respond_by|deadline }}``
    gives "Tue 14:00" (see ``disputes.format_deadline``)."""
    return format_deadline(value) if value else ""


@register.filter
def deadline_in_full(value):
    """A dispute's deadline in an e-mail: with its date and time zone whenever the e-mail
    is read, "Tue 15 Dec 14:00 CET" (``disputes.format_deadline``)."""
    return format_deadline(value, in_full=True) if value else ""


@register.inclusion_tag("order_messages/partials/saved_replies_menu.html", takes_context=True)
def saved_replies_menu(context):
    """The composer's "Saved replies" menu, for those who answer in this conversation (a
    vendor's or the store's staff); a customer gets nothing, and no query is made."""
    if context.get("role") not in (Role.VENDOR, Role.STAFF):
        return {"show": False}
    return {
        "show": True,
        "replies": reply_menu(
            user=context["request"].user, order=context["order"], sub_order=context["sub_order"]
        ),
        "manage_url": reverse("order_messages:saved_replies"),
    }


@register.simple_tag
def when(value):
    """``{% when message.created_at %}``: a <time> saying "5 minutes ago", "yesterday" or
    the date, with the exact time as its title (see ``times.shown_time``). The page's
    script keeps the recent ones right while the page stays open."""
    if not value:
        return ""
    shown = shown_time(value)
    return format_html(
        '<time class="om-when" datetime="{}" title="{}" data-date="{}">{}</time>',
        shown.iso,
        shown.exact,
        shown.date,
        shown.text,
    )


@register.simple_tag
def on_date(value):
    """``{% on_date dispute.opened_at as date %}``: the date as ``when`` writes it for
    older times, in a <time> with the exact time as its title; for sentences such as
    "Dispute opened on …"."""
    if not value:
        return ""
    shown = shown_time(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', shown.iso, shown.exact, shown.date
    )


@register.filter
def written_by(message, viewer) -> bool:
    """``{% if message|written_by:access %}``: the reader's own message (a guest's too)."""
    return viewer is not None and viewer.wrote(message)
