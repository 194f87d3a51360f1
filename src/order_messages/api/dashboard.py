"""The back office's dashboard (B3) as figures: counters, disputes opened since my last
visit, escalated disputes, 30 days of activity and how fast each seller answers; and one
seller's figures. The same queries as the dashboard pages."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from django.http import Http404
from ninja import Field, Path, Query, Router, Schema
from pydantic import AwareDatetime, field_validator

from .. import actions, queries
from ..queries.dashboard import excerpt
from ..queries.metrics import SORTS
from . import present
from .errors import documented
from .schemas import DisputeOut

router = Router(tags=["Dashboard"])

Sort = Literal[tuple(name for key in SORTS for name in (key, f"-{key}"))]  # type: ignore[misc]


class DayOut(Schema):
    date: dt.date = Field(description="A UTC day.")
    messages: int = Field(description="Customers' messages that day.")
    disputes: int = Field(description="Disputes opened that day.")


class SellerDayOut(Schema):
    date: dt.date = Field(description="A UTC day.")
    customer_messages: int
    answered_within_day: int = Field(description="Of those, answered within 24 hours.")
    pending: int = Field(description="Still waiting, for less than a day: not counted against.")
    responses: int = Field(description="The seller's answers that day.")
    median_seconds: float | None = Field(
        description="Median time to answer; null without answers or beyond a week."
    )
    p90_seconds: float | None = Field(description="90th percentile; null as the median.")
    disputes_opened: int
    disputes_escalated: int
    disputes_resolved: int


class SellerFiguresOut(Schema):
    """How fast one seller answers over the last 30 days (the roll-up of the worker)."""

    vendor_key: str = Field(description='"store" for the store\'s own sales.')
    vendor_name: str
    is_store: bool
    open_disputes: int = Field(description="Open now (escalated ones included).")
    escalated_disputes: int = Field(description="Open now and escalated to the store's staff.")
    orders: int | None = Field(
        description="Orders in the period; null when the store does not say."
    )
    median_seconds: float | None = Field(
        description="Median time to answer over the period; null without answers or beyond "
        "a week (median_text says which)."
    )
    median_text: str = Field(description='As the dashboard shows it: "4 min", "> 1 week", "—".')
    p90_seconds: float | None = Field(description="90th percentile, as median_seconds.")
    p90_text: str
    within_day_share: float | None = Field(
        description="Share (0 to 1) of customers' messages answered within a day; null "
        "without any to count."
    )
    disputes_per_100_orders: float | None = Field(
        description="Disputes opened per 100 orders; null where orders are not known."
    )
    days: list[SellerDayOut] = Field(description="The last 30 UTC days, oldest first.")


class DisputedConversationOut(Schema):
    """A conversation with its dispute, as the dashboard lists them."""

    conversation_id: int
    order_number: str
    vendor_key: str
    vendor_name: str
    title: str
    dispute: DisputeOut
    reason_excerpt: str = Field(description="The reason's start, on one line.")


class MailProblemsOut(Schema):
    failed: int = Field(description="E-mail deliveries that failed for good.")
    unrouted: int = Field(description="Replies by e-mail that could not be routed.")


class DashboardOut(Schema):
    unread: int = Field(description="My unread messages in all conversations (the badge).")
    open_disputes: int = Field(description="Open disputes in my scope.")
    new_disputes: list[DisputedConversationOut] = Field(
        description="The newest few disputes opened since seen_at by someone else."
    )
    new_disputes_total: int = Field(description="How many were opened since seen_at in all.")
    seen_at: dt.datetime = Field(
        description="My last visit as markDashboardSeen recorded it (a week ago before any)."
    )
    as_of: dt.datetime = Field(
        description="When these figures were read: send it to markDashboardSeen once shown."
    )
    days: list[DayOut] = Field(description="The last 30 UTC days, oldest first.")
    escalated: list[DisputedConversationOut] = Field(
        description="Conversations whose dispute was escalated and is still open, the most "
        "recently escalated first (a few)."
    )
    escalated_total: int
    sellers: list[SellerFiguresOut] = Field(
        description="A vendor's own sellers; for store staff every seller with activity or "
        "an open dispute, sorted by ``sort``."
    )
    sort: str | None = Field(
        description="How store staff's sellers are sorted (a column, '-' for descending); "
        "null for vendors."
    )
    mail_problems: MailProblemsOut | None = Field(
        description="For store staff: e-mail to look at; null for vendors."
    )


class SeenIn(Schema):
    as_of: AwareDatetime | None = Field(
        None,
        description="The as_of of the dashboard shown, with its time zone; absent: now. "
        "Never moves back: an older time than the one recorded changes nothing; nor past "
        "now: a later time counts as now.",
    )

    @field_validator("as_of")
    @classmethod
    def in_utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        # Any offset parses, but databases keep theirs within about ±16 hours: the moment
        # is kept, in UTC.
        if value is None:
            return None
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:
            raise ValueError("is outside the years 1 to 9999 in UTC") from None


class SeenOut(Schema):
    seen_at: dt.datetime


def _seconds(value: float | None) -> float | None:
    # JSON has no infinity: "beyond the last bucket" is null, and the text says so.
    return None if value is None or math.isinf(value) else value


def _day(day) -> dict:
    return {
        "date": day.date,
        "customer_messages": day.customer_messages,
        "answered_within_day": day.answered_within_day,
        "pending": day.pending,
        "responses": day.responses,
        "median_seconds": _seconds(day.median),
        "p90_seconds": _seconds(day.p90),
        "disputes_opened": day.disputes_opened,
        "disputes_escalated": day.disputes_escalated,
        "disputes_resolved": day.disputes_resolved,
    }


def _seller(figures) -> dict:
    return {
        "vendor_key": figures.vendor_key,
        "vendor_name": figures.vendor_name,
        "is_store": figures.is_store,
        "open_disputes": figures.open_disputes,
        "escalated_disputes": figures.escalated_disputes,
        "orders": figures.orders,
        "median_seconds": _seconds(figures.median),
        "median_text": str(figures.median_text),
        "p90_seconds": _seconds(figures.p90),
        "p90_text": str(figures.p90_text),
        "within_day_share": figures.within_day_share,
        "disputes_per_100_orders": figures.disputes_per_100_orders,
        "days": [_day(day) for day in figures.days],
    }


def _disputed(conversation, dispute) -> dict:
    return {
        "conversation_id": conversation.pk,
        "order_number": conversation.order_number,
        "vendor_key": conversation.vendor_key,
        "vendor_name": conversation.vendor_name,
        "title": str(conversation.title),
        "dispute": present.dispute(dispute),
        "reason_excerpt": excerpt(dispute.reason),
    }


@router.get(
    "/dashboard",
    **documented({200: DashboardOut}, 401, 403, 422),
    operation_id="getDashboard",
    summary="My dashboard",
)
def get_dashboard(
    request,
    sort: Annotated[
        Sort,
        Query(
            description="Store staff: how to sort the sellers, by a column (vendor, median, "
            "p90, answered, open, escalated, rate), '-' first for descending."
        ),
    ] = "vendor",
):
    """The dashboard page's figures for a vendor's staff (their own) or the store's staff
    (every seller). Reading it does not mark the new disputes seen: call
    ``markDashboardSeen`` with ``as_of`` once they were shown. Customers and staff without
    the ``manage_conversations`` permission get 403."""
    scope = queries.access_backoffice(user=request.auth)
    board = queries.dashboard(scope=scope, sort=sort)
    problems = queries.mail_problems(scope=scope)
    sellers = board.table.rows if board.table else board.figures
    return {
        "unread": board.unread,
        "open_disputes": board.open_disputes,
        "new_disputes": [_disputed(new.conversation, new.dispute) for new in board.new_disputes],
        "new_disputes_total": board.new_disputes_total,
        "seen_at": board.seen_at,
        "as_of": board.as_of,
        "days": [
            {"date": day.date, "messages": day.messages, "disputes": day.disputes}
            for day in board.days
        ],
        "escalated": [_disputed(row, row.open_dispute) for row in board.escalated],
        "escalated_total": board.escalated_total,
        "sellers": [_seller(figures) for figures in sellers],
        "sort": (("-" if board.table.descending else "") + board.table.sort)
        if board.table
        else None,
        "mail_problems": problems and {"failed": problems.failed, "unrouted": problems.unrouted},
    }


@router.post(
    "/dashboard/seen",
    **documented({200: SeenOut}, 400, 401, 403, 413, 422),
    operation_id="markDashboardSeen",
    summary="Mark the dashboard seen",
)
def mark_dashboard_seen(request, payload: SeenIn | None = None):
    """The disputes opened until ``as_of`` are no longer new to me (what opening the
    dashboard page does)."""
    queries.access_backoffice(user=request.auth)
    at = payload.as_of if payload else None
    actions.mark_dashboard_seen(user=request.auth, at=at)
    seen = queries.dashboard_seen_at(user=request.auth)
    return {"seen_at": seen}


@router.get(
    "/dashboard/vendors/{vendor_key}",
    **documented({200: SellerFiguresOut}, 401, 403, 404, 422),
    operation_id="getVendorFigures",
    summary="One seller's figures",
)
def get_vendor_figures(
    request,
    vendor_key: Annotated[
        str,
        Path(description='A vendor\'s key, or "store".', examples=["bobs-bikes"], max_length=100),
    ],
):
    """How fast one seller answers, day by day (the seller's dashboard page): for store
    staff any seller, for a vendor's staff their own; another vendor's is 404."""
    scope = queries.access_vendor_figures(user=request.auth, vendor_key=vendor_key)
    figures = queries.vendor_figures(scope=scope, vendor_key=vendor_key)
    if figures is None:
        raise Http404("No such vendor.")
    return _seller(figures)
