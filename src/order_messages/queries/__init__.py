"""Reads, and the access checks that come before every read or action."""

from .access import Actor, OrderAccess, access_order, check_may_handle_disputes
from .backoffice import (
    BackofficePage,
    Scope,
    access_backoffice,
    backoffice_page,
    in_backoffice,
    scoped_conversations,
)
from .counts import unread_by_order, unread_total
from .dashboard import Dashboard, Day, MailProblems, NewDispute, dashboard, mail_problems
from .inbox import InboxPage, inbox_page
from .threads import Tab, ThreadPage, order_tabs, thread_page

__all__ = [
    "BackofficePage",
    "Scope",
    "access_backoffice",
    "backoffice_page",
    "in_backoffice",
    "scoped_conversations",
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
    "Dashboard",
    "Day",
    "NewDispute",
    "dashboard",
    "MailProblems",
    "mail_problems",
]
