"""Oscar's changes that move who may read an order's conversations: an order given to
another customer or e-mail address, a user added to or removed from a partner. The access
policy asks Oscar before it shows or sends anything in any case; these move the inbox rows
and unread counts at once instead of at the next message."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_save
from oscar.core.loading import get_model

from ... import actions


def order_saved(sender, instance, created, raw=False, **kwargs):
    if created or raw:
        return  # no conversation about it yet
    number = instance.number
    # After commit: Oscar's transaction may still change the order, and the app's action
    # takes its own row locks.
    transaction.on_commit(lambda: actions.update_order_access(order_number=number))


def partner_users_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    Partner = get_model("partner", "Partner")
    if not reverse:
        codes = [instance.code]
    elif action == "post_clear":  # every partner of this user
        codes = Partner.objects.values_list("code", flat=True)
    else:
        codes = Partner.objects.filter(pk__in=pk_set or ()).values_list("code", flat=True)
    for code in list(codes):
        transaction.on_commit(lambda code=code: actions.update_vendor_access(vendor_key=code))


def connect() -> None:
    Order = get_model("order", "Order")
    Partner = get_model("partner", "Partner")
    post_save.connect(order_saved, sender=Order, dispatch_uid="order_messages_oscar_order")
    m2m_changed.connect(
        partner_users_changed,
        sender=Partner.users.through,
        dispatch_uid="order_messages_oscar_partner_users",
    )
