"""What vendors' staff and store staff see of all conversations (B1)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils.translation import gettext

from ..conf import app_settings
from ..models import Conversation, Message, Participant
from ..policy import Scope
from . import search as full_text
from .cursors import after, decode_cursor, encode_cursor

# "awaiting": the customer had the last word and waits for the seller's answer.
FILTERS = ("all", "unread", "awaiting", "disputes")


@dataclass
class BackofficePage:
    rows: list[Conversation]
    next_cursor: str | None = None


def order_number_in(text: str) -> str:
    """The order number a search names, written as people copy it from a list or an
    e-mail: "1002", "#1002", "Order #1002", "order 1002" (and "Bestellung #1002" where the
    page is in German). Anything else is taken as it is."""
    word = gettext("Order #%(number)s").split("#")[0].strip()
    words = "|".join(re.escape(w) for w in {"order", word.lower()} if w)
    found = re.fullmatch(rf"(?:(?:{words})\s*)?#?\s*(\S+)", text.strip(), re.IGNORECASE)
    return found.group(1) if found else text


def contact_filter(*, scope: Scope, text: str) -> Q:
    """Order number (as ``order_number_in`` reads it), customer name, customer e-mail
    (where the scope may see it)."""
    found = Q(order_number__iexact=order_number_in(text)) | Q(customer_name__icontains=text)
    if scope.sees_contacts:
        found |= Q(customer_email__icontains=text)
    return found


def search_filter(*, scope: Scope, text: str) -> Q:
    """Order number, customer name, customer e-mail (where the scope may see it), message
    text (the newest full_text.DEPTH matching messages of the scope)."""
    # PostgreSQL text cannot hold NUL; no stored text contains one anyway.
    found, _ = _matches(scope=scope, text=text.replace("\x00", "").strip())
    return found


def _matches(*, scope: Scope, text: str) -> tuple[Q, dict[int, full_text.Hit]]:
    """The condition on conversations a search finds, and each one's best matching
    message where the database has the full-text index."""
    found = contact_filter(scope=scope, text=text)
    if not full_text.supported():
        body = Message.objects.filter(conversation=OuterRef("pk"), body__icontains=text)
        return found | Exists(body), {}
    hits = full_text.best_hits(
        full_text.message_hits(scope=scope, words=full_text.search_words(text))
    )
    if hits:
        found |= Q(pk__in=list(hits))
    return found, hits


def scoped_conversations(*, scope: Scope, show: str = "all", search: str = "") -> QuerySet:
    """The scope's conversations with this user's unread count, filtered."""
    mine = Participant.objects.filter(conversation=OuterRef("pk"), user=scope.user)
    conversations = scope.conversations().annotate(
        my_unread=Subquery(mine.values("unread_count")[:1])
    )
    if show == "unread":
        conversations = conversations.filter(Exists(mine.filter(unread_count__gt=0)))
    elif show == "disputes":
        conversations = conversations.filter(open_dispute__isnull=False)
    elif show == "awaiting":
        conversations = conversations.filter(awaiting_since__isnull=False)
    search = search.replace("\x00", "")
    if search.strip():
        conversations = conversations.filter(search_filter(scope=scope, text=search))
    return conversations


def backoffice_page(
    *,
    scope: Scope,
    show: str = "all",
    search: str = "",
    cursor: str | None = None,
    size: int | None = None,
) -> BackofficePage:
    """A page of conversations, keyset-paginated, in one row query: escalated disputes
    first, then newest activity first; "awaiting" lists the longest waiting first. A
    search lists the best matches first (see ``search_page``)."""
    size = size or app_settings.INBOX_PAGE_SIZE
    if search.replace("\x00", "").strip():
        return search_page(scope=scope, show=show, text=search, cursor=cursor, size=size)
    conversations = scoped_conversations(scope=scope, show=show).select_related("open_dispute")
    if show == "awaiting":
        return _awaiting_page(conversations, cursor=cursor, size=size)
    # The order of the indexes om_conv_activity and om_conv_vendor_activity.
    conversations = conversations.order_by("-escalated", "-last_message_at", "-pk")
    position = decode_cursor(cursor, "ec")
    if position is not None and position[0] == "e":
        # Still among the escalated: the rest of them, then all the others.
        conversations = conversations.filter(
            (Q(escalated=True) & after(position)) | Q(escalated=False)
        )
    elif position is not None:
        conversations = conversations.filter(Q(escalated=False) & after(position))
    rows = list(conversations[: size + 1])
    page = BackofficePage(rows=rows[:size])
    if len(rows) > size:
        last = rows[size - 1]
        segment = "e" if last.escalated else "c"
        page.next_cursor = encode_cursor(segment, last.last_message_at, last.pk)
    return page


def search_page(
    *, scope: Scope, show: str, text: str, cursor: str | None, size: int
) -> BackofficePage:
    """The conversations a search finds, best first: the order number, then the
    customer's name or e-mail, then the rank of the best matching message (one of the
    scope's newest full_text.DEPTH that have the words), then as the list sorts them.

    Each row has ``search_match``: a snippet of that message with the words marked, or
    None. At most a few thousand conversations are ranked; the cursor is the position in
    that ranking. Four queries, however many messages there are: the matching messages,
    the ranking, the page's rows and their snippets."""
    text = text.replace("\x00", "").strip()
    words = full_text.search_words(text)
    conversations = scoped_conversations(scope=scope, show=show)
    contact = contact_filter(scope=scope, text=text)
    number = Q(order_number__iexact=order_number_in(text))
    found, hits = _matches(scope=scope, text=text)
    ranked = (
        conversations.filter(found)
        .annotate(
            contact=Case(
                When(number, then=Value(2)), When(contact, then=Value(1)), default=Value(0)
            )
        )
        .order_by("-contact", "-escalated", "-last_message_at", "-pk")
        .values_list("pk", "contact")[: full_text.DEPTH + len(hits)]
    )
    scored = []
    for position, (pk, contact_score) in enumerate(ranked):
        hit = hits.get(pk)
        scored.append((-(contact_score + (hit.rank if hit else 0)), position, pk))
    scored.sort()
    start = _search_position(cursor)
    chosen = [pk for _, _, pk in scored[start : start + size]]
    by_pk = conversations.select_related("open_dispute").in_bulk(chosen)
    rows = [by_pk[pk] for pk in chosen if pk in by_pk]
    matches = full_text.snippets(
        words=words, message_ids=[hits[row.pk].message_id for row in rows if row.pk in hits]
    )
    for row in rows:
        row.search_match = matches.get(hits[row.pk].message_id) if row.pk in hits else None
    page = BackofficePage(rows=rows)
    if len(scored) > start + size:
        page.next_cursor = f"s{start + size}"
    return page


def _search_position(cursor: str | None) -> int:
    """Where a page of search results starts (cursors "s<position>"); 0 for anything else
    ("s²" too: ``isdigit`` would take it, ``int`` not)."""
    found = re.fullmatch(r"s([0-9]{1,8})", cursor or "")
    return int(found.group(1)) if found else 0


def _awaiting_page(conversations: QuerySet, *, cursor: str | None, size: int) -> BackofficePage:
    """The customers waiting for an answer, the longest waiting first (om_conv_awaiting)."""
    conversations = conversations.order_by("awaiting_since", "pk")
    position = decode_cursor(cursor, "a")
    if position is not None:
        conversations = conversations.filter(after(position, "awaiting_since", ascending=True))
    rows = list(conversations[: size + 1])
    page = BackofficePage(rows=rows[:size])
    if len(rows) > size:
        last = rows[size - 1]
        page.next_cursor = encode_cursor("a", last.awaiting_since, last.pk)
    return page
