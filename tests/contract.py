"""Check API responses against the OpenAPI schema the project publishes.

Front-end teams generate clients from the schema, so every response must match its declared
shape exactly: the status must be documented for that operation, and the body must validate
with no undeclared properties (objects are closed unless the schema says otherwise).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any

import jsonschema
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator


@functools.cache
def openapi_schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _close(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: nullable becomes a null type, objects become closed."""
    if isinstance(node, list):
        return [_close(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _close(value) for key, value in node.items()}
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        if "type" in node and isinstance(node["type"], str):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


@functools.cache
def _components() -> dict[str, Any]:
    schemas = copy.deepcopy(openapi_schema().get("components", {}).get("schemas", {}))
    return {name: _close(schema) for name, schema in schemas.items()}


@functools.cache
def _routes() -> list[tuple[re.Pattern, str]]:
    routes = []
    for template in openapi_schema()["paths"]:
        pattern = re.escape(template)
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        routes.append((re.compile(f"^{pattern}$"), template))
    # Literal paths win over templated ones (e.g. /ads/ over /{slug}/).
    routes.sort(key=lambda item: item[1].count("{"))
    return routes


def _operation(path: str, method: str) -> tuple[str, dict[str, Any]]:
    for pattern, template in _routes():
        if pattern.match(path):
            operations = openapi_schema()["paths"][template]
            if method.lower() in operations:
                return template, operations[method.lower()]
    raise AssertionError(f"{method} {path} is not described in the OpenAPI schema")


NOT_FOUND = {"status": 404, "code": "not_found", "detail": "Not found.", "errors": {}}


def assert_matches_schema(method: str, path: str, response: Any) -> None:
    """Fail unless ``response`` is documented for this operation and matches its schema.

    An address that no route matches is no operation: it must answer the API's 404.
    """
    try:
        unmatched = resolve(path).url_name == "api-unmatched"  # the catch-all of cms/urls.py
    except Resolver404:
        unmatched = True
    if unmatched:
        assert (response.status_code, json.loads(response.content)) == (404, NOT_FOUND)
        return
    template, operation = _operation(path, method)
    status = str(response.status_code)
    documented = operation.get("responses", {})
    assert status in documented, (
        f"{method} {template} answered {status}, which the schema does not document "
        f"(documented: {sorted(documented)})"
    )
    content = documented[status].get("content")
    if not content:
        return
    content_type = response.get("Content-Type", "").split(";")[0]
    if content_type != "application/json":
        return
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return
    body = json.loads(response.content or b"null")
    resolver_schema = {**_close(copy.deepcopy(schema)), "components": {"schemas": _components()}}
    jsonschema.validate(
        body,
        resolver_schema,
        cls=jsonschema.Draft202012Validator,
        format_checker=jsonschema.FormatChecker(),
    )
