"""OpenAPI links: which answer leads to which request, and with what. A conversation found
in a list (its order number and vendor key) can be read, written to, marked read,
disputed and its disputes listed; each of those leads to the others in the same
conversation. Clients and generated tests (Schemathesis' stateful runs) follow them."""

from __future__ import annotations

from collections.abc import Iterable

from ninja import Router

# What can be done in one conversation.
IN_A_CONVERSATION = [
    "listMessages",
    "postMessage",
    "markRead",
    "openDispute",
    "closeDispute",
    "listDisputes",
]
FROM_ITS_PATH = {"number": "$request.path.number", "vendor_key": "$request.path.vendor_key"}


def _to(operations: Iterable[str], parameters: dict[str, str]) -> dict:
    return {
        operation: {"operationId": operation, "parameters": parameters} for operation in operations
    }


def _first_of_list(items: str) -> dict[str, str]:
    return {
        "number": f"$response.body#/{items}/0/order_number",
        "vendor_key": f"$response.body#/{items}/0/vendor_key",
    }


# (operationId, status): the links of that answer.
LINKS = {
    ("listConversations", 200): {
        **_to(IN_A_CONVERSATION, _first_of_list("items")),
        **_to(["listOrderConversations"], {"number": "$response.body#/items/0/order_number"}),
    },
    ("listBackofficeConversations", 200): _to(IN_A_CONVERSATION, _first_of_list("items")),
    ("listOrderConversations", 200): _to(
        IN_A_CONVERSATION,
        {
            "number": "$request.path.number",
            "vendor_key": "$response.body#/conversations/0/vendor_key",
        },
    ),
    ("listMessages", 200): _to(IN_A_CONVERSATION, FROM_ITS_PATH),
    ("postMessage", 201): _to(IN_A_CONVERSATION, FROM_ITS_PATH),
    ("markRead", 200): _to(IN_A_CONVERSATION, FROM_ITS_PATH),
    ("openDispute", 201): _to(IN_A_CONVERSATION, FROM_ITS_PATH),
    ("closeDispute", 200): _to(IN_A_CONVERSATION, FROM_ITS_PATH),
    ("listDisputes", 200): _to(IN_A_CONVERSATION, FROM_ITS_PATH),
}


def install(routers: Iterable[Router]) -> None:
    """Write the links into the routers' operations; before the API first binds them."""
    for router in routers:
        for view in router.path_operations.values():
            for operation in view.operations:
                extra = operation.openapi_extra or {}
                # Keyed like django-ninja's own responses (ints), to merge into them; beside
                # what the operation declares of each answer already (its headers).
                responses = dict(extra.get("responses", {}))
                for (operation_id, status), links in LINKS.items():
                    if operation_id == operation.operation_id:
                        responses[status] = {**responses.get(status, {}), "links": links}
                if responses:
                    operation.openapi_extra = {**extra, "responses": responses}
