"""Live updates (A2): events for one user's browser tabs, published after commit.

Each user has a numbered stream of events (1, 2, 3 …) with a short replay window, so a
reconnecting client resumes from ``Last-Event-ID``; one that fell further behind is told
to refresh. With ``REDIS_URL`` the streams live in Redis (a list per user for replay,
pub/sub to wake subscribers in every server process); without it they live in this
process's memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import deque
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from .conf import app_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    data: dict

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "type": self.type, "data": self.data})

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        raw = json.loads(text)
        return cls(int(raw["id"]), raw["type"], raw["data"])


REFRESH = "refresh"  # the client missed events: reload what it shows

# Store staff read every conversation but take part in few: their streams also follow this
# one, which says only that a conversation changed, so that their lists follow too. Its
# events carry no id and are not replayed: they are about lists, which a reconnecting
# page reloads anyway.
STAFF = "staff"
CHANGED = "conversation.changed"

# Seconds to wait for Redis to accept a connection, or to answer: a broker that is down
# must not hold up a post or a stream.
REDIS_TIMEOUT = 5
REDIS_MISSING = (
    "ORDER_MESSAGES_REDIS_URL is set, but the redis package is not installed: "
    "pip install 'django-order-messages[redis]'."
)


class BrokerUnavailable(Exception):
    """The broker cannot be reached (Redis down or restarting)."""


class MemoryBroker:
    """Streams in this process: enough for one server process (and for tests)."""

    def __init__(self, window: int):
        self.window = window
        self.lock = threading.Lock()
        self.sequences: dict[int, int] = {}
        self.history: dict[int, deque[Event]] = {}
        self.waiters: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = {}

    def publish(self, user_id: int | str, type: str, data: dict) -> Event:
        with self.lock:
            number = self.sequences.get(user_id, 0) + 1
            self.sequences[user_id] = number
            event = Event(number, type, data)
            self.history.setdefault(user_id, deque(maxlen=self.window)).append(event)
            waiters = list(self.waiters.get(user_id, ()))
        for loop, queue in waiters:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # that subscriber's loop has closed
                pass
        return event

    def replay(self, user_id: int, after: int) -> list[Event] | None:
        """Events after ``after``, or None when some of them are gone."""
        with self.lock:
            events = list(self.history.get(user_id, ()))
            latest = self.sequences.get(user_id, 0)
        return _replay(events, after=after, latest=latest)

    def latest(self, user_id: int) -> int:
        with self.lock:
            return self.sequences.get(user_id, 0)

    async def open(self, user_id: int, *, also: Sequence = ()) -> MemorySubscription:
        """Start listening: events published from now on to the user (and to the streams
        ``also`` names, such as STAFF) are kept for ``get``."""
        streams = [user_id, *also]
        subscription = MemorySubscription(self, streams, asyncio.get_running_loop())
        with self.lock:
            for stream in streams:
                self.waiters.setdefault(stream, set()).add(subscription.entry)
        return subscription


class MemorySubscription:
    def __init__(self, broker: MemoryBroker, streams: list, loop):
        self.broker, self.streams = broker, streams
        self.queue: asyncio.Queue = asyncio.Queue()
        self.entry = (loop, self.queue)

    async def get(self, timeout: float) -> Event | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    async def waiting(self) -> Event | None:
        """The next event if one has arrived already, else None at once."""
        try:
            return self.queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    async def close(self) -> None:
        with self.broker.lock:
            for stream in self.streams:
                self.broker.waiters.get(stream, set()).discard(self.entry)


class RedisBroker:
    """Streams in Redis, shared by every server process."""

    def __init__(self, url: str, window: int, prefix: str):
        try:
            import redis
        except ImportError as error:
            raise ImproperlyConfigured(REDIS_MISSING) from error

        self.url, self.window, self.prefix = url, window, prefix
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )

    def _key(self, user_id: int | str, part: str) -> str:
        return f"{self.prefix}:{user_id}:{part}"

    def publish(self, user_id: int | str, type: str, data: dict) -> Event:
        number = self.client.incr(self._key(user_id, "seq"))
        event = Event(int(number), type, data)
        text = event.to_json()
        history = self._key(user_id, "history")
        pipe = self.client.pipeline()
        pipe.rpush(history, text)
        pipe.ltrim(history, -self.window, -1)
        pipe.expire(history, 24 * 3600)
        pipe.expire(self._key(user_id, "seq"), 24 * 3600)
        pipe.publish(self._key(user_id, "events"), text)
        pipe.execute()
        return event

    def replay(self, user_id: int, after: int) -> list[Event] | None:
        with _unavailable_on_redis_error():
            latest = int(self.client.get(self._key(user_id, "seq")) or 0)
            if after >= latest:
                return _replay([], after=after, latest=latest)
            history = self.client.lrange(self._key(user_id, "history"), 0, -1)
        return _replay([Event.from_json(t) for t in history], after=after, latest=latest)

    def latest(self, user_id: int) -> int:
        with _unavailable_on_redis_error():
            return int(self.client.get(self._key(user_id, "seq")) or 0)

    async def open(self, user_id: int, *, also: Sequence = ()) -> RedisSubscription:
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(self.url, socket_connect_timeout=REDIS_TIMEOUT)
        pubsub = client.pubsub()
        subscription = RedisSubscription(client, pubsub)
        try:
            with _unavailable_on_redis_error():
                await pubsub.subscribe(
                    *(self._key(stream, "events") for stream in [user_id, *also])
                )
        except BrokerUnavailable:
            await subscription.close()
            raise
        return subscription


class RedisSubscription:
    def __init__(self, client, pubsub):
        self.client, self.pubsub = client, pubsub

    async def get(self, timeout: float) -> Event | None:
        with _unavailable_on_redis_error():
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
        return Event.from_json(message["data"]) if message else None

    async def waiting(self) -> Event | None:
        """The next event if one has arrived already, else None at once."""
        return await self.get(timeout=0)

    async def close(self) -> None:
        try:
            await self.pubsub.aclose()
            await self.client.aclose()
        except Exception:  # noqa: BLE001 — a connection Redis dropped has nothing to close
            logger.debug("Closing a broken Redis subscription failed", exc_info=True)


@contextmanager
def _unavailable_on_redis_error():
    import redis

    try:
        yield
    except (redis.RedisError, OSError) as error:
        raise BrokerUnavailable(str(error)) from error


def _replay(events: list[Event], *, after: int, latest: int) -> list[Event] | None:
    """The events after ``after``, or None when the client must refresh instead: some of
    them are no longer kept, or the client saw more than the stream now holds (the broker
    was restarted and its numbering began again)."""
    if after > latest:
        return None
    if after == latest:
        return []
    if not events or events[0].id > after + 1:
        return None
    return [e for e in events if e.id > after]


@cache
def _broker_for(url: str | None, window: int, prefix: str):
    if url:
        return RedisBroker(url, window, prefix)
    return MemoryBroker(window)


def get_broker():
    return _broker_for(
        app_settings.REDIS_URL or None,
        app_settings.LIVE_REPLAY_WINDOW,
        app_settings.LIVE_REDIS_PREFIX,
    )


def publish(user_ids, type: str, data: dict) -> None:
    """Send an event to each user now. Failures are logged: live updates are a courtesy,
    the page and the polling fallback still show the truth."""
    broker = get_broker()
    for user_id in user_ids:
        try:
            broker.publish(user_id, type, data)
        except Exception:  # noqa: BLE001 — e.g. Redis down: posting must not fail for it
            logger.warning("Could not publish %s to user %s", type, user_id, exc_info=True)


def publish_on_commit(user_ids, type: str, data: dict | None = None, *, data_for=None) -> None:
    """Publish once the current transaction commits (never for a rolled-back change).
    ``data_for(user_ids)`` computes per-user data at that moment: {user_id: data}."""
    user_ids = sorted(set(user_ids))
    if not user_ids:
        return

    def send():
        if data_for is None:
            publish(user_ids, type, data or {})
            return
        for user_id, user_data in data_for(user_ids).items():
            publish([user_id], type, user_data)

    transaction.on_commit(send)
