"""The entry of Oscar's dashboard navigation that opens the app's back office.

Added to ``OSCAR_DASHBOARD_NAVIGATION`` when the app starts, unless the store lists an
entry for ``order_messages:inbox`` itself or sets ``ORDER_MESSAGES_OSCAR_DASHBOARD_ENTRY =
False``. Oscar shows it to its staff and to partner users with dashboard access; the back
office then shows each of them what the access policy lets them see.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ...adapter import get_adapter
from ...conf import app_settings


def may_use_back_office(user, url_name, url_args=None, url_kwargs=None) -> bool:
    """Oscar's access function for the entry: store staff and partners' users."""
    if not (user.is_authenticated and user.is_active):
        return False
    adapter = get_adapter()
    return adapter.can_manage_conversations(user) or bool(adapter.get_user_vendor_keys(user))


DASHBOARD_ENTRY = {
    "label": _("Customer messages"),
    "icon": "fas fa-comments",
    "children": [
        {
            "label": _("Conversations"),
            "url_name": "order_messages:inbox",
            "access_fn": may_use_back_office,
        },
        {
            "label": _("Response times"),
            "url_name": "order_messages:dashboard",
            "access_fn": may_use_back_office,
        },
    ],
    "access_fn": may_use_back_office,
}


def _names(entries):
    for entry in entries:
        yield entry.get("url_name")
        yield from _names(entry.get("children", ()))


def add_dashboard_entry() -> None:
    navigation = getattr(settings, "OSCAR_DASHBOARD_NAVIGATION", None)
    if navigation is None or not app_settings.OSCAR_DASHBOARD_ENTRY:
        return
    if "order_messages:inbox" in set(_names(navigation)):
        return
    settings.OSCAR_DASHBOARD_NAVIGATION = [*navigation, DASHBOARD_ENTRY]
