"""The API as served. Its OpenAPI document: django-ninja's own, completed with what holds
for every operation (errors.complete_document) and made valid OpenAPI 3.1 where
django-ninja's output depends on how a parameter's examples were given. Its URLs: every
path under it answers in the error shape (errors.with_every_path_answered)."""

from __future__ import annotations

from ninja import NinjaAPI

from .errors import complete_document, with_every_path_answered


class OrderMessagesAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        document = super().get_openapi_schema(*args, **kwargs)
        return complete_document(optional_bodies(single_examples(document)))

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        return with_every_path_answered(self, patterns), app_name, namespace


def single_examples(document: dict) -> dict:
    """A parameter's ``examples`` must be a map of Example Objects; a JSON Schema list of
    values (``Path(examples=["1001"])``, which django-ninja copies there from the
    parameter's schema) becomes its first value as ``example``. The list stays in the
    parameter's schema, where it is valid."""
    for methods in document.get("paths", {}).values():
        for operation in methods.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                examples = parameter.get("examples")
                if isinstance(examples, list):
                    del parameter["examples"]
                    if examples:
                        parameter.setdefault("example", examples[0])
    return document


def optional_bodies(document: dict) -> dict:
    """A body that may be left out (``payload: X | None = None``) is described by
    django-ninja as "an X or null", which generators turn into a body argument they cannot
    send when left out (openapi-python-client serialises its UNSET marker). Left out is
    what ``required: false`` already says, so the body is described as an X."""
    for methods in document.get("paths", {}).values():
        for operation in methods.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body or body.get("required", True):
                continue
            for media in body.get("content", {}).values():
                choices = media.get("schema", {}).get("anyOf", [])
                kept = [c for c in choices if c != {"type": "null"}]
                if len(choices) == 2 and len(kept) == 1:
                    media["schema"] = kept[0]
    return document
