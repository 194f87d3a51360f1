"""The store tells django-order-messages when who may read an order's conversations
changed: the order's customer or e-mail address, or a vendor's staff. The app's policy
asks the store before it shows or sends anything in any case; these move the inbox rows
and the unread counts at once instead of at the next message."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from order_messages import actions

from .models import Order, Vendor


@receiver(post_save, sender=Order)
def order_saved(sender, instance, created, raw=False, **kwargs):
    if created or raw:
        return  # no conversation about it yet
    number = instance.number
    # After commit: the store's transaction may still change the order, and the app's
    # action takes its own row locks.
    transaction.on_commit(lambda: actions.update_order_access(order_number=number))


@receiver(m2m_changed, sender=Vendor.staff.through)
def vendor_staff_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if reverse:  # a user's vendors changed
        slugs = Vendor.objects.filter(pk__in=pk_set or ()).values_list("slug", flat=True)
        if action == "post_clear":
            slugs = Vendor.objects.values_list("slug", flat=True)
    else:
        slugs = [instance.slug]
    for slug in list(slugs):
        transaction.on_commit(lambda slug=slug: actions.update_vendor_access(vendor_key=slug))
