"""Hostile input on every operation of the published OpenAPI schema: never a 5xx.

The operations, their parameters and their request bodies are read from the schema the
project serves (generated in-process), so an operation added later is tried with no edit
here. Each is sent NUL bytes, long and over-long values (3,000, 10,000 and 100,000
characters), unicode (emoji, right-to-left marks, combining characters, lone surrogates
escaped in JSON, bytes that are not UTF-8), huge and edge integers (10**30, -1, 0), arrays
where scalars are expected, scalars where arrays are, objects where strings are, and
repeated query parameters (1,001 of them too): in every path, query and header parameter
and every request body field (JSON and multipart, and the fields of a body's first list
item), as anonymous, as a partner and as ad-ops (their own tokens), against a database
with one of everything.

Every answer must be:
- below 500;
- a status the schema documents for the operation, with a body that matches it (the
  contract check of ``tests.contract``), a 414 only for an address longer than
  ``MAX_URL_LENGTH``;
- in the API's error format when it is an error (``cms.api.errors``);
- nothing half-written: an error leaves the database and MEDIA_ROOT as they were;
- sent to the database with no NUL byte or lone surrogate in any query parameter
  (PostgreSQL refuses them, so a SQLite run catches what PostgreSQL would answer with 500).

Values are sampled, not crossed: each parameter or field gets one value of every kind
(rotated along the fields, so every value is sent somewhere), each role gets its share of
an operation's values, and a role an operation refuses (401, 403) gets every input hostile
at once. Each request runs in a savepoint rolled back after it, so one request's write
never hides another's path (a unique key already taken) and every request starts from the
same data.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import override_settings
from django.urls import Resolver404, resolve
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.cms.factories import ArticleFactory, BlockFactory, TopicFactory
from tests.conftest import media_files
from tests.contract import _operation as contract_operation
from tests.contract import assert_matches_schema, openapi_schema
from tests.images import image_bytes
from tests.sponsors.factories import (
    PartnerFactory,
    SponsorFactory,
    SponsorshipFactory,
    SubmissionFactory,
    UserFactory,
    partner_article,
)
from tests.sponsors.factories_ads import CampaignFactory, CreativeFactory, SlotFactory
from tests.sponsors.factories_countdowns import countdown_with_phases

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "partner", "ad-ops")
WRITES = {"post", "put", "patch", "delete"}
ERROR_KEYS = {"status", "code", "detail", "errors"}

# ---------------------------------------------------------------------------------------------
# The values


@dataclass(frozen=True)
class Raw:
    """Already percent-encoded: sent in the address as is (bytes that are not UTF-8)."""

    text: str


@dataclass(frozen=True)
class Repeated:
    """A query parameter sent more than once."""

    values: tuple[str, ...]


LONG = "x" * 10_000
LONGER = "y" * 100_000
# Below MAX_URL_LENGTH, so it reaches the view (the two above are the 414's).
LONG_IN_URL = "z" * 3_000

# In addresses (path and query parameters): one of each kind per parameter.
URL_VALUES: dict[str, list[Any]] = {
    "nul": ["a\x00", "\x00", "a\x00b"],
    "long": [LONG_IN_URL, LONG, LONGER],
    "unicode": [
        "💥🎉",
        "\u202eevil\u202c",
        "e\u0301\u0301\u0301\u0301",
        "\ufeff\u200b",
        Raw("%ED%A0%80"),  # a surrogate, encoded as UTF-8 would if it could: not UTF-8
        Raw("%FF%FE"),
        Raw("%C0%AF"),  # an overlong "/"
    ],
    "number": [str(10**30), "-1", "0", "-0", "1e308", "NaN", "1.5", "0x10", "99999999999"],
    "shape": [
        Repeated(("1", "2")),
        Repeated(("a", "\x00")),
        "[1,2]",
        '{"a":1}',
        "",
        "a,,b,",
        " ",
    ],
}

# In JSON bodies.
JSON_VALUES: dict[str, list[Any]] = {
    "nul": ["\x00", ["a\x00"], {"a\x00": "b"}],
    "long": [LONG, LONGER],
    "unicode": [
        "💥🎉 ünïcødé",
        "\u202eevil\u202c",
        "e\u0301\u0301\u0301\u0301",
        "\ud800",  # a lone surrogate: JSON can escape it, UTF-8 cannot hold it
        "x\udfff\ud800",
        "\ufeff\u200b",
    ],
    "number": [10**30, -(10**30), -1, 0, 1.5, 1e308, True, str(10**30)],
    "shape": [["a", "b"], {"a": 1}, None, [], {}, "", [[["deep"]]], [None]],
}
JSON_ALWAYS = "a\x00"  # every field gets it: PostgreSQL refuses NUL in text


def _file(name: str, data: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type)


# In multipart bodies (text, repeated fields, and files where text is expected or not).
def multipart_values() -> dict[str, list[Any]]:
    return {
        # (The escaped ones are JSON text, for fields that hold a JSON document.)
        "nul": ["a\x00", "\x00", ["a\x00", "b"], '["\\u0000"]'],
        "long": [LONG, LONGER],
        "unicode": [
            "💥🎉",
            "\u202eevil\u202c",
            "e\u0301\u0301\u0301\u0301",
            "\ufeff",
            '[{"type": "paragraph", "text": "\\ud800"}]',
        ],
        "number": [str(10**30), "-1", "0", "1e308", "NaN"],
        "shape": [
            ["a", "b"],
            '{"a":1}',
            "[1,2]",
            "",
            _file("a\x00.png", image_bytes()),
            _file("💥" * 200 + ".png", b"not an image"),
        ],
    }


def file_values() -> list[Any]:
    """For file fields: not images, empty, named badly, or text instead of a file."""
    return [
        _file("a.png", b"not an image"),
        _file("empty.png", b""),
        _file("a\x00.png", image_bytes()),
        _file("x" * 1000 + ".png", image_bytes()),
        _file("a.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        "a\x00",
        LONG,
        ["a", "b"],
    ]


def sample(values: dict[str, list[Any]], index: int, always: Any = None) -> list[Any]:
    """One value of every kind, rotated by ``index`` (so every value is used across fields)."""
    picked = [] if always is None else [always]
    for kind in values.values():
        picked.append(kind[index % len(kind)])
    return picked


def describe(value: Any) -> str:
    if isinstance(value, SimpleUploadedFile):
        return f"<file {value.name[:20]!r} {value.size} bytes>"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}…({len(text)} chars)"


# ---------------------------------------------------------------------------------------------
# The schema's operations


@dataclass
class Operation:
    method: str
    template: str
    id: str
    parameters: list[dict[str, Any]]  # path, query and header
    bodies: dict[str, dict[str, Any]]  # content type -> resolved schema (object)
    security: list[dict[str, Any]] = field(default_factory=list)

    @property
    def path_parameters(self) -> list[str]:
        return [p["name"] for p in self.parameters if p["in"] == "path"]

    @property
    def query_parameters(self) -> list[dict[str, Any]]:
        return [p for p in self.parameters if p["in"] == "query"]

    @property
    def header_parameters(self) -> list[str]:
        return [p["name"] for p in self.parameters if p["in"] == "header"]


def _resolve(node: Any, schema: dict[str, Any]) -> Any:
    if isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _resolve(schema["components"]["schemas"][name], schema)
    return node


def operations() -> list[Operation]:
    schema = openapi_schema()
    found = []
    for template, methods in schema["paths"].items():
        for method, spec in methods.items():
            parameters = [
                p for p in spec.get("parameters", []) if p["in"] in ("path", "query", "header")
            ]
            bodies = {
                content_type: _resolve(body["schema"], schema)
                for content_type, body in spec.get("requestBody", {}).get("content", {}).items()
            }
            found.append(Operation(method, template, spec["operationId"], parameters, bodies))
    return found


OPERATIONS = operations()


def schema_operation_count() -> int:
    return sum(len(methods) for methods in openapi_schema()["paths"].values())


# ---------------------------------------------------------------------------------------------
# The data: one of everything, and a client per role


@dataclass
class World:
    clients: dict[str, APIClient]
    bases: dict[str, dict[str, Any]]  # request component name -> a valid body


def _client(user=None) -> APIClient:
    client = APIClient()
    client.raise_request_exception = False  # a 500 is an answer to report, not a crash
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture(scope="module")
def world_data(django_db_setup, django_db_blocker) -> Iterator[World]:
    """The data, made once for the module in a transaction rolled back after its last test
    (each test runs in a savepoint of it, as pytest-django's ``db`` makes)."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
                world = _make_world()
            yield world
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(world_data, db) -> World:
    return world_data


def _make_world() -> World:
    # (The partner's submission throttle counts submissions in the database: each request
    # here is rolled back, so it never trips.)
    now = timezone.now()
    topic = TopicFactory(name="TikTok")
    TopicFactory(name="Advertising")
    sponsor = SponsorFactory(name="TikTok", slug="tiktok")
    article = ArticleFactory(topics=[topic], headline="Sound on")
    BlockFactory(article=article)
    partner_article(sponsor=sponsor, topics=[topic])
    SponsorshipFactory(
        sponsor=sponsor, article=None, topic=topic, starts_at=now, ends_at=now + dt.timedelta(30)
    )
    slot = SlotFactory(key="leaderboard")
    campaign = CampaignFactory(sponsor=sponsor)
    CreativeFactory(campaign=campaign, slots=[slot], include=[topic])
    countdown = countdown_with_phases(
        ("Deadline", now + dt.timedelta(days=10)), ("Extended", now + dt.timedelta(days=20))
    )
    partner = PartnerFactory(sponsor=sponsor)
    SubmissionFactory(submitted_by=partner.user, sponsor=sponsor)
    ad_ops = UserFactory(username="hostile-adops", is_staff=True)
    ad_ops.groups.add(Group.objects.get(name="Ad ops"))

    starts = (now - dt.timedelta(days=1)).isoformat()
    ends = (now + dt.timedelta(days=30)).isoformat()
    phase = countdown.phases.order_by("deadline").first()
    bases: dict[str, dict[str, Any]] = {
        "SlotRequest": {
            "key": "hostile-slot",
            "name": "Hostile slot",
            "width": 728,
            "height": 90,
            "accepts_image": True,
            "accepts_text": True,
            "house_creative": None,
            "is_active": True,
        },
        "CampaignRequest": {
            "sponsor": "tiktok",
            "name": "Hostile",
            "starts_at": starts,
            "ends_at": ends,
            "tier": "standard",
            "impression_goal": 1000,
            "pacing": "even",
            "frequency_cap": 3,
            "frequency_period": "day",
            "is_active": True,
        },
        "DuplicateRequest": {"name": "Copy", "starts_at": starts},
        "CreativeRequest": {
            "campaign": campaign.pk,
            "name": "Hostile",
            "kind": "text",
            "headline": "Enter",
            "body": "Soon.",
            "cta_label": "Go",
            "click_url": "https://advertiser.example.com/",
            "weight": 2,
            "slots": ["leaderboard"],
            "include_topics": ["tiktok"],
            "exclude_topics": ["advertising"],
            "countdown": countdown.slug,
            "is_active": True,
        },
        "StaffSponsorRequest": {
            "name": "Hostile sponsor",
            "slug": "hostile-sponsor",
            "description": "A <b>bold</b> sponsor.",
            "website_url": "https://sponsor.example.com/",
            "contact_email": "ads@sponsor.example.com",
            "is_active": True,
        },
        "StaffLabelRequest": {
            "text": "Hostile label",
            "slug": "hostile-label",
            "position": 9,
            "is_active": True,
        },
        "StaffSponsorshipRequest": {
            "sponsor": "tiktok",
            "label": "sponsored-by",
            "article": article.slug,
            "topic": None,
            "starts_at": starts,
            "ends_at": ends,
        },
        "StaffCountdownRequest": {
            "title": "Hostile awards",
            "slug": "hostile-awards",
            "time_zone": "Europe/London",
            "closed_message": "Closed",
            "closed_link_url": "https://example.com/",
            "closed_link_label": "See",
            "phases": [{"label": "Deadline", "deadline": ends}],
        },
        "ExtendDeadlineRequest": {
            "phase": phase.pk,
            "new_deadline": (now + dt.timedelta(days=15)).isoformat(),
            "reason": "Asked for",
            "extended_label": "Extended",
        },
        "SubmissionInputRequest": {
            "headline": "Sound on",
            "standfirst": "Why.",
            "body": [
                {"type": "paragraph", "text": "Words."},
                {"type": "list", "items": ["One", "Two"]},
            ],
            "topics": ["tiktok"],
            "hero_caption": "A caption",
            "hero_alt": "Alt",
        },
    }
    return World(
        clients={
            "anonymous": _client(),
            "partner": _client(partner.user),
            "ad-ops": _client(ad_ops),
        },
        bases=bases,
    )


def _model_value(template: str, name: str) -> str:
    """A real value for path parameter ``name``: the first object the route's view reads."""
    probe = re.sub(r"\{[^}]+\}", "1", template)
    try:
        view = resolve(probe).func
    except Resolver404:
        return "1"
    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    queryset = getattr(cls, "queryset", None)
    serializer = getattr(cls, "serializer_class", None)
    model = (
        queryset.model
        if queryset is not None
        else getattr(getattr(serializer, "Meta", None), "model", None)
    )
    if model is None:
        return "hostile-token"  # a beacon's token: no object behind it to find
    lookup = getattr(cls, "lookup_field", "pk") if name != "id" else "pk"
    obj = model._default_manager.order_by("pk").first()
    return str(getattr(obj, lookup)) if obj is not None else "1"


def _base_body(op: Operation, world: World, content_type: str) -> dict[str, Any]:
    schema = op.bodies[content_type]
    ref_name = _component_name(op, content_type)
    base = world.bases.get(ref_name.removeprefix("Patched"))
    if base is None:
        base = _minimal(schema)
    props = schema.get("properties", {})
    return {k: copy.deepcopy(v) for k, v in base.items() if k in props}


def _component_name(op: Operation, content_type: str) -> str:
    spec = openapi_schema()["paths"][op.template][op.method]
    return spec["requestBody"]["content"][content_type]["schema"].get("$ref", "").rsplit("/")[-1]


def _minimal(schema: dict[str, Any]) -> dict[str, Any]:
    """The required properties, each with a value of its declared type (a body the schema
    allows, for an operation this file names no valid body for)."""
    full = openapi_schema()
    out = {}
    for name in schema.get("required", []):
        prop = _resolve(schema["properties"][name], full)
        kind = prop.get("type")
        if prop.get("format") == "date-time":
            out[name] = timezone.now().isoformat()
        elif "enum" in prop:
            out[name] = prop["enum"][0]
        elif kind == "integer":
            out[name] = 1
        elif kind == "boolean":
            out[name] = True
        elif kind == "array":
            out[name] = []
        else:
            out[name] = "hostile"
    return out


def _leaves(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Paths to the fields nested in a body's lists and objects (first item of a list)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                yield from _leaves(item, (*prefix, key))
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for key in value[0]:
            yield (*prefix, 0, key)


def _set(body: Any, path: tuple, value: Any) -> Any:
    body = copy.deepcopy(body)
    node = body
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return body


def _is_file(schema: dict[str, Any], name: str) -> bool:
    prop = schema.get("properties", {}).get(name, {})
    return prop.get("format") == "binary"


def _multipart(body: dict[str, Any]) -> dict[str, Any]:
    """A JSON body as multipart fields: lists of scalars repeated, structures as JSON text."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if value is None:
            continue
        if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
            out[key] = [str(v) for v in value]
        elif isinstance(value, (dict, list)):
            out[key] = json.dumps(value)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = value if isinstance(value, SimpleUploadedFile) else str(value)
    return out


# ---------------------------------------------------------------------------------------------
# Requests and checks


@dataclass
class Request:
    role: str
    method: str
    template: str
    path_values: dict[str, Any]
    query: list[tuple[str, Any]] = field(default_factory=list)
    content_type: str | None = None
    body: Any = None  # JSON: any value (or bytes, sent as is); multipart: a dict
    headers: dict[str, str] = field(default_factory=dict)
    note: str = ""

    def address(self) -> str:
        path = self.template
        for name, value in self.path_values.items():
            path = path.replace("{" + name + "}", _encode(value))
        if not self.query:
            return path
        parts = []
        for name, value in self.query:
            values = value.values if isinstance(value, Repeated) else (value,)
            parts += [f"{quote(name, safe='[]')}={_encode(v)}" for v in values]
        return f"{path}?{'&'.join(parts)}"


def _encode(value: Any) -> str:
    return value.text if isinstance(value, Raw) else quote(str(value), safe="")


def _flat(params: Any) -> Iterator[Any]:
    if isinstance(params, dict):
        params = params.values()
    for value in params or ():
        if isinstance(value, (list, tuple)):
            yield from _flat(value)
        else:
            yield value


def _storable(text: str) -> bool:
    """Text PostgreSQL takes: no NUL byte, nothing UTF-8 cannot encode (lone surrogates)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _fingerprint() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(_fingerprint_sql(connection.vendor))
        return sorted(cursor.fetchall())


@functools.cache
def _fingerprint_sql(vendor: str) -> str:
    """Rows per table (and a sum of their lengths, and the last change where kept), in one
    query: what an error must leave as it found it. Counters and receipts are left out:
    an invalid beacon is counted apart by design."""
    parts = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.app_label in ("sessions", "admin", "contenttypes") or meta.proxy:
            continue
        if meta.db_table.endswith(("counter", "batch", "receipt")):
            continue
        columns = [f.column for f in meta.concrete_fields]
        size = " + ".join(
            f"COALESCE(LENGTH(CAST({connection.ops.quote_name(c)} AS TEXT)), 0)" for c in columns
        )
        changed = (
            f"CAST(MAX({connection.ops.quote_name('updated_at')}) AS TEXT)"
            if any(f.name == "updated_at" for f in meta.concrete_fields)
            else "NULL"
        )
        table = connection.ops.quote_name(meta.db_table)
        parts.append(
            f"SELECT '{meta.db_table}', COUNT(*), CAST(COALESCE(SUM({size}), 0) AS TEXT), "
            f"{changed} FROM {table}"
        )
    return " UNION ALL ".join(sorted(set(parts)))


class Run:
    def __init__(self, world: World, media_root) -> None:
        self.world = world
        self.media_root = media_root
        self.problems: list[str] = []
        self.sent = 0

    def send(self, request: Request) -> int:
        client = self.world.clients[request.role]
        address = request.address()
        unsendable: list[str] = []

        def watch(execute, sql, params, many, context):
            for value in _flat(params):
                if isinstance(value, str) and not _storable(value):
                    unsendable.append(f"{sql[:80]} with {describe(value)}")
            return execute(sql, params, many, context)

        writes = request.method in WRITES  # reads write nothing, bar counts (left out)
        with transaction.atomic():
            before = _fingerprint() if writes else None
            files_before = media_files(self.media_root)
            with connection.execute_wrapper(watch):
                response = self._perform(client, request, address)
            status = response.status_code
            after = _fingerprint() if writes and 400 <= status < 500 else before
            files_after = media_files(self.media_root)
            transaction.set_rollback(True)
        self.sent += 1
        label = (
            f"{request.method.upper()} {address[:120]}{'…' if len(address) > 120 else ''} "
            f"as {request.role} {request.note}"
        )
        problem = self._check(request, address, response)
        if problem is None and unsendable:
            problem = f"sent the database what PostgreSQL refuses: {unsendable[0]}"
        if problem is None and status >= 400 and (before != after or files_before != files_after):
            changed = [a for a, b in zip(after, before, strict=False) if a != b]
            problem = f"an error ({status}) left writes behind: {changed or 'media files'}"
        if problem is not None:
            self.problems.append(f"{label}: {problem}")
        return status

    def _perform(self, client: APIClient, request: Request, address: str):
        method = request.method
        headers = request.headers
        if request.content_type is None:
            return getattr(client, method)(address, headers=headers)
        if request.content_type == "multipart/form-data":
            return getattr(client, method)(
                address, request.body, format="multipart", headers=headers
            )
        data = request.body
        if not isinstance(data, bytes):
            data = json.dumps(data, allow_nan=True).encode()
        return client.generic(
            method.upper(), address, data, content_type=request.content_type, headers=headers
        )

    def _check(self, request: Request, address: str, response) -> str | None:
        status = response.status_code
        body = response.content[:300]
        if status >= 500:
            return f"answered {status}: {body!r}"
        if request.method == "head":
            if response.content:
                return "HEAD answered a body"
        elif status >= 400:
            problem = _error_format_problem(response)
            if problem:
                return problem
        if status == 414:
            if len(address) <= getattr(settings, "MAX_URL_LENGTH", 8192):
                return f"414 for an address of {len(address)} characters"
            return None
        plain = address.split("?")[0]
        if request.method == "head":  # no body to match: the status must be documented
            return _head_problem(plain, status)
        try:
            assert_matches_schema(request.method.upper(), plain, response)
        except (AssertionError, jsonschema.ValidationError) as error:
            first = (str(error).splitlines() or [type(error).__name__])[0]
            return f"not as documented ({status}): {first[:300]}"
        return None


def _head_problem(path: str, status: int) -> str | None:
    try:
        unmatched = resolve(path).url_name == "api-unmatched"
    except Resolver404:
        unmatched = True
    if unmatched:
        return None if status == 404 else f"HEAD of no route answered {status}"
    try:
        _template, operation = contract_operation(path, "HEAD")
    except AssertionError as error:
        return str(error)
    if str(status) not in operation.get("responses", {}):
        return f"HEAD answered {status}, which the schema does not document"
    return None


def _error_format_problem(response) -> str | None:
    if response.get("Content-Type", "").split(";")[0] != "application/json":
        return f"error {response.status_code} not JSON: {response.get('Content-Type')}"
    try:
        data = json.loads(response.content)
    except ValueError:
        return f"error {response.status_code} not JSON: {response.content[:100]!r}"
    if not isinstance(data, dict) or set(data) != ERROR_KEYS:
        return f"error {response.status_code} not in the error format: {data!r:.200}"
    if data["status"] != response.status_code:
        return f"error format says {data['status']}, the answer is {response.status_code}"
    errors = data["errors"]
    if not (isinstance(errors, dict) and all(isinstance(v, list) for v in errors.values())):
        return f"errors is not field -> messages: {errors!r:.200}"
    if response.status_code == 400 and data["code"] == "invalid" and not errors:
        return "a 400 'invalid' names no field"
    return None


# ---------------------------------------------------------------------------------------------
# The plan: what to send for one operation


def _valid_path(op: Operation) -> dict[str, str]:
    return {name: _model_value(op.template, name) for name in op.path_parameters}


def _input_keys(op: Operation) -> Iterator[tuple[str, ...]]:
    """What makes an input the same one in another operation: a query parameter's name and
    schema, a body field's component and content type (PUT, PATCH and POST share them)."""
    for name in op.path_parameters:  # the same lookup: the address up to the parameter
        yield ("path", op.template.split("{" + name + "}")[0], name)
    for param in op.query_parameters:
        yield ("query", param["name"], json.dumps(param.get("schema"), sort_keys=True))
    for name in op.header_parameters:
        yield ("header", name)
    for content_type in op.bodies:
        component = _component_name(op, content_type).removeprefix("Patched")
        for name in op.bodies[content_type].get("properties", {}):
            yield ("body", component, content_type, name)


def _first_users() -> dict[tuple[str, ...], str]:
    """The operation (in the schema's order, GET before HEAD) that gets each shared input's
    full sample; the others get its NUL and one more value."""
    first: dict[tuple[str, ...], str] = {}
    for op in OPERATIONS:
        if op.method == "head":
            continue
        for key in _input_keys(op):
            first.setdefault(key, op.id)
    return first


FIRST_USERS = _first_users()


def _short(values: list[Any], index: int) -> list[Any]:
    """The first value (a NUL) and one of the others, rotated."""
    rest = values[1:]
    return values[:1] + ([rest[index % len(rest)]] if rest else [])


def plan(op: Operation, world: World, roles_ok: list[str]) -> Iterator[Request]:
    """The hostile requests for ``op``: each input's sampled values (the full sample where
    the input is first met, else two), shared out among the roles it serves
    (``roles_ok``); then every input hostile at once, as each role refused too."""
    valid_path = _valid_path(op)
    bodies = {ct: _base_body(op, world, ct) for ct in op.bodies}
    first_ct = next(iter(op.bodies), None)
    base_body = (
        _multipart(bodies[first_ct]) if first_ct == "multipart/form-data" else bodies.get(first_ct)
    )
    turn = itertools.count()

    def role() -> str:
        return roles_ok[next(turn) % len(roles_ok)]

    def request(**changes) -> Request:
        fields: dict[str, Any] = {
            "role": role(),
            "method": op.method,
            "template": op.template,
            "path_values": dict(valid_path),
            "content_type": first_ct,
            "body": base_body,
        }
        fields.update(changes)
        return Request(**fields)

    def full(key: tuple[str, ...]) -> bool:
        return FIRST_USERS.get(key) == op.id

    for j, name in enumerate(op.path_parameters):
        values = sample(URL_VALUES, j)
        key = ("path", op.template.split("{" + name + "}")[0], name)
        for value in values if full(key) else _short(values, j):
            yield request(
                path_values={**valid_path, name: value}, note=f"path {name}={describe(value)}"
            )
    for j, param in enumerate(op.query_parameters):
        name = param["name"]
        values = sample(URL_VALUES, j + 1)
        key = ("query", name, json.dumps(param.get("schema"), sort_keys=True))
        for value in values if full(key) else _short(values, j):
            yield request(query=[(name, value)], note=f"query {name}={describe(value)}")
        if full(key):  # its name with brackets (some clients send arrays and objects so)
            yield request(query=[(f"{name}[]", "a"), (f"{name}[a]", "b")], note=f"query {name}[]")
    # More parameters than Django reads (DATA_UPLOAD_MAX_NUMBER_FIELDS).
    many = Repeated(("1",) * (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    yield request(query=[("p", many)], note="query p=1 (1,001 times)")
    for j, name in enumerate(op.header_parameters):
        # What a header can carry (no NUL: HTTP has none there); a shared one gets two.
        values = [LONG_IN_URL, "💥", '"*", W/"a", ,', "\u202e" * 50]
        key = ("header", name)
        for value in values if full(key) else _short(values, j):
            yield request(headers={name: value}, note=f"header {name}={describe(value)}")
    for content_type, base in bodies.items():
        schema = op.bodies[content_type]
        component = _component_name(op, content_type).removeprefix("Patched")
        multipart = content_type == "multipart/form-data"
        for j, name in enumerate(schema.get("properties", {})):
            if multipart and _is_file(schema, name):
                values = file_values()
            elif multipart:
                values = sample(multipart_values(), j)
            else:
                values = sample(JSON_VALUES, j, always=JSON_ALWAYS)
            if not full(("body", component, content_type, name)):
                values = _short(values, j)
            for value in values:
                body = {**base, name: value}
                yield request(
                    content_type=content_type,
                    body=_multipart(body) if multipart else body,
                    note=f"{content_type} {name}={describe(value)}",
                )
        if multipart:
            continue
        for j, path in enumerate(_leaves(base)):
            dotted = ".".join(map(str, path))
            values = sample(JSON_VALUES, j + 2, always=JSON_ALWAYS)
            if not full(("body", component, content_type, str(path[0]))):
                values = _short(values, j)
            for value in values:
                yield request(
                    content_type=content_type,
                    body=_set(base, path, value),
                    note=f"json {dotted}={describe(value)}",
                )
        # Whole bodies that are no object, or no JSON.
        raws = [b"[]", b'"a"', b"null", b"{", b'{"a": NaN}', b"\xff\xfe", b"", b"1e999"]
        raws.append(b"[" * 100_000 + b"]" * 100_000)
        if not full(
            ("body", component, content_type, next(iter(schema.get("properties", {})), ""))
        ):
            raws = raws[3:5] + raws[-1:]
        for raw in raws:
            yield request(content_type=content_type, body=raw, note=f"json body {raw[:12]!r}")
    # Every input hostile at once: each kind as a role it serves, then NUL as each refused.
    kinds = [
        ("nul", "a\x00", "a\x00", "a\x00"),
        ("long", LONG_IN_URL, LONG_IN_URL, LONGER),
        ("shape", "a\x00", Repeated(("1", "\x00")), {"a": ["b"]}),
    ]
    refused = [r for r in ROLES if r not in roles_ok]
    sinks = [(role(), kind) for kind in kinds] + [(r, kinds[0]) for r in refused]
    for role_name, (kind, path_value, query_value, body_value) in sinks:
        body = base_body
        if first_ct is not None:
            names = op.bodies[first_ct].get("properties", {})
            filled = {name: body_value for name in names}
            body = _multipart(filled) if first_ct == "multipart/form-data" else filled
        yield Request(
            role=role_name,
            method=op.method,
            template=op.template,
            path_values={n: path_value for n in valid_path},
            query=[(p["name"], query_value) for p in op.query_parameters],
            content_type=first_ct,
            body=body,
            note=f"every input {kind}",
        )


def inputs_of(op: Operation) -> set[tuple[str, str]]:
    """Every parameter and body field the schema gives the operation."""
    names = {("path", n) for n in op.path_parameters}
    names |= {("query", p["name"]) for p in op.query_parameters}
    names |= {("header", n) for n in op.header_parameters}
    for content_type, schema in op.bodies.items():
        names |= {(content_type, n) for n in schema.get("properties", {})}
    return names


def inputs_planned(op: Operation, world: World) -> set[tuple[str, str]]:
    seen = set()
    for request in plan(op, world, ["ad-ops"]):
        where, _, rest = request.note.partition(" ")
        name = re.split(r"[=.\[]", rest, maxsplit=1)[0]
        if where in ("path", "query", "header") or where in op.bodies:
            seen.add((where, name))
    return seen


# ---------------------------------------------------------------------------------------------
# The tests


def test_every_operation_of_the_schema_is_tried(world):
    """Each operation of the schema (read afresh here) gets hostile requests that reach it:
    their method and address are that operation's, so a new operation is tried unasked."""
    tried = set()
    for op in OPERATIONS:
        for request in plan(op, world, ["ad-ops"]):
            path = request.address().split("?")[0]
            try:
                template, _spec = contract_operation(path, op.method.upper())
            except AssertionError:
                continue  # a hostile path value that no route matches: the 404 is right
            if template == op.template:
                tried.add((op.method, op.template))
                break
    assert len(tried) == schema_operation_count()


def test_every_parameter_and_body_field_gets_hostile_values(world):
    missing = {
        op.id: sorted(inputs_of(op) - inputs_planned(op, world))
        for op in OPERATIONS
        if inputs_of(op) - inputs_planned(op, world)
    }
    assert missing == {}


def _authorized_roles(run: Run, op: Operation, world: World) -> list[str]:
    """The roles the operation serves: their valid request is not a 401 or 403. With a
    valid body named here, one of them must succeed (so the hostile values, each in an
    otherwise valid body, reach the model's validation and the save)."""
    roles, statuses = [], {}
    for role_name in ROLES:
        first_ct = next(iter(op.bodies), None)
        base = _base_body(op, world, first_ct) if first_ct else None
        request = Request(
            role=role_name,
            method=op.method,
            template=op.template,
            path_values=_valid_path(op),
            content_type=first_ct,
            body=_multipart(base) if first_ct == "multipart/form-data" else base,
            note="valid",
        )
        status = statuses[role_name] = run.send(request)
        if status not in (401, 403):
            roles.append(role_name)
    known = all(_component_name(op, ct).removeprefix("Patched") in world.bases for ct in op.bodies)
    if op.bodies and known and not any(200 <= s < 300 for s in statuses.values()):
        run.problems.append(f"the valid request was refused: {statuses}")
    return roles


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.id for op in OPERATIONS])
def test_no_hostile_input_answers_5xx_or_outside_the_error_format(op, world, media_root):
    run = Run(world, media_root)
    roles_ok = _authorized_roles(run, op, world) or list(ROLES)
    for request in plan(op, world, roles_ok):
        run.send(request)
    assert run.problems == [], f"{len(run.problems)} of {run.sent} answers:\n" + "\n".join(
        run.problems[:40]
    )
