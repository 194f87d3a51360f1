from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from order_messages.queries import unread_by_order

from .adapter import DemoStoreAdapter
from .models import Order, Product


def home(request):
    products = Product.objects.select_related("vendor").order_by("vendor__name", "name")
    return render(request, "store/home.html", {"products": products})


@login_required
def start(request):
    """Where a login lands: customers on their orders, vendors and staff on their messages."""
    if request.user.vendors.exists() or request.user.is_staff:
        return redirect("order_messages:inbox")
    return redirect("store:my_orders")


@login_required
def my_orders(request):
    """S1: the customer's orders, each with "Contact seller" (which seller, for an order
    from several) and its unread count."""
    orders = list(Order.objects.filter(customer=request.user).prefetch_related("items__vendor"))
    unread = unread_by_order(user=request.user, order_numbers=[o.number for o in orders])
    adapter = DemoStoreAdapter()
    infos = {o.number: adapter.to_order(o) for o in orders}
    rows = [
        {
            "order": o,
            "info": infos[o.number],
            "sellers": [s.vendor_name for s in infos[o.number].sub_orders],
            "unread": unread.get(o.number, 0),
        }
        for o in orders
    ]
    return render(request, "store/my_orders.html", {"rows": rows})


@login_required
def order_detail(request, number):
    """S2: an order's details with "Contact seller"."""
    order = Order.objects.filter(number=number, customer=request.user).first()
    if order is None:
        raise Http404("No such order.")
    info = DemoStoreAdapter().to_order(order)
    unread = unread_by_order(user=request.user, order_numbers=[number]).get(number, 0)
    return render(
        request, "store/order_detail.html", {"order": order, "info": info, "unread": unread}
    )
