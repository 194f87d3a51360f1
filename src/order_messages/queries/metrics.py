"""How fast each seller answers, over the last 30 days: read from the ResponseDay rows the
worker rolls up (actions/metrics.py), never from the messages, so that a page costs the
same at ten million messages as at ten thousand (metrics.py has the arithmetic)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.formats import number_format

from ..adapter import STORE, get_adapter
from ..metrics import (
    DAY,
    duration_text,
    empty_histogram,
    merge_histograms,
    percent_text,
    quantile,
    share,
)
from ..models import Conversation, ResponseDay
from ..policy import Scope

DAYS = 30


def first_day(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=DAYS - 1)


def start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def utc_today(now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(dt.UTC).date()


@dataclass(frozen=True)
class DayFigures:
    """One seller's (or several sellers' summed) answers on one UTC day."""

    date: dt.date
    customer_messages: int = 0
    answered_within_day: int = 0
    # Customer messages of that day still waiting, for less than a day: they may yet be
    # answered in time, so they do not count against the share.
    pending: int = 0
    responses: int = 0
    histogram: Sequence[int] = field(default_factory=empty_histogram)
    disputes_opened: int = 0
    disputes_escalated: int = 0
    disputes_resolved: int = 0

    @cached_property
    def median(self) -> float | None:
        return quantile(self.histogram, 0.5)

    @cached_property
    def p90(self) -> float | None:
        return quantile(self.histogram, 0.9)

    @cached_property
    def within_day_share(self) -> float | None:
        return share(self.answered_within_day, self.customer_messages - self.pending)

    @cached_property
    def median_text(self) -> str:
        return duration_text(self.median)

    @cached_property
    def p90_text(self) -> str:
        return duration_text(self.p90)

    @cached_property
    def within_day_text(self) -> str:
        return percent_text(self.within_day_share)


def sum_days(date: dt.date, days: Sequence[DayFigures]) -> DayFigures:
    return DayFigures(
        date=date,
        customer_messages=sum(d.customer_messages for d in days),
        answered_within_day=sum(d.answered_within_day for d in days),
        pending=sum(d.pending for d in days),
        responses=sum(d.responses for d in days),
        histogram=merge_histograms(d.histogram for d in days),
        disputes_opened=sum(d.disputes_opened for d in days),
        disputes_escalated=sum(d.disputes_escalated for d in days),
        disputes_resolved=sum(d.disputes_resolved for d in days),
    )


@dataclass(frozen=True)
class ResponseFigures:
    """One seller's figures over the last DAYS days: ``days`` oldest first, quiet days
    included; the disputes open now; ``orders`` placed in the period as the store counts
    them (None: the store does not say)."""

    vendor_key: str
    vendor_name: str
    days: list[DayFigures]
    open_disputes: int = 0
    escalated_disputes: int = 0
    orders: int | None = None

    @cached_property
    def total(self) -> DayFigures:
        return sum_days(self.days[-1].date, self.days)

    @property
    def first_date(self) -> dt.date:
        return self.days[0].date

    @property
    def last_date(self) -> dt.date:
        return self.days[-1].date

    @property
    def median(self) -> float | None:
        return self.total.median

    @property
    def p90(self) -> float | None:
        return self.total.p90

    @property
    def within_day_share(self) -> float | None:
        return self.total.within_day_share

    @property
    def disputes_per_100_orders(self) -> float | None:
        if not self.orders:
            return None
        return self.total.disputes_opened / self.orders * 100

    @property
    def median_text(self) -> str:
        return self.total.median_text

    @property
    def p90_text(self) -> str:
        return self.total.p90_text

    @property
    def within_day_text(self) -> str:
        return self.total.within_day_text

    @property
    def rate_text(self) -> str:
        rate = self.disputes_per_100_orders
        return "—" if rate is None else number_format(round(rate, 1), 1)

    @property
    def is_store(self) -> bool:
        return self.vendor_key == STORE

    @property
    def has_answers(self) -> bool:
        return any(d.responses for d in self.days)


def read_days(
    *, vendor_keys: Collection[str] | None, today: dt.date
) -> tuple[dict[str, dict[dt.date, DayFigures]], dict[str, str]]:
    """The ResponseDay rows of the period: {vendor key: {date: figures}}, and each
    seller's newest name. One query of at most DAYS rows per seller."""
    rows = ResponseDay.objects.filter(day__gte=first_day(today), day__lte=today)
    if vendor_keys is not None:
        rows = rows.filter(vendor_key__in=list(vendor_keys))
    found: dict[str, dict[dt.date, DayFigures]] = {}
    names: dict[str, str] = {}
    for vendor_key, vendor_name, day, histogram, *counts in rows.order_by("day").values_list(
        "vendor_key",
        "vendor_name",
        "day",
        "response_histogram",
        "customer_messages",
        "answered_within_day",
        "responses",
        "disputes_opened",
        "disputes_escalated",
        "disputes_resolved",
    ):
        names[vendor_key] = vendor_name
        messages, answered, responses, opened, escalated, resolved = counts
        found.setdefault(vendor_key, {})[day] = DayFigures(
            date=day,
            customer_messages=messages,
            answered_within_day=answered,
            responses=responses,
            histogram=merge_histograms([histogram]),
            disputes_opened=opened,
            disputes_escalated=escalated,
            disputes_resolved=resolved,
        )
    return found, names


def waiting(
    *, vendor_keys: Collection[str] | None, now: dt.datetime
) -> dict[tuple[str, dt.date], int]:
    """Customer messages waiting for an answer for less than a day, per seller and day
    the wait began: one query over the conversations waiting since then (indexed)."""
    rows = Conversation.objects.filter(awaiting_since__gt=now - dt.timedelta(seconds=DAY))
    if vendor_keys is not None:
        rows = rows.filter(vendor_key__in=list(vendor_keys))
    rows = (
        rows.annotate(day=TruncDate("awaiting_since", tzinfo=dt.UTC))
        .values("vendor_key", "day")
        .annotate(n=Sum("awaiting_count"))
        .order_by()
        .values_list("vendor_key", "day", "n")
    )
    return {(vendor_key, day): n for vendor_key, day, n in rows}


def disputes_now(*, vendor_keys: Collection[str] | None) -> dict[str, tuple[int, int]]:
    """{vendor key: (open disputes, escalated ones)}: one count over the partial index of
    conversations with an open dispute, which holds both columns (an index-only scan)."""
    rows = Conversation.objects.filter(open_dispute__isnull=False)
    if vendor_keys is not None:
        rows = rows.filter(vendor_key__in=list(vendor_keys))
    rows = (
        rows.values("vendor_key", "escalated")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("vendor_key", "escalated", "n")
    )
    found: dict[str, tuple[int, int]] = {}
    for vendor_key, escalated, n in rows:
        n_open, n_escalated = found.get(vendor_key, (0, 0))
        found[vendor_key] = (n_open + n, n_escalated + (n if escalated else 0))
    return found


def names_of(vendor_keys: Collection[str]) -> dict[str, str]:
    """The names of sellers with no activity in the period (one with a dispute open since
    longer): asked only for those, rarely."""
    if not vendor_keys:
        return {}
    rows = (
        Conversation.objects.filter(vendor_key__in=list(vendor_keys))
        .values("vendor_key")
        .annotate(name=Max("vendor_name"))
        .order_by()
        .values_list("vendor_key", "name")
    )
    return dict(rows)


def response_figures(
    *,
    vendor_keys: Collection[str] | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> list[ResponseFigures]:
    """The figures of these sellers (each, even without any activity), or with None of
    every seller with activity in the period or a dispute open now. Three queries and the
    store's count of orders, whatever the number of messages."""
    now = now or timezone.now()
    today = today or utc_today(now)
    found, names = read_days(vendor_keys=vendor_keys, today=today)
    pending = waiting(vendor_keys=vendor_keys, now=now)
    disputes = disputes_now(vendor_keys=vendor_keys)
    orders = get_adapter().count_orders(since=start_of(first_day(today)))
    keys = list(vendor_keys) if vendor_keys is not None else sorted(found.keys() | disputes.keys())
    dates = [first_day(today) + dt.timedelta(days=i) for i in range(DAYS)]
    store_name = get_adapter().get_store_name()
    if vendor_keys is None:  # a vendor's own page asks for its name itself
        names.update(names_of({k for k in disputes if k not in names and k != STORE}))
    figures = []
    for vendor_key in keys:
        rows = found.get(vendor_key, {})
        days = []
        for date in dates:
            day = rows.get(date) or DayFigures(date=date)
            if n := pending.get((vendor_key, date)):
                day = replace(day, pending=n)
            days.append(day)
        n_open, n_escalated = disputes.get(vendor_key, (0, 0))
        name = store_name if vendor_key == STORE else names.get(vendor_key, vendor_key)
        figures.append(
            ResponseFigures(
                vendor_key=vendor_key,
                vendor_name=name,
                days=days,
                open_disputes=n_open,
                escalated_disputes=n_escalated,
                orders=None if orders is None else orders.get(vendor_key, 0),
            )
        )
    return figures


def vendor_figures(
    *, scope: Scope, vendor_key: str, today: dt.date | None = None
) -> ResponseFigures | None:
    """One seller's figures, or None for a vendor key the store never had a conversation
    with and that is not one of the scope's own (the vendor page answers 404). Five
    queries and the store's count of orders."""
    [figures] = response_figures(vendor_keys=[vendor_key], today=today)
    if vendor_key == STORE:
        return figures
    # Asked even when the figures have a name, so that the page costs the same either way.
    name = (
        Conversation.objects.filter(vendor_key=vendor_key)
        .order_by()
        .values_list("vendor_name", flat=True)[:1]
    )
    name = next(iter(name), None)
    if figures.vendor_name != vendor_key:  # the roll-up's, the newest
        return figures
    if name is None:
        return figures if vendor_key in scope.vendor_keys else None
    return replace(figures, vendor_name=name)


# -- the staff's table of every seller ------------------------------------------------------

SORTS = {
    "vendor": lambda f: f.vendor_name.casefold(),
    "median": lambda f: f.median,
    "p90": lambda f: f.p90,
    "answered": lambda f: f.within_day_share,
    "open": lambda f: f.open_disputes,
    "escalated": lambda f: f.escalated_disputes,
    "rate": lambda f: f.disputes_per_100_orders,
}


@dataclass(frozen=True)
class SortLink:
    """A column header's link, and how the table is sorted by it now (for aria-sort)."""

    query: str
    state: str  # "ascending", "descending" or "none"


@dataclass(frozen=True)
class VendorTable:
    rows: list[ResponseFigures]
    sort: str
    descending: bool
    columns: dict[str, SortLink]
    # The store counts its orders: the disputes-per-100-orders column is shown.
    has_orders: bool


def vendor_table(*, figures: list[ResponseFigures], sort: str = "") -> VendorTable:
    """The sellers sorted by one column (``"median"``, or ``"-median"`` for descending).
    Sellers without a value for it come last either way, then by name."""
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    if key not in SORTS:
        key, descending = "vendor", False
    by = SORTS[key]
    by_name = sorted(figures, key=lambda f: (f.vendor_name.casefold(), f.vendor_key))
    present = [f for f in by_name if by(f) is not None]
    present.sort(key=by, reverse=descending)  # stable: equals stay in name order
    rows = present + [f for f in by_name if by(f) is None]
    columns = {}
    for name in SORTS:
        if name != key:
            columns[name] = SortLink(query=f"sort={name}", state="none")
        elif descending:
            columns[name] = SortLink(query=f"sort={name}", state="descending")
        else:
            columns[name] = SortLink(query=f"sort=-{name}", state="ascending")
    return VendorTable(
        rows=rows,
        sort=key,
        descending=descending,
        columns=columns,
        has_orders=any(f.orders is not None for f in figures),
    )
