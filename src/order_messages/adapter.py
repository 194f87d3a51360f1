"""The host store's side of the contract.

The app does not own orders, vendors or customers. A store subclasses ``StoreAdapter``,
names it in ``ORDER_MESSAGES_ADAPTER`` and translates its own models into the small value
types below. Everything store-specific lives here rather than in settings flags.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.module_loading import import_string

from .conf import app_settings

#: Vendor key of the sub-order made of items the store sells itself.
STORE = "store"


@dataclass(frozen=True)
class Item:
    name: str
    quantity: int
    # The line's price (its whole quantity), formatted by the store with its currency.
    price: str = ""
    url: str = ""


@dataclass(frozen=True)
class SubOrder:
    """The part of an order one vendor (or the store, ``vendor_key == STORE``) fulfils."""

    vendor_key: str
    vendor_name: str
    items: Sequence[Item] = ()


@dataclass(frozen=True)
class Order:
    number: str
    customer_id: int | None
    customer_email: str
    customer_name: str
    sub_orders: Sequence[SubOrder] = field(default_factory=tuple)
    url: str = ""
    placed_at: object = None
    status: str = ""
    total: str = ""

    def sub_order(self, vendor_key: str) -> SubOrder | None:
        return next((s for s in self.sub_orders if s.vendor_key == vendor_key), None)


class StoreAdapter:
    """Default adapter: a single store without orders. Subclass it in the host store."""

    #: The template the app's pages extend, unless ``ORDER_MESSAGES_BASE_TEMPLATE`` names one.
    base_template = "base.html"

    # -- orders -------------------------------------------------------------------------
    def get_order(self, number: str) -> Order | None:
        """The order with this number, or None. Called once per page."""
        return None

    def get_orders(self, numbers: Iterable[str]) -> dict[str, Order]:
        """Several orders at once (inbox pages). Override to batch the lookups."""
        return {n: o for n in numbers if (o := self.get_order(n)) is not None}

    def list_orders(
        self, *, vendor_keys: Collection[str] | None, offset: int = 0, limit: int = 50
    ) -> Sequence[Order]:
        """A page of orders for the back office's order list, newest first: those with
        items of one of ``vendor_keys`` (a vendor's staff), or every order for ``None``
        (the store's staff). ``STORE`` among the keys stands for the store's own items.
        Default: none (the store does not list its orders here)."""
        return []

    # -- people -------------------------------------------------------------------------
    def get_vendor_staff(self, vendor_key: str) -> list:
        """Users who answer for a vendor."""
        return []

    def get_user_vendor_keys(self, user) -> set[str]:
        """Keys of the vendors this user works for (empty for customers)."""
        return set()

    def get_store_staff(self) -> list:
        """Users who answer for the store: those allowed to manage conversations."""
        User = get_user_model()
        perm = Q(
            user_permissions__codename="manage_conversations",
            user_permissions__content_type__app_label="order_messages",
        ) | Q(
            groups__permissions__codename="manage_conversations",
            groups__permissions__content_type__app_label="order_messages",
        )
        return list(
            User.objects.filter(is_active=True).filter(perm | Q(is_superuser=True)).distinct()
        )

    def can_manage_conversations(self, user) -> bool:
        return bool(user.is_authenticated and user.has_perm("order_messages.manage_conversations"))

    def get_display_name(self, user) -> str:
        return user.get_full_name() or user.get_username()

    def get_store_name(self) -> str:
        return "Store"

    def get_user_language(self, user) -> str | None:
        """The language of e-mails to this user, e.g. "de"; None: ``LANGUAGE_CODE``.
        A language chosen on the e-mail preferences page comes first."""
        return None

    # -- URLs ---------------------------------------------------------------------------
    def get_order_url(self, order: Order) -> str:
        return order.url

    def get_customer_orders_url(self, user) -> str:
        """The page listing this customer's orders ("My orders"), or "": the customer's
        Messages page shows it as a tab beside its own, as the orders page does."""
        return ""

    # -- figures ------------------------------------------------------------------------
    def count_orders(self, *, since) -> dict[str, int] | None:
        """Orders placed since ``since`` per vendor key (``STORE`` for the store's own
        items), for "disputes per 100 orders" on the dashboard. None: not known (the
        figure is not shown)."""
        return None

    # -- hooks --------------------------------------------------------------------------
    def dispute_resolved(self, *, dispute, conversation) -> None:
        """Called once a dispute is resolved and committed: act on ``dispute.outcome``
        (e.g. issue the refund for ``"refunded"``). An error here is logged, never undoes
        the resolution; queue long work rather than doing it in the request."""


@functools.cache
def _adapter_for(path: str) -> StoreAdapter:
    return import_string(path)()


def get_adapter() -> StoreAdapter:
    return _adapter_for(app_settings.ADAPTER)
