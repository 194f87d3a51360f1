"""The demo store's own back office: its vendors, products and orders. Changing an order's
customer or e-mail address here, or a vendor's staff, is what ``signals.py`` tells
django-order-messages about."""

from django.contrib import admin

from .models import Order, OrderItem, Product, Vendor


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    filter_horizontal = ["staff"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "vendor", "price"]
    list_filter = ["vendor"]
    search_fields = ["name"]


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    autocomplete_fields = ["product"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "email", "customer", "status", "placed_at"]
    search_fields = ["number", "name", "email"]
    list_filter = ["status"]
    raw_id_fields = ["customer"]
    inlines = [OrderItemInline]
