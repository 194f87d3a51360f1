"""Reads, and (from the policy) the access checks that come before every read or action."""

from ..policy import (
    Actor,
    Scope,
    Viewer,
    access_backoffice,
    access_order,
    access_saved_reply,
    access_vendor_figures,
    check_may_handle_disputes,
    check_may_share_reply,
    in_backoffice,
    may_edit_saved_reply,
    may_share_replies,
)
from .attachments import pending_uploads, with_files
from .backoffice import BackofficePage, backoffice_page, scoped_conversations
from .counts import unread_by_order, unread_total
from .dashboard import Dashboard, Day, MailProblems, NewDispute, dashboard, mail_problems
from .inbox import InboxPage, inbox_page
from .metrics import ResponseFigures, VendorTable, response_figures, vendor_figures, vendor_table
from .saved_replies import (
    SavedRepliesPage,
    fill_placeholders,
    reply_menu,
    saved_replies_page,
    usable_replies,
)
from .threads import (
    Tab,
    ThreadPage,
    customer_left_out,
    messages_between,
    order_tabs,
    thread_page,
)

__all__ = [
    "BackofficePage",
    "Scope",
    "access_backoffice",
    "backoffice_page",
    "in_backoffice",
    "scoped_conversations",
    "Actor",
    "InboxPage",
    "Viewer",
    "Tab",
    "ThreadPage",
    "access_order",
    "check_may_handle_disputes",
    "inbox_page",
    "customer_left_out",
    "order_tabs",
    "messages_between",
    "thread_page",
    "unread_by_order",
    "unread_total",
    "pending_uploads",
    "with_files",
    "Dashboard",
    "Day",
    "NewDispute",
    "dashboard",
    "MailProblems",
    "mail_problems",
    "access_vendor_figures",
    "ResponseFigures",
    "VendorTable",
    "response_figures",
    "vendor_figures",
    "vendor_table",
    "SavedRepliesPage",
    "access_saved_reply",
    "check_may_share_reply",
    "fill_placeholders",
    "may_edit_saved_reply",
    "may_share_replies",
    "reply_menu",
    "saved_replies_page",
    "usable_replies",
]
