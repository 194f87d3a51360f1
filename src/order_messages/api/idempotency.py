"""``Idempotency-Key``: a client that is not sure its post arrived sends it again with the
same key and gets the first answer back, without a second message."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from django.db import IntegrityError, transaction
from ninja import Header
from ninja.responses import NinjaJSONEncoder

from ..actions.idempotency import remember_answer
from ..models import IdempotentRequest
from .errors import IdempotencyKeyReused

# Set on a response that is a stored answer, not a new one.
REPLAYED = "Idempotent-Replayed"

# The request header, as an endpoint's parameter: ``idempotency_key: IdempotencyKey = None``.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        # Visible ASCII: header values are bytes, and PostgreSQL cannot store a NUL.
        pattern=r"^[\x20-\x7e]+$",
        description="Any unique string of printable ASCII (a UUID). Sending the same "
        "request again with the same key replays the first answer instead of posting "
        "twice.",
    ),
]

# The response header, for the answer it can be set on: ``documented(..., headers={201:
# REPLAYED_HEADER})``.
REPLAYED_HEADER = {
    REPLAYED: {
        "description": "true when this is the stored answer to an earlier request with the "
        "same Idempotency-Key, replayed; absent on a new answer.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def fingerprint(*, method: str, path: str, payload: dict) -> str:
    """What was asked, so the same key with another request is told apart."""
    text = json.dumps([method, path, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def as_json(body: dict) -> dict:
    """The body as the API renders it (timestamps as strings), so that what is stored and
    replayed is exactly what was first sent."""
    return json.loads(json.dumps(body, cls=NinjaJSONEncoder))


def replay(*, user, key: str, print_: str) -> tuple[int, dict] | None:
    """The stored answer to this request, None if the key is new, or an error if the key
    came with another request."""
    stored = IdempotentRequest.objects.filter(user=user, key=key).first()
    if stored is None:
        return None
    if stored.fingerprint != print_:
        raise IdempotencyKeyReused()
    return stored.status_code, stored.body


def run_once(*, user, key: str | None, print_: str, act) -> tuple[int, dict, bool]:
    """``act()`` returns (status, body); this returns (status, body, replayed). With a key,
    ``act`` runs at most once per user and key: the answer is stored in the same transaction
    as what ``act`` writes, so both are kept or neither. Of two concurrent requests with one
    key, the second fails on the unique key, its writes roll back, and it replays the first's
    answer."""
    if key is None:
        status, body = act()
        return status, as_json(body), False
    if (stored := replay(user=user, key=key, print_=print_)) is not None:
        return *stored, True
    try:
        with transaction.atomic():
            status, body = act()
            body = as_json(body)
            remember_answer(user=user, key=key, fingerprint=print_, status=status, body=body)
    except IntegrityError:
        if (stored := replay(user=user, key=key, print_=print_)) is None:
            raise
        return *stored, True
    return status, body, False
