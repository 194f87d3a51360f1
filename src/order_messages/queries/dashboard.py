"""The back-office dashboard (B3): counters, newly opened and escalated disputes, how fast
each seller answers and 30 days of activity, in a constant number of queries whatever the
number of messages: the daily figures are the worker's roll-up (queries/metrics.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, QuerySet, Window
from django.utils import timezone

from ..models import Conversation, DashboardSeen, Dispute, InboundMail, Notification
from .backoffice import Scope
from .counts import unread_total
from .metrics import DAYS, ResponseFigures, VendorTable, response_figures, utc_today, vendor_table

# On a first visit, disputes of the last week count as new.
FIRST_VISIT_WINDOW = dt.timedelta(days=7)
NEW_DISPUTES_SHOWN = 5
ESCALATED_SHOWN = 5
REASON_EXCERPT = 140


@dataclass(frozen=True)
class Day:
    """One UTC day of the activity chart: the customers' messages and disputes opened."""

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
    # Conversations whose dispute was escalated to the store and is still open, the most
    # recently escalated first (their ``open_dispute`` loaded), and how many there are.
    escalated: list[Conversation]
    escalated_total: int
    # How fast each seller in the scope answers: a vendor's own, or every seller's.
    figures: list[ResponseFigures]
    # Store staff: every seller in one sortable table.
    table: VendorTable | None = None

    @property
    def new_disputes_more(self) -> int:
        """New disputes beyond the ones listed."""
        return self.new_disputes_total - len(self.new_disputes)

    @property
    def escalated_more(self) -> int:
        return self.escalated_total - len(self.escalated)

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


def activity(figures: list[ResponseFigures], today: dt.date) -> list[Day]:
    """The scope's customer messages and disputes opened per day, summed over its sellers."""
    dates = [today - dt.timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    return [
        Day(
            date,
            sum(f.days[i].customer_messages for f in figures),
            sum(f.days[i].disputes_opened for f in figures),
        )
        for i, date in enumerate(dates)
    ]


def dashboard(*, scope: Scope, today: dt.date | None = None, sort: str = "") -> Dashboard:
    """The dashboard of one back-office user in a constant number of queries: seven and
    the store's count of orders (``sort``: the staff table's column, see vendor_table)."""
    user = scope.user
    now = timezone.now()
    today = today or utc_today(now)

    seen_at = (
        DashboardSeen.objects.filter(pk=user.pk).values_list("disputes_seen_at", flat=True).first()
    ) or now - FIRST_VISIT_WINDOW

    # The header badge's count: one primary-key read. For store staff it is the sum over
    # their conversations; a vendor's also counts those they take part in as a customer.
    # Summing the scope's participant rows instead reads every conversation of the vendor
    # (0.3 s for the largest vendor at 10^7 messages, BENCHMARKS.md).
    unread = unread_total(user)

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
    escalated = list(
        scope.conversations()
        .filter(open_dispute__isnull=False, escalated=True)
        .select_related("open_dispute")
        .order_by("-open_dispute__escalated_at", "-pk")[:ESCALATED_SHOWN]
    )
    figures = response_figures(vendor_keys=scope.figure_keys, today=today, now=now)

    return Dashboard(
        unread=unread,
        open_disputes=sum(f.open_disputes for f in figures),
        new_disputes=[NewDispute(d, excerpt(d.reason)) for d in new],
        new_disputes_total=new[0].total if new else 0,
        seen_at=seen_at,
        as_of=now,
        days=activity(figures, today),
        escalated=escalated,
        escalated_total=sum(f.escalated_disputes for f in figures),
        figures=figures,
        table=vendor_table(figures=figures, sort=sort) if scope.is_store else None,
    )


def dashboard_seen_at(*, user) -> dt.datetime | None:
    """Until when the user has seen the dashboard's new disputes; None before a first visit."""
    return (
        DashboardSeen.objects.filter(pk=user.pk).values_list("disputes_seen_at", flat=True).first()
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
