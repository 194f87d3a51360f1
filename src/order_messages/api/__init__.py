"""The JSON API (A1), ``/api/v1/`` in the demo. A host store mounts it the same way::

    from order_messages.api import api

    urlpatterns = [path("api/v1/", api.urls), ...]

Transport only: every read is a query and every write an action, as on the HTML pages.
"""

from . import (
    attachments,
    backoffice,
    backoffice_orders,
    conversations,
    dashboard,
    errors,
    links,
    me,
    preferences,
    saved_replies,
    tokens_api,
    webhook_endpoints,
)
from .auth import SessionAuth, TokenAuth
from .document import OrderMessagesAPI

DESCRIPTION = """\
Order-linked conversations between customers, vendors and the store: read and post
messages, mark them read, open and close disputes, unread counts, files on messages.

**Authentication.** A personal token from the *API tokens* page (`/messages/tokens/` in the
demo), sent as `Authorization: Bearer om_…`; or the site's session cookie, with the CSRF
token in `X-CSRFToken` for POST and DELETE requests.

**Errors** always look like `{"error": {"code": "not_found", "message": "…"}}`; the codes
are stable, the messages follow `Accept-Language`.

**Files** are uploaded first (multipart/form-data, one per request), then sent by their
ids in a message's `attachments`.

**Lists** are keyset-paginated: pass a page's `next_cursor` as `after` for the next page.
"""

api = OrderMessagesAPI(
    title="Order Messages API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="order_messages_api",
    auth=[TokenAuth(), SessionAuth()],
)
errors.install(api)
links.install([conversations.router, backoffice.router])
api.add_router("", conversations.router)
api.add_router("", attachments.router)
api.add_router("/backoffice", backoffice.router)
api.add_router("/me", me.router)
api.add_router("/saved-replies", saved_replies.router)
api.add_router("/backoffice", dashboard.router)
api.add_router("/backoffice", backoffice_orders.router)
api.add_router("/me", preferences.router)
api.add_router("/me/tokens", tokens_api.router)
api.add_router("/webhook-endpoints", webhook_endpoints.router)

__all__ = ["api"]
