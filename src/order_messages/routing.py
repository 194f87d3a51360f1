"""Who talks about an order: which conversations it has and who answers in each (C1–C3)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .adapter import STORE, Order, SubOrder, get_adapter
from .conf import app_settings

MODES = ("separate", "warehouse", "single")


def vendors_take_part() -> bool:
    """True when each vendor has its own conversation about its part of an order."""
    mode = app_settings.MODE
    if mode not in MODES:
        # A typo would otherwise quietly take every vendor out of every conversation.
        raise ImproperlyConfigured(
            f"ORDER_MESSAGES_MODE must be one of {', '.join(MODES)}, not {mode!r}."
        )
    return mode == "separate" or (mode == "warehouse" and app_settings.ALLOW_VENDOR_COMMUNICATION)


def conversation_targets(order: Order) -> list[SubOrder]:
    """The sub-orders that each get a conversation, in display order."""
    if vendors_take_part() and order.sub_orders:
        return list(order.sub_orders)
    items = tuple(item for sub in order.sub_orders for item in sub.items)
    return [SubOrder(vendor_key=STORE, vendor_name=get_adapter().get_store_name(), items=items)]
