"""Who may see what. ``access_*`` functions raise ``Http404`` when the user may not see the
thing at all (so its existence is not revealed); ``check_*`` functions raise
``PermissionDenied`` when they may see it but not do the action. Actions trust what these
return."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext

from ..adapter import Order, SubOrder, get_adapter
from ..models import Role
from ..routing import conversation_targets


@dataclass(frozen=True)
class Actor:
    """Who does something: a user (None for a guest), the role they act in, their name."""

    user: object
    role: str
    name: str


@dataclass(frozen=True)
class OrderAccess:
    """What one person may see of one order's conversations."""

    order: Order
    user: object
    is_customer: bool
    vendor_keys: frozenset[str]
    can_manage: bool
    sub_orders: list[SubOrder]

    def sub_order(self, vendor_key: str) -> SubOrder:
        found = next((s for s in self.sub_orders if s.vendor_key == vendor_key), None)
        if found is None:
            raise Http404("No such conversation.")
        return found

    def role_in(self, sub_order: SubOrder) -> str:
        if sub_order.vendor_key in self.vendor_keys:
            return Role.VENDOR
        if self.is_customer:
            return Role.CUSTOMER
        return Role.STAFF

    def actor_in(self, sub_order: SubOrder) -> Actor:
        role = self.role_in(sub_order)
        if self.user is not None and self.user.is_authenticated:
            return Actor(self.user, role, get_adapter().get_display_name(self.user))
        return Actor(None, role, self.order.customer_name)

    def may_handle_disputes(self, sub_order: SubOrder) -> bool:
        """Customers and store staff open and close disputes; vendors do not (S7, S8, B2)."""
        return self.role_in(sub_order) in (Role.CUSTOMER, Role.STAFF)


def access_order(*, user, order_number: str, guest_orders: Collection[str] = ()) -> OrderAccess:
    """The conversations of an order this user may see, or Http404."""
    if "\x00" in order_number:  # no order has one, and PostgreSQL could not look it up
        raise Http404("No such order.")
    adapter = get_adapter()
    order = adapter.get_order(order_number)
    if order is None:
        raise Http404("No such order.")
    authenticated = user is not None and user.is_authenticated
    is_customer = (authenticated and order.customer_id == user.pk) or (order.number in guest_orders)
    vendor_keys = frozenset(adapter.get_user_vendor_keys(user)) if authenticated else frozenset()
    can_manage = authenticated and adapter.can_manage_conversations(user)
    targets = conversation_targets(order)
    if not (is_customer or can_manage):
        targets = [t for t in targets if t.vendor_key in vendor_keys]
    if not targets:
        raise Http404("No such order.")
    return OrderAccess(
        order=order,
        user=user if authenticated else None,
        is_customer=is_customer,
        vendor_keys=vendor_keys,
        can_manage=can_manage,
        sub_orders=targets,
    )


def check_may_handle_disputes(*, access: OrderAccess, sub_order: SubOrder) -> None:
    if not access.may_handle_disputes(sub_order):
        raise PermissionDenied(gettext("Only the customer and the store handle disputes."))
