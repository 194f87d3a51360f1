"""What is mine across all conversations."""

from __future__ import annotations

from ninja import Router

from .. import queries
from .errors import documented
from .schemas import UnreadOut

router = Router(tags=["Me"])


@router.get(
    "/unread",
    **documented({200: UnreadOut}, 401),
    operation_id="getUnread",
    summary="My unread count",
)
def unread(request):
    """The number on the header icon: my unread messages in all conversations. Cheap
    enough to poll; the live event stream (``unread.changed``) tells the same sooner."""
    return {"total": queries.unread_total(request.auth)}
