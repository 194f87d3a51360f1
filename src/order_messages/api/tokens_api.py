"""My personal API tokens: the tokens page's list, new token and revoke, for apps that
manage their own access. Only a token's first characters are stored in clear; the token
itself is in the answer that creates it, and nowhere else."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.http import HttpResponse
from django.utils.translation import gettext
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.errors import ValidationError

from .. import actions, queries
from ..queries.tokens import token_page
from .cursors import check_cursor
from .errors import documented

router = Router(tags=["API tokens"])


class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: datetime
    last_used_at: datetime | None = Field(description="To the minute; null if never used.")


class TokenPage(Schema):
    items: list[TokenOut] = Field(description="My active tokens, the newest first.")
    next_cursor: str | None = Field(
        description="Pass as ``after`` for the next page; null on the last page."
    )


class TokenIn(Schema):
    name: str = Field(description="What it is for, e.g. “Phone app”; 1 to 100 characters.")


class NewTokenOut(TokenOut):
    token: str = Field(
        description="The token itself, for ``Authorization: Bearer …``. Shown in this "
        "answer only: it is stored hashed, so keep it now."
    )


def _out(row) -> dict:
    return {
        "id": row.pk,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
    }


@router.get(
    "",
    **documented({200: TokenPage}, 401, 422),
    operation_id="listApiTokens",
    summary="My API tokens",
)
def list_tokens(
    request,
    after: Annotated[
        str | None, Query(description="The next_cursor of the previous page.", max_length=100)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Tokens per page.")] = 50,
):
    """My tokens that work, newest first: name, first characters, when made and last
    used. Never the token itself. Revoked tokens are not listed."""
    check_cursor(after, segments="t")
    rows, next_cursor = token_page(user=request.auth, cursor=after, size=limit)
    return {"items": [_out(row) for row in rows], "next_cursor": next_cursor}


@router.post(
    "",
    **documented({201: NewTokenOut}, 400, 401, 413, 422),
    operation_id="createApiToken",
    summary="Make an API token",
)
def create_token(request, response: HttpResponse, payload: TokenIn):
    """A new token acting as me, shown once in this answer. Sending an Idempotency-Key
    does nothing here: replaying the answer would mean storing the token. Errors:
    ``validation_error`` (422: no name, or one too long), ``bad_encoding`` (400)."""
    name = payload.name.strip()
    # The tokens page's rule (its form's name field), so both accept the same names.
    if not name or len(name) > 100:
        raise ValidationError(
            [
                {
                    "loc": ("body", "payload", "name"),
                    "msg": gettext("Give the token a name of 1 to 100 characters."),
                }
            ]
        )
    row, token = actions.create_token(user=request.auth, name=name)
    response["Cache-Control"] = "no-store"  # it holds the token: no cache may keep it
    return Status(201, {**_out(row), "token": token})


@router.delete(
    "/{token_id}",
    **documented({204: None}, 401, 404, 422),
    operation_id="revokeApiToken",
    summary="Revoke an API token",
)
def revoke_token(
    request,
    token_id: Annotated[
        int, Path(ge=1, le=2**63 - 1, description="The token's id (from the list).", examples=[3])
    ],
):
    """Apps using it are refused from the next request on. Someone else's token, or one
    revoked already, is 404. Revoking the token this request carries works too."""
    token = queries.access_api_token(user=request.auth, token_id=token_id)
    actions.revoke_token(user=request.auth, token_id=token.pk)
    return Status(204, None)
