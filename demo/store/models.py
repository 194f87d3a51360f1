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


class DemoEmail(models.Model):
    """A copy of a sent e-mail, shown in the demo mailbox."""

    sent_at = models.DateTimeField(auto_now_add=True)
    subject = models.CharField(max_length=998)
    to = models.TextField()
    headers = models.TextField()
    text = models.TextField()
    html = models.TextField(blank=True)
    reply_to = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    # The whole message (RFC 822), as an MTA would deliver it.
    raw = models.TextField(blank=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]

    def __str__(self):
        return self.subject

    @classmethod
    def record(cls, email):
        message = email.message()
        html = next(
            (
                content
                for content, mimetype in getattr(email, "alternatives", [])
                if mimetype == "text/html"
            ),
            "",
        )
        headers = "\n".join(f"{name}: {value}" for name, value in message.items())
        return cls.objects.create(
            subject=email.subject,
            to=", ".join(email.recipients()),
            headers=headers,
            text=email.body,
            html=html,
            reply_to=", ".join(email.reply_to),
            message_id=message["Message-ID"] or "",
            raw=message.as_bytes().decode("utf-8", "replace"),
        )


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
