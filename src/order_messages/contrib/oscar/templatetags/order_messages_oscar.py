"""Tags the Oscar templates of ``order_messages.contrib.oscar`` use; a store's own Oscar
templates can use them too."""

from django import template

from ....adapter import get_adapter
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
    """The orders of a page of the order history, each with "Contact seller" or its
    unread count; one query for the counts."""
    request = context["request"]
    orders = list(orders or ())
    unread = unread_by_order(user=request.user, order_numbers=[o.number for o in orders])
    return {"rows": [(o, unread.get(o.number, 0)) for o in orders]}
