"""The live stream (A2): Server-Sent Events for the signed-in user, served by an async
view (uvicorn). Pages fall back to polling the badge where the stream is unavailable."""

from __future__ import annotations

import json
import logging

from asgiref.sync import sync_to_async
from django.contrib.auth import HASH_SESSION_KEY
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.crypto import constant_time_compare

from .. import live, policy
from ..api.tokens import user_for_token
from ..conf import app_settings
from ..live import REFRESH, BrokerUnavailable, Event

logger = logging.getLogger(__name__)

RECONNECT_MS = 3000
# While the broker is down a client comes back less often; its page polls meanwhile.
UNAVAILABLE_RECONNECT_MS = 10_000


def format_event(event: Event) -> str:
    if event.type == live.CHANGED:  # not numbered: the client's Last-Event-ID stays its own
        return f"event: {event.type}\ndata: {json.dumps(event.data)}\n\n"
    return f"id: {event.id}\nevent: {event.type}\ndata: {json.dumps(event.data)}\n\n"


def _last_event_id(request) -> int | None:
    value = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    try:
        return max(0, int(value)) if value else None
    except ValueError:
        return None


async def _user(request):
    """The session's user, or with ``Authorization: Bearer om_…`` the API token's (apps
    have no session); None if neither."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return await sync_to_async(user_for_token)(token.strip())
    user = await request.auser()
    return user if user.is_authenticated else None


def _signed_in_now(request, user):
    """The account as it is now, if the stream may go on: access given at the start is not
    given for good. A revoked token, a deactivated account, a logout or a password change
    (the session's auth hash, as Django checks it on every request) end the stream: None.
    Asked before every event and on each heartbeat, so that a logout stops the events of
    a busy conversation too, not only those of an idle one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        current = user_for_token(token.strip())
        return current if current is not None and current.pk == user.pk else None
    session_key = request.session.session_key
    if session_key is None or not request.session.exists(session_key):
        return None
    # A stream lives longer than anything a store remembers on the user for one request.
    current = type(user).objects.filter(pk=user.pk, is_active=True).first()
    if current is None:
        return None
    stored = request.session.get(HASH_SESSION_KEY) or ""
    return current if constant_time_compare(stored, current.get_session_auth_hash()) else None


SKIP, SEND = "skip", "send"

# Events a stream passes on after one check of the session and one of the policy, at most.
AT_ONCE = 100


def _conversation_of(event: Event) -> int | None:
    conversation = event.data.get("conversation") if isinstance(event.data, dict) else None
    return conversation if isinstance(conversation, int) else None


def _verdicts(request, user, events: list[Event]) -> list[str] | None:
    """For each event, whether to send it: None when the person may no longer listen at
    all; SKIP for one about a conversation the policy, asked again with the store's data
    of now, no longer lets them read (the store may have taken it away since it was
    published), or for a ``conversation.changed`` that a later one in ``events`` repeats;
    SEND otherwise. The session is asked once and the policy once for all the events, so a
    burst costs a busy stream (store staff hear of every conversation) what one event does."""
    current = _signed_in_now(request, user)
    if current is None:
        return None
    conversations = [_conversation_of(event) for event in events]
    asked = {c for c in conversations if c is not None}
    readable = policy.may_read_conversations(user=current, conversation_ids=asked)
    last_change = {
        conversation: index
        for index, (event, conversation) in enumerate(zip(events, conversations, strict=True))
        if event.type == live.CHANGED
    }
    return [
        SEND
        if conversation is None
        or (
            conversation in readable
            and (event.type != live.CHANGED or last_change[conversation] == index)
        )
        else SKIP
        for index, (event, conversation) in enumerate(zip(events, conversations, strict=True))
    ]


async def _with_waiting(subscription, event: Event) -> list[Event]:
    """``event`` and those that arrived behind it already (up to ``AT_ONCE`` in all)."""
    events = [event]
    while len(events) < AT_ONCE and (more := await subscription.waiting()) is not None:
        events.append(more)
    return events


async def stream(request):
    """One user's events. A reconnecting client sends Last-Event-ID and gets what it
    missed, or a ``refresh`` event when that is no longer kept."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    if not isinstance(request, ASGIRequest):
        # Under WSGI a never-ending response would hold a worker thread for good. 204
        # tells EventSource not to reconnect; the page polls instead.
        return HttpResponse(status=204)
    user = await _user(request)
    if user is None:
        return HttpResponse(status=401)
    broker = live.get_broker()
    last = _last_event_id(request)
    # Store staff also hear of conversations they do not take part in (their lists
    # follow); each such event is passed on only if they may still read it.
    also = [live.STAFF] if await sync_to_async(policy.is_store_staff)(user) else []
    try:
        subscription = await broker.open(user.pk, also=also)
    except BrokerUnavailable:
        return _unavailable()

    async def events():
        nonlocal last
        try:
            yield f"retry: {RECONNECT_MS}\n\n"
            replayed_up_to = last
            if last is not None:
                missed = await sync_to_async(broker.replay)(user.pk, last)
                if missed is None:
                    latest = await sync_to_async(broker.latest)(user.pk)
                    yield format_event(Event(latest, REFRESH, {}))
                    last = replayed_up_to = latest
                for start in range(0, len(missed or ()), AT_ONCE):
                    chunk = missed[start : start + AT_ONCE]
                    verdicts = await sync_to_async(_verdicts)(request, user, chunk)
                    if verdicts is None:
                        return
                    for event, verdict in zip(chunk, verdicts, strict=True):
                        if verdict == SEND:
                            yield format_event(event)
                    last = replayed_up_to = chunk[-1].id
            while True:
                event = await subscription.get(timeout=app_settings.LIVE_HEARTBEAT)
                if event is None:
                    if await sync_to_async(_signed_in_now)(request, user) is None:
                        return  # revoked token, deactivated user or ended session
                    yield ": heartbeat\n\n"
                    continue
                # Only what the replay already sent is skipped: with several processes
                # publishing, ids may arrive slightly out of order. The staff's stream has
                # numbers of its own and is never replayed.
                events = [
                    e
                    for e in await _with_waiting(subscription, event)
                    if e.type == live.CHANGED or replayed_up_to is None or e.id > replayed_up_to
                ]
                if not events:
                    continue
                verdicts = await sync_to_async(_verdicts)(request, user, events)
                if verdicts is None:
                    return
                for event, verdict in zip(events, verdicts, strict=True):
                    if verdict == SEND:
                        yield format_event(event)
        except BrokerUnavailable:
            # Ending the stream makes the browser reconnect after the retry delay, and
            # resume from its Last-Event-ID, once the broker is back.
            logger.warning("Live stream of user %s ended: the broker is unavailable", user.pk)
        finally:
            await subscription.close()

    return _event_stream(events())


def _event_stream(content) -> StreamingHttpResponse:
    response = StreamingHttpResponse(content, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through at once
    return response


def _unavailable() -> StreamingHttpResponse:
    """The broker is down: a stream that ends at once, asking the client to come back
    later. Any other answer (a 503 too) would make EventSource give up for good, and the
    page would poll until reloaded; this way it polls until the broker is back, then
    listens again."""

    async def content():
        yield f"retry: {UNAVAILABLE_RECONNECT_MS}\n\n"

    logger.warning("Live stream refused: the broker is unavailable")
    return _event_stream(content())
