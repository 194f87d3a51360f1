"""The Oscar demo shop's people, partners, catalogue and orders (idempotent).

The same people, products and order numbers as the demo marketplace (seed_demo), placed
through Oscar's own basket and order creation; the store's own items belong to the partner
"Demo Marketplace" (ORDER_MESSAGES_OSCAR_STORE_PARTNERS)."""

import os
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.contrib.sites.models import Site
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from oscar.apps.checkout.calculators import OrderTotalCalculator
from oscar.apps.order.utils import OrderCreator
from oscar.apps.partner.strategy import Selector
from oscar.apps.shipping.methods import Free
from oscar.core.loading import get_model

from demo.catalogue import ORDERS, PASSWORD, PRODUCTS, USERS, VENDORS
from order_messages.actions import mark_read, post_message
from order_messages.adapter import get_adapter
from order_messages.models import Conversation, Notification, Role
from order_messages.queries import Actor

Basket = get_model("basket", "Basket")
Partner = get_model("partner", "Partner")
StockRecord = get_model("partner", "StockRecord")
Product = get_model("catalogue", "Product")
ProductClass = get_model("catalogue", "ProductClass")
Category = get_model("catalogue", "Category")
ProductCategory = get_model("catalogue", "ProductCategory")
Order = get_model("order", "Order")
ShippingAddress = get_model("order", "ShippingAddress")
Country = get_model("address", "Country")

STORE_PARTNER = ("demo-marketplace", "Demo Marketplace")
GUEST = ("Gus", "Guest", "gus@guests.example")


class Command(BaseCommand):
    help = "Create the Oscar demo shop's users, partners, products and orders (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        Site.objects.update_or_create(
            pk=1,
            defaults={
                "domain": f"127.0.0.1:{os.environ.get('PORT') or 8000}",
                "name": "Demo Marketplace",
            },
        )
        users = self.seed_users()
        partners = self.seed_partners(users)
        products = self.seed_catalogue(partners)
        created = self.seed_orders(users, products)
        self.seed_conversation(users)
        self.stdout.write(
            self.style.SUCCESS(
                f"Oscar demo shop ready: {len(users)} people, {len(products)} products, "
                f"{created} new orders. Log in with an e-mail address, password {PASSWORD!r}."
            )
        )

    def seed_users(self):
        User = get_user_model()
        password = make_password(PASSWORD)
        users = {}
        for username, first, last, email in USERS:
            users[username], _ = User.objects.update_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": email},
            )
        users["admin"], _ = User.objects.update_or_create(
            username="admin",
            defaults={
                "first_name": "Ada",
                "last_name": "Admin",
                "email": "admin@marketplace.example",
                "is_staff": True,
                "is_superuser": True,
            },
        )
        User.objects.filter(pk__in=[u.pk for u in users.values()]).update(password=password)
        return users

    def seed_partners(self, users):
        # Partner users reach Oscar's dashboard (their orders, the messages entry).
        access = Permission.objects.get(
            codename="dashboard_access", content_type__app_label="partner"
        )
        partners = {}
        for code, name, owner in VENDORS:
            partner, _ = Partner.objects.update_or_create(code=code, defaults={"name": name})
            partner.users.add(users[owner])
            users[owner].user_permissions.add(access)
            partners[code] = partner
        code, name = STORE_PARTNER
        partners[None], _ = Partner.objects.update_or_create(code=code, defaults={"name": name})
        return partners

    def seed_catalogue(self, partners):
        kind, _ = ProductClass.objects.get_or_create(
            slug="goods", defaults={"name": "Goods", "requires_shipping": True}
        )
        category = Category.objects.filter(slug="outdoor").first() or Category.add_root(
            name="Bikes and outdoor", slug="outdoor"
        )
        products = {}
        for name, price, vendor in PRODUCTS:
            product, _ = Product.objects.get_or_create(
                title=name, defaults={"product_class": kind, "structure": Product.STANDALONE}
            )
            ProductCategory.objects.get_or_create(product=product, category=category)
            partner = partners[vendor]
            StockRecord.objects.update_or_create(
                product=product,
                partner=partner,
                defaults={
                    "partner_sku": f"{partner.code}-{product.pk}",
                    "price": Decimal(price),
                    "price_currency": "EUR",
                    "num_in_stock": 1000,
                },
            )
            products[name] = product
        return products

    def seed_orders(self, users, products):
        country, _ = Country.objects.update_or_create(
            iso_3166_1_a2="DE",
            defaults={"name": "Germany", "printable_name": "Germany", "is_shipping_country": True},
        )
        created = 0
        for number, customer, days_ago, status, lines in ORDERS:
            if Order.objects.filter(number=number).exists():
                continue
            user = users.get(customer) if customer else None
            first, last, email = (user.first_name, user.last_name, user.email) if user else GUEST
            basket = Basket.objects.create(owner=user)
            basket.strategy = Selector().strategy(user=user)
            for name, quantity in lines:
                basket.add_product(products[name], quantity)
            method = Free()
            charge = method.calculate(basket)
            address = ShippingAddress.objects.create(
                first_name=first,
                last_name=last,
                line1="Hauptstraße 1",
                line4="Berlin",
                postcode="10115",
                country=country,
            )
            order = OrderCreator().place_order(
                basket=basket,
                total=OrderTotalCalculator().calculate(basket, charge),
                shipping_method=method,
                shipping_charge=charge,
                user=user,
                shipping_address=address,
                order_number=number,
                status=status,
                guest_email="" if user else email,
            )
            basket.submit()
            Order.objects.filter(pk=order.pk).update(
                date_placed=timezone.now() - timedelta(days=days_ago)
            )
            created += 1
        return created

    def seed_conversation(self, users):
        """A finished exchange between alice and Bob's Bikes about #1002, through the app's
        own actions, as in the demo marketplace."""
        if Conversation.objects.filter(order_number="1002").exists():
            return
        order = get_adapter().get_order("1002")
        bikes = order.sub_order("bobs-bikes")
        alice = Actor(users["alice"], Role.CUSTOMER, "Alice Archer")
        bob = Actor(users["bob"], Role.VENDOR, "Bob Baker")
        for actor, body in [
            (alice, "Hello! Does the City bike come assembled?"),
            (bob, "Hi Alice, yes: fully assembled and tuned. Just fit the pedals."),
            (alice, "Perfect, thank you!"),
        ]:
            post_message(order=order, sub_order=bikes, actor=actor, body=body)
        conversation = Conversation.objects.get(order_number="1002")
        mark_read(conversation=conversation, user=users["bob"])
        # Seeded messages are history: nobody is to be e-mailed about them now.
        Notification.objects.filter(conversation=conversation).delete()
