"""How the demo store answers django-order-messages (ORDER_MESSAGES_ADAPTER)."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.urls import reverse

from order_messages.adapter import STORE, Item, Order, StoreAdapter, SubOrder

from . import models
from .formats import money

STORE_NAME = "Demo Marketplace"


class DemoStoreAdapter(StoreAdapter):
    def get_order(self, number):
        # Every page about an order and every post asks for it: one query, the items with
        # their order and vendor, where the order has items.
        items = list(
            models.OrderItem.objects.filter(order__number=number)
            .select_related("order", "vendor")
            .order_by("pk")
        )
        if items:
            return self.to_order(items[0].order, items=items)
        order = self._orders().filter(number=number).first()
        return None if order is None else self.to_order(order)

    def get_orders(self, numbers):
        # An inbox page asks for all its orders at once: two queries, whatever its length.
        return {o.number: self.to_order(o) for o in self._orders().filter(number__in=numbers)}

    def list_orders(self, *, vendor_keys, offset=0, limit=50):
        # Two queries a page: the orders, then their items with their vendors.
        orders = self._orders().order_by("-placed_at", "-pk")
        if vendor_keys is not None:
            keys = set(vendor_keys)
            # STORE stands for the store's own items: those without a vendor.
            mine = Q(vendor__slug__in=keys - {STORE})
            if STORE in keys:
                mine |= Q(vendor__isnull=True)
            items = models.OrderItem.objects.filter(mine, order=OuterRef("pk"))
            orders = orders.filter(Exists(items))
        return [self.to_order(o) for o in orders[offset : offset + limit]]

    def _orders(self):
        items = models.OrderItem.objects.select_related("vendor").order_by("pk")
        return models.Order.objects.prefetch_related(Prefetch("items", queryset=items))

    def to_order(self, order: models.Order, *, items=None) -> Order:
        """The order as the app sees it; ``items``: its items, when read already."""
        items = list(order.items.all()) if items is None else items
        groups: dict[str, list] = {}
        names: dict[str, str] = {}
        for item in items:
            key = item.vendor.slug if item.vendor else STORE
            names[key] = item.vendor.name if item.vendor else STORE_NAME
            groups.setdefault(key, []).append(
                # The line's price: its whole quantity, as the order's total adds it up.
                Item(item.name, item.quantity, price=money(item.price * item.quantity))
            )
        # Vendors first, in the order their items were added; the store's own items last.
        keys = sorted(groups, key=lambda k: k == STORE)
        return Order(
            number=order.number,
            customer_id=order.customer_id,
            customer_email=order.email,
            customer_name=order.name,
            sub_orders=tuple(SubOrder(k, names[k], tuple(groups[k])) for k in keys),
            url=order.get_absolute_url(),
            placed_at=order.placed_at,
            status=str(order.status_label),
            total=money(sum((item.price * item.quantity for item in items), 0)),
        )

    def get_vendor_staff(self, vendor_key):
        return list(get_user_model().objects.filter(vendors__slug=vendor_key, is_active=True))

    def get_user_vendor_keys(self, user):
        # Asked on every order page; remembered on the user object for the request.
        if not hasattr(user, "_demo_vendor_keys"):
            user._demo_vendor_keys = set(user.vendors.values_list("slug", flat=True))
        return user._demo_vendor_keys

    def get_store_staff(self):
        # The same people as can_manage_conversations: someone holding the permission on a
        # customer account must not join disputes they cannot open.
        return [u for u in super().get_store_staff() if u.is_staff or u.is_superuser]

    def can_manage_conversations(self, user):
        # The demo's store staff are staff accounts: customers and vendors are answered
        # without loading their permissions (two queries on every page).
        return bool(
            user.is_authenticated
            and user.is_active
            and (user.is_superuser or user.is_staff)
            and super().can_manage_conversations(user)
        )

    def get_store_name(self):
        return STORE_NAME

    def get_customer_orders_url(self, user):
        return reverse("store:my_orders")

    def count_orders(self, *, since):
        # An order with items of two vendors counts once for each; the store's own items
        # count for STORE. One query over the period's orders.
        rows = (
            models.OrderItem.objects.filter(order__placed_at__gte=since)
            .values("vendor__slug")
            .annotate(n=Count("order", distinct=True))
            .order_by()
            .values_list("vendor__slug", "n")
        )
        return {slug or STORE: n for slug, n in rows}
