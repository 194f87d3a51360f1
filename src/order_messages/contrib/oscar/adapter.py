"""The adapter for a store built on django-oscar.

Oscar already models a marketplace: an order's lines name their fulfilment partner, and a
partner has users. A partner is a vendor (its ``code`` is the vendor key), the partner's
users answer for it, and Oscar's dashboard staff (``is_staff``) are the store's staff.

What Oscar does not have gets a default a store overrides in a subclass:

- the store's own items: lines of the partners named in
  ``ORDER_MESSAGES_OSCAR_STORE_PARTNERS`` (partner codes), and lines whose partner was
  deleted, form the store's sub-order, answered by store staff;
- the store's name: ``OSCAR_SHOP_NAME``;
- a customer's name: their account's full name, else the shipping (or billing) address's,
  else the order's e-mail address, or "Customer" where that address is masked from vendors
  (``ORDER_MESSAGES_MASK_CONTACTS``, the default): vendors are shown the name.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    Value,
    When,
)
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from oscar.core.loading import get_model
from oscar.templatetags.currency_filters import currency

from ...adapter import STORE, Item, Order, StoreAdapter, SubOrder
from ...conf import app_settings

logger = logging.getLogger(__name__)


class OscarAdapter(StoreAdapter):
    base_template = "order_messages/oscar/base.html"

    # -- orders -------------------------------------------------------------------------
    def get_order(self, number):
        order = self.orders().filter(number=number).first()
        return None if order is None else self.to_order(order)

    def get_orders(self, numbers):
        # A page of conversations asks for all its orders at once: a fixed number of
        # queries, whatever its length.
        return {o.number: self.to_order(o) for o in self.orders().filter(number__in=numbers)}

    def list_orders(self, *, vendor_keys, offset=0, limit=50):
        # A fixed number of queries a page: the orders, then what ``to_order`` reads.
        orders = self.orders().order_by("-date_placed", "-pk")
        if vendor_keys is not None:
            keys = set(vendor_keys)
            Line = get_model("order", "Line")
            mine = Q(partner__code__in=keys - {STORE})
            if STORE in keys:
                # The store's own items: its partners' lines, and those of deleted partners.
                store = self.store_partner_codes() | {STORE}
                mine |= Q(partner__isnull=True) | Q(partner__code__in=store)
            else:
                mine &= ~Q(partner__code__in=self.store_partner_codes())
            orders = orders.filter(Exists(Line.objects.filter(mine, order=OuterRef("pk"))))
        return [self.to_order(o) for o in orders[offset : offset + limit]]

    def orders(self):
        """Oscar's orders with what ``to_order`` reads."""
        OscarOrder = get_model("order", "Order")
        Line = get_model("order", "Line")
        lines = Line.objects.select_related("partner", "product").order_by("pk")
        return OscarOrder._default_manager.select_related(
            "user", "shipping_address", "billing_address"
        ).prefetch_related(Prefetch("lines", queryset=lines))

    def store_partner_codes(self) -> frozenset[str]:
        """Codes of the partners whose lines are the store's own items."""
        return frozenset(app_settings.OSCAR_STORE_PARTNERS)

    def vendor_of(self, line) -> tuple[str, str]:
        """The vendor key and name a line belongs to."""
        partner = line.partner
        # A partner whose code is the store's own key ("store") sells for the store.
        if partner is None or partner.code == STORE or partner.code in self.store_partner_codes():
            return STORE, self.get_store_name()
        return partner.code, partner.name or line.partner_name

    def to_order(self, order) -> Order:
        groups: dict[str, list[Item]] = {}
        names: dict[str, str] = {}
        for line in order.lines.all():
            key, name = self.vendor_of(line)
            names[key] = name
            groups.setdefault(key, []).append(
                Item(
                    name=line.title,
                    quantity=line.quantity,
                    price=currency(line.line_price_incl_tax, order.currency),
                    url=self.product_url(line.product),
                )
            )
        # Partners in the order their lines were added; the store's own items last.
        keys = sorted(groups, key=lambda k: k == STORE)
        return Order(
            number=order.number,
            customer_id=order.user_id,
            customer_email=order.email,
            customer_name=self.customer_name(order),
            sub_orders=tuple(SubOrder(k, names[k], tuple(groups[k])) for k in keys),
            url=self.order_url(order),
            placed_at=order.date_placed,
            status=order.status or "",
            total=currency(order.total_incl_tax, order.currency),
        )

    def customer_name(self, order) -> str:
        if order.user is not None:
            name = order.user.get_full_name()
            if name:
                return name
        for address in (order.shipping_address, order.billing_address):
            if address is not None and address.name:
                return address.name
        return self.nameless_customer(order.email)

    def nameless_customer(self, email: str) -> str:
        """What a customer without any name is called: their e-mail address, unless it is
        masked from vendors (ORDER_MESSAGES_MASK_CONTACTS), who are shown the name."""
        return gettext("Customer") if app_settings.MASK_CONTACTS else email

    def order_url(self, order) -> str:
        """The customer's page of the order: their order history's, or for a guest Oscar's
        page for anonymous orders (its link carries the order's verification hash)."""
        try:
            if order.user_id is not None:
                return reverse("customer:order", kwargs={"order_number": order.number})
            return reverse(
                "customer:anon-order",
                kwargs={"order_number": order.number, "hash": order.verification_hash()},
            )
        except NoReverseMatch:
            return ""

    def get_customer_orders_url(self, user):
        # Oscar's order history, where its order list shows each order's messages.
        try:
            return reverse("customer:order-list")
        except NoReverseMatch:
            return ""

    def product_url(self, product) -> str:
        if product is None or not product.is_public:
            return ""
        try:
            return product.get_absolute_url()
        except NoReverseMatch:
            return ""

    # -- people -------------------------------------------------------------------------
    def get_vendor_staff(self, vendor_key):
        if vendor_key == STORE or vendor_key in self.store_partner_codes():
            return []  # the store's own items: store staff answer
        return list(
            get_user_model().objects.filter(partners__code=vendor_key, is_active=True).distinct()
        )

    def get_user_vendor_keys(self, user):
        if not user.is_authenticated:
            return set()
        # Asked on every page; remembered on the user object for the request.
        if not hasattr(user, "_order_messages_partners"):
            store = self.store_partner_codes() | {STORE}
            codes = user.partners.values_list("code", flat=True)
            user._order_messages_partners = {code for code in codes if code not in store}
        return user._order_messages_partners

    def get_store_staff(self):
        # The people Oscar lets into its dashboard as staff: the same as
        # can_manage_conversations, so no one joins a dispute they cannot open.
        return list(get_user_model().objects.filter(is_active=True, is_staff=True))

    def can_manage_conversations(self, user):
        return bool(user.is_authenticated and user.is_active and user.is_staff)

    def get_display_name(self, user):
        # Oscar's registration asks for an e-mail address only, and makes up a username.
        # A customer writes under the name their order gives them (policy); this is how
        # staff, partners' users and e-mail greetings name someone.
        name = user.get_full_name()
        if name:
            return name
        if self.can_manage_conversations(user) or self.get_user_vendor_keys(user):
            return user.email or user.get_username()
        return self.nameless_customer(user.email or user.get_username())

    def get_store_name(self):
        return getattr(settings, "OSCAR_SHOP_NAME", "") or gettext("Store")

    # -- figures ------------------------------------------------------------------------
    def count_orders(self, *, since):
        # An order with lines of two partners counts once for each; the store's own
        # lines count for STORE. One query over the period's lines.
        Line = get_model("order", "Line")
        vendor = Case(
            When(Q(partner__isnull=True), then=Value(STORE)),
            When(Q(partner__code__in=self.store_partner_codes()), then=Value(STORE)),
            default=F("partner__code"),
            output_field=CharField(),
        )
        rows = (
            Line.objects.filter(order__date_placed__gte=since)
            .annotate(vendor=vendor)
            .values("vendor")
            .annotate(n=Count("order", distinct=True))
            .order_by()
            .values_list("vendor", "n")
        )
        return dict(rows)

    # -- hooks --------------------------------------------------------------------------
    def dispute_resolved(self, *, dispute, conversation):
        """Records the outcome as a system note on Oscar's order, where the dashboard's
        order page shows it. Subclass to act on it (issue the refund)."""
        OscarOrder = get_model("order", "Order")
        OrderNote = get_model("order", "OrderNote")
        order = OscarOrder._default_manager.filter(number=conversation.order_number).first()
        if order is None:
            return
        text = gettext("Dispute with %(vendor)s resolved: %(outcome)s.") % {
            "vendor": conversation.vendor_name,
            "outcome": dispute.get_outcome_display(),
        }
        if dispute.resolution_note:
            text = f"{text}\n{dispute.resolution_note}"
        OrderNote.objects.create(order=order, note_type=OrderNote.SYSTEM, message=text)
