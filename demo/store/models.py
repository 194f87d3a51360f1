"""A small marketplace: vendors with staff, products, orders split by seller."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


def not_reserved(value):
    from order_messages.adapter import STORE

    if value == STORE:
        raise ValidationError(
            gettext("“%(key)s” is reserved for the store's own sub-order.") % {"key": STORE}
        )


class Vendor(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True, validators=[not_reserved])
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="vendors", blank=True)

    def __str__(self):
        return self.name


class Product(models.Model):
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    # Empty: sold by the store itself.
    vendor = models.ForeignKey(Vendor, null=True, blank=True, on_delete=models.PROTECT)

    def __str__(self):
        return self.name


#: The statuses the demo's orders have; stored as the English word, shown translated.
STATUS_LABELS = {
    "Processing": _("Processing"),
    "Shipped": _("Shipped"),
    "Delivered": _("Delivered"),
}


class Order(models.Model):
    number = models.CharField(max_length=32, unique=True)
    # Empty for a guest checkout.
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    email = models.EmailField()
    name = models.CharField(max_length=200)
    # Indexed: the dashboard counts the orders of the last 30 days (count_orders).
    placed_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=32, default="Processing")

    class Meta:
        ordering = ["-placed_at"]

    def __str__(self):
        return f"#{self.number}"

    def get_absolute_url(self):
        return reverse("store:order_detail", kwargs={"number": self.number})

    @property
    def status_label(self):
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def total(self):
        return sum((item.price * item.quantity for item in self.items.all()), 0)


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    vendor = models.ForeignKey(Vendor, null=True, blank=True, on_delete=models.PROTECT)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=1)
    price = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self):
        return f"{self.quantity} × {self.name}"


class DemoWebhook(models.Model):
    """A webhook the demo store received from the app, shown at /demo/webhooks/."""

    received_at = models.DateTimeField(auto_now_add=True)
    event_type = models.CharField(max_length=40, blank=True)
    headers = models.TextField()
    body = models.TextField()
    signature_valid = models.BooleanField(default=False)

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self):
        return self.event_type
