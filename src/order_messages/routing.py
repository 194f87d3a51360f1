"""Who talks about an order: which conversations it has and who answers in each (C1–C3)."""

from __future__ import annotations

from .adapter import STORE, Order, SubOrder, get_adapter
from .conf import app_settings
from .models import Role


def conversation_targets(order: Order) -> list[SubOrder]:
    """The sub-orders that each get a conversation, in display order."""
    mode = app_settings.MODE
    per_vendor = mode == "separate" or (
        mode == "warehouse" and app_settings.ALLOW_VENDOR_COMMUNICATION
    )
    if per_vendor and order.sub_orders:
        return list(order.sub_orders)
    items = tuple(item for sub in order.sub_orders for item in sub.items)
    return [SubOrder(vendor_key=STORE, vendor_name=get_adapter().get_store_name(), items=items)]


def answerers(vendor_key: str) -> tuple[list, Role]:
    """The users who answer a conversation, and the role they post with."""
    adapter = get_adapter()
    if vendor_key == STORE:
        return adapter.get_store_staff(), Role.STAFF
    return adapter.get_vendor_staff(vendor_key), Role.VENDOR
