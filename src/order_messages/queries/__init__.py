"""Reads, and the access checks that come before every read or action."""

from .access import Actor, OrderAccess, access_order, check_may_handle_disputes
from .counts import unread_by_order, unread_total
from .inbox import InboxPage, inbox_page
from .threads import Tab, ThreadPage, order_tabs, thread_page

__all__ = [
    "Actor",
    "InboxPage",
    "OrderAccess",
    "Tab",
    "ThreadPage",
    "access_order",
    "check_may_handle_disputes",
    "inbox_page",
    "order_tabs",
    "thread_page",
    "unread_by_order",
    "unread_total",
]
