"""Tags the Oscar templates of ``order_messages.contrib.oscar`` use; a store's own Oscar
templates can use them too."""

from django import template
from django.urls import reverse

from ....adapter import get_adapter
from ....guest import make_guest_token
from ....policy import viewer_of_order
from ....queries import unread_by_order
from ....queries.threads import order_tabs

register = template.Library()


@register.inclusion_tag("order_messages/oscar/order_messages.html", takes_context=True)
def order_conversations(context, order):
    """An order's conversations on its page: "Contact seller" (or the unread count), and a
    link to each seller's conversation when the order has several."""
    request = context["request"]
    found = get_adapter().get_order(order.number)
    viewer = found and viewer_of_order(order=found, user=request.user)
    if not viewer:
        return {"tabs": []}
    tabs = order_tabs(access=viewer)
    return {
        "number": found.number,
        "tabs": tabs,
        "unread": sum(t.unread for t in tabs),
    }


@register.inclusion_tag("order_messages/oscar/order_list_messages.html", takes_context=True)
def orders_conversations(context, orders):
    """The orders of a page of the order history, each with "Contact seller" (which
    seller, for an order from several) and its unread count; a fixed number of queries."""
    request = context["request"]
    orders = list(orders or ())
    numbers = [o.number for o in orders]
    unread = unread_by_order(user=request.user, order_numbers=numbers)
    found = get_adapter().get_orders(numbers) if numbers else {}
    return {"rows": [(o, unread.get(o.number, 0), found.get(o.number)) for o in orders]}


@register.inclusion_tag("order_messages/oscar/guest_order_messages.html")
def guest_order_conversations(order):
    """ "Contact seller" on Oscar's page of an order placed without an account. Whoever
    opened that page holds its secret link, so they get the guest's link to the messages."""
    found = get_adapter().get_order(order.number)
    if found is None or found.customer_id is not None:
        return {"url": ""}
    return {"url": reverse("order_messages:guest", kwargs={"token": make_guest_token(found)})}
