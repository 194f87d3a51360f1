from django.utils.functional import SimpleLazyObject

from .templatetags.order_messages import unread_for_request


def order_messages(request):
    """``order_messages_unread``: the user's unread count, queried only if a page uses it."""
    return {"order_messages_unread": SimpleLazyObject(lambda: unread_for_request(request))}
