"""The back-office dashboard (B3): counters, newly opened disputes, 30 days of activity."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, QuerySet, Sum, Window
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..models import DashboardSeen, Dispute, InboundMail, Message, Notification, Participant
from .backoffice import Scope

DAYS = 30
# On a first visit, disputes of the last week count as new.
FIRST_VISIT_WINDOW = dt.timedelta(days=7)
NEW_DISPUTES_SHOWN = 5
REASON_EXCERPT = 140


@dataclass(frozen=True)
class Day:
    date: dt.date
    messages: int
    disputes: int


@dataclass(frozen=True)
class NewDispute:
    dispute: Dispute
    reason_excerpt: str

    @property
    def conversation(self):
        return self.dispute.conversation

    @property
    def opened_by_name(self) -> str:
        return self.dispute.opened_by_name

    @property
    def opened_at(self) -> dt.datetime:
        return self.dispute.opened_at


@dataclass(frozen=True)
class Dashboard:
    unread: int
    open_disputes: int
    # The newest few disputes opened since ``seen_at``, and how many there are in all.
    new_disputes: list[NewDispute]
    new_disputes_total: int
    seen_at: dt.datetime
    # When the figures were read: the next visit's ``seen_at``.
    as_of: dt.datetime
    # The last DAYS UTC dates, oldest first, days without activity included.
    days: list[Day]

    @property
    def new_disputes_more(self) -> int:
        """New disputes beyond the ones listed."""
        return self.new_disputes_total - len(self.new_disputes)

    @property
    def busiest_day(self) -> Day | None:
        """The day with the most messages (the latest of equals), or None without any."""
        busiest = max(reversed(self.days), key=lambda day: day.messages, default=None)
        return busiest if busiest and busiest.messages else None

    @property
    def messages_total(self) -> int:
        return sum(day.messages for day in self.days)

    @property
    def disputes_total(self) -> int:
        return sum(day.disputes for day in self.days)


def in_scope(queryset: QuerySet, scope: Scope) -> QuerySet:
    """Rows of a model with a ``conversation`` key, limited to the scope's conversations."""
    if scope.is_store:  # everything: no need to join
        return queryset
    return queryset.filter(conversation__in=scope.conversations())


def excerpt(text: str, length: int = REASON_EXCERPT) -> str:
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    return text[: length - 1].rstrip() + "…"


def per_day(queryset: QuerySet, field: str, start: dt.datetime, end: dt.datetime) -> dict:
    """{UTC date: rows} for rows whose ``field`` lies in [start, end): one GROUP BY query."""
    rows = (
        queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end})
        .annotate(day=TruncDate(field, tzinfo=dt.UTC))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("day")
        .values_list("day", "n")
    )
    return dict(rows)


def dashboard(*, scope: Scope, today: dt.date | None = None) -> Dashboard:
    """The dashboard of one back-office user, in a constant number of queries (six)."""
    user = scope.user
    now = timezone.now()
    today = today or now.astimezone(dt.UTC).date()

    seen_at = (
        DashboardSeen.objects.filter(pk=user.pk).values_list("disputes_seen_at", flat=True).first()
    ) or now - FIRST_VISIT_WINDOW

    mine = in_scope(Participant.objects.filter(user=user), scope)
    unread = mine.aggregate(n=Sum("unread_count"))["n"] or 0
    open_disputes = scope.conversations().filter(open_dispute__isnull=False).count()

    # A dispute this user opened is no news to them. The window count gives the total in
    # the same query as the newest rows.
    new = list(
        in_scope(Dispute.objects.all(), scope)
        .filter(opened_at__gt=seen_at, opened_at__lte=now)
        .exclude(opened_by=user)
        .select_related("conversation")
        .annotate(total=Window(Count("pk")))
        .order_by("-opened_at", "-pk")[:NEW_DISPUTES_SHOWN]
    )

    start_date = today - dt.timedelta(days=DAYS - 1)
    start = dt.datetime.combine(start_date, dt.time.min, tzinfo=dt.UTC)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    messages = per_day(
        in_scope(Message.objects.filter(kind=Message.Kind.MESSAGE), scope), "created_at", start, end
    )
    disputes = per_day(in_scope(Dispute.objects.all(), scope), "opened_at", start, end)
    dates = [start_date + dt.timedelta(days=i) for i in range(DAYS)]

    return Dashboard(
        unread=unread,
        open_disputes=open_disputes,
        new_disputes=[NewDispute(d, excerpt(d.reason)) for d in new],
        new_disputes_total=new[0].total if new else 0,
        seen_at=seen_at,
        as_of=now,
        days=[Day(d, messages.get(d, 0), disputes.get(d, 0)) for d in dates],
    )


@dataclass(frozen=True)
class MailProblems:
    """E-mail the store's staff should look at: deliveries that failed for good, and
    replies by e-mail that could not be routed (N1, N4)."""

    failed: int
    unrouted: int

    def __bool__(self):
        return bool(self.failed or self.unrouted)


def mail_problems(*, scope: Scope) -> MailProblems | None:
    """None outside the store's staff: vendors do not run the shop's mail."""
    if not scope.is_store:
        return None
    return MailProblems(
        failed=Notification.objects.filter(status=Notification.Status.FAILED).count(),
        unrouted=InboundMail.objects.filter(status=InboundMail.Status.UNROUTED).count(),
    )
