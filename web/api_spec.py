"""The JSON API's one declaration: every operation, its parameters, body and answers (pure).

:data:`OPERATIONS` is read twice: :func:`openapi` turns it into the OpenAPI 3.1 document the
hub serves at ``/api/v1/openapi.json``, and :mod:`fieldkit.web.api` routes requests by it and
checks their parameters and bodies against the same schemas (:func:`check`), so what the
document says and what the hub accepts cannot drift apart. The enums and limits come from the
field table (:mod:`fieldkit.core.fields`), the record's schema from its fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fieldkit import __version__
from fieldkit.core.fields import (
    AREA_MAX,
    BASE_FIELD_CODES,
    NOTE_MAX,
    Category,
    Kind,
    QuantityUnit,
    Status,
)
from fieldkit.core.interchange import EXPORTED
from fieldkit.core.matching import Coverage, Nearness
from fieldkit.core.ops import MESSAGE_MAX
from fieldkit.core.records import STATUS_MOVES
from fieldkit.errors import FieldError
from fieldkit.web.render import N_

PREFIX = "/api/v1"
Schema = dict[str, Any]

RECORD_ID: Schema = {"type": "string", "pattern": "^[0-9a-f]{8}-[1-9][0-9]{0,11}$",
                     "examples": ["3fa9c2d1-42"]}  # fmt: skip
HUB_ID: Schema = {"type": "string", "pattern": "^[0-9a-f]{8}$", "examples": ["3fa9c2d1"]}
#: What a coordinator may set a record's status to (``open`` reopens): core's moves.
STATUS_ACTIONS = tuple(status.value for status in STATUS_MOVES)
PAGE_MAX = 200
OFFSET_MAX = 1_000_000
TEXT_FILTER_MAX = 80


def _enum(values: Any, description: str = "") -> Schema:
    schema: Schema = {"type": "string", "enum": [str(v) for v in values]}
    if description:
        schema["description"] = description
    return schema


def _text(limit: int, *, minimum: int = 0) -> Schema:
    schema: Schema = {"type": "string", "maxLength": limit}
    if minimum:
        schema["minLength"] = minimum
    return schema


# --- what the answers hold ----------------------------------------------------------------


def _field_schema(spec: Any) -> Schema:
    if spec.type == "enum":
        schema = _enum(m.value for m in spec.enum)
    elif spec.type == "int":
        schema = {"type": "integer"}
    elif spec.type == "bool":
        schema = {"type": "boolean"}
    else:
        schema = {"type": "string"}
    if spec.optional:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _record_schema() -> Schema:
    """The record as :func:`fieldkit.app.coordinator.record_json` writes it, from the field
    table: ``contact.name`` nests, every field is present."""
    properties: Schema = {
        "id": RECORD_ID,
        "hub": HUB_ID,
        "kind": _enum(Kind),
        "status": _enum(Status),
        "status_message": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "ref": {"type": "string", "description": "the resident's reference code"},
        "matches": {"type": "array", "items": RECORD_ID},
        "redacted": {"type": "boolean", "description": "its personal fields were erased"},
    }
    for spec in EXPORTED:  # a local field (the note kept at its hub) is never written out
        *path, leaf = spec.json_path
        target = properties
        for part in path:
            nested = target.setdefault(part, {"type": "object", "properties": {}})
            nested.setdefault("required", [])
            target = nested["properties"]
            nested["required"].append(leaf)
        target[leaf] = _field_schema(spec)
    #: fields beyond today's mask (a notice's ``expires``) are written only when set
    optional = {spec.name for spec in EXPORTED if spec.wire_code >= BASE_FIELD_CODES}
    return {
        "type": "object",
        "description": "A record with every field, the private ones (contact) included, as the "
        "console shows it to a signed-in coordinator.",
        "properties": properties,
        "required": sorted(set(properties) - optional),
    }


_HISTORY_ENTRY: Schema = {
    "type": "object",
    "properties": {
        "op": {"type": "string", "description": "create, update, setstatus, match, redact, …"},
        "hub": HUB_ID,
        "seq": {"type": "integer", "minimum": 1},
        "time": {"type": "string", "format": "date-time"},
        "by": {"type": "string", "description": "the coordinator (or token) that made it here"},
        "status": _enum(Status),
        "need": RECORD_ID,
        "offer": RECORD_ID,
        "message": {"type": "string"},
    },
    "required": ["op", "hub", "seq", "time", "by"],
}
_NULLABLE_INT: Schema = {"anyOf": [{"type": "integer"}, {"type": "null"}]}
_REASON: Schema = {
    "type": "object",
    "properties": {
        "nearness": _enum(n.name.lower() for n in Nearness),
        "coverage": _enum(c.name.lower() for c in Coverage),
        "covers": _NULLABLE_INT,
        "wanted": _NULLABLE_INT,
        "unit": {"anyOf": [_enum(QuantityUnit), {"type": "null"}]},
        "age_ms": {"type": "integer"},
    },
    "required": ["nearness", "coverage", "covers", "wanted", "unit", "age_ms"],
}
_FIELD_ERROR: Schema = {
    "type": "object",
    "properties": {
        "field": {"type": "string"},
        "code": {"type": "string"},
        "message": {"type": "string"},
    },
    "required": ["field", "code", "message"],
}

COMPONENTS: dict[str, Schema] = {
    "Record": _record_schema(),
    "RecordWithHistory": {
        "allOf": [{"$ref": "#/components/schemas/Record"}],
        "type": "object",
        "properties": {"history": {"type": "array", "items": _HISTORY_ENTRY}},
        "required": ["history"],
    },
    "RecordPage": {
        "type": "object",
        "properties": {
            "records": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
            "next_offset": {
                "anyOf": [{"type": "integer"}, {"type": "null"}],
                "description": "the offset of the next page; null on the last one",
            },
        },
        "required": ["records", "next_offset"],
    },
    "Suggestions": {
        "type": "object",
        "properties": {
            "record": RECORD_ID,
            "suggestions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "record": {"$ref": "#/components/schemas/Record"},
                        "reason": _REASON,
                        "reason_text": {"type": "string", "examples": [
                            "same area · covers 4 of 4 people · offered 2 h ago"]},
                        "remaining": {**_NULLABLE_INT, "description": "what the offer has "
                                      "left to give (null: quantity unknown)"},
                    },
                    "required": ["record", "reason", "reason_text", "remaining"],
                },
            },
        },
        "required": ["record", "suggestions"],
    },
    "Changed": {
        "type": "object",
        "properties": {
            "op": {"type": "string", "description": "the op made: hub-seq",
                   "examples": ["3fa9c2d1-57"]},
            "records": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
        },
        "required": ["op", "records"],
    },
    "Error": {
        "type": "object",
        "properties": {
            "error": {"type": "string", "description": "what kind of error, for programs",
                      "examples": ["invalid"]},
            "message": {"type": "string", "description": "what went wrong, for people"},
            "field": {"type": "string", "description": "the first field that is wrong"},
            "fields": {"type": "array", "items": _FIELD_ERROR},
        },
        "required": ["error", "message"],
    },
}  # fmt: skip


# --- the operations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["query", "path"]
    schema: Schema
    description: str
    required: bool = False


@dataclass(frozen=True)
class Body:
    properties: Mapping[str, Schema]
    required: tuple[str, ...]

    def schema(self) -> Schema:
        return {
            "type": "object",
            "properties": dict(self.properties),
            "required": list(self.required),
            "additionalProperties": False,
        }


@dataclass(frozen=True)
class Operation:
    method: Literal["get", "post"]
    path: str  # below PREFIX
    operation_id: str
    summary: str
    answer: str  # its component schema
    params: tuple[Param, ...] = ()
    body: Body | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    public: bool = False  # served without a token


_ID_PARAM = Param("id", "path", RECORD_ID, "the record's id", required=True)
#: Answers every operation with a token may give, besides its own.
AUTH_ERRORS = (401, 429)
ERRORS: Mapping[int, str] = {
    400: "the body is not a JSON object",
    401: "no token, or one this hub does not know (revoked, mistyped)",
    404: "no such record (or path) on this hub: `field` names the record's (id, need, offer)",
    405: "that method is not served at this path",
    413: "the body is too large",
    409: "the record's kind or status does not allow this (a need matched as an offer, a "
    "fulfilled record reopened): `field` names what conflicts",
    415: "the body is not application/json",
    422: "a parameter or field is wrong: `field` names it, `fields` lists them all",
    429: "too many requests with this token: wait `Retry-After` seconds",
}

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get", "/records", "listRecords",
        "Records, most urgent then oldest first (the console's queue), with its filters.",
        "RecordPage", errors=(422,), params=(
            Param("kind", "query", _enum(Kind), "need, offer or notice"),
            Param("status", "query", _enum(Status), "open, matched, cancelled or fulfilled"),
            Param("category", "query", _enum(Category), "the category"),
            Param("area", "query", _text(AREA_MAX), "the area's id"),
            Param("origin", "query", HUB_ID, "the hub that created the record"),
            Param("text", "query", _text(TEXT_FILTER_MAX),
                  "a piece of the note or the reference code (any case)"),
            Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": PAGE_MAX,
                                     "default": 50}, "records a page"),
            Param("offset", "query", {"type": "integer", "minimum": 0, "maximum": OFFSET_MAX,
                                      "default": 0}, "records to skip"),
        ),
    ),
    Operation(
        "get", "/records/{id}", "getRecord",
        "One record with every field and its history (the audit trail): every op held for "
        "it, with its hub, time, coordinator and message.",
        "RecordWithHistory", params=(_ID_PARAM,), errors=(404, 422),
    ),
    Operation(
        "get", "/records/{id}/suggestions", "getSuggestions",
        "Offers for an open need (or needs for an offer), ranked by the matching rules, each "
        "with its reason.",
        "Suggestions", params=(_ID_PARAM,), errors=(404, 422),
    ),
    Operation(
        "post", "/matches", "createMatch",
        "Match a need with an offer; the resident's status page shows the message at every hub.",
        "Changed", status=201, errors=(400, 404, 409, 413, 415, 422), body=Body({
            "need": {**RECORD_ID, "description": "the need's id", "examples": ["3fa9c2d1-41"]},
            "offer": {**RECORD_ID, "description": "the offer's id"},
            "message": {**_text(MESSAGE_MAX), "description": "what the resident is told"},
        }, ("need", "offer")),
    ),
    Operation(
        "post", "/records/{id}/status", "setStatus",
        "Mark a record fulfilled (unless it is) or cancelled (an open or matched one), or "
        "reopen a matched or cancelled one (open), with a message for the resident.",
        "Changed", params=(_ID_PARAM,), errors=(400, 404, 409, 413, 415, 422), body=Body({
            "status": _enum(STATUS_ACTIONS),
            "message": {**_text(MESSAGE_MAX), "description": "what the resident is told"},
        }, ("status",)),
    ),
    Operation(
        "post", "/records/{id}/redact", "redactRecord",
        "Erase the record's contact (name, phone, location) and note at every hub and the "
        "cloud, on the resident's request. It cannot be undone; the token's name is kept in "
        "this hub's audit trail only (a redaction carries no name to other hubs).",
        "Changed", params=(_ID_PARAM,), errors=(404, 422),
    ),
    Operation(
        "post", "/notices", "postNotice",
        "Post a notice (a distribution point, a shelter, a boil-water order) for an area; it "
        "shows on the residents' boards and travels to other hubs.",
        "Record", status=201, errors=(400, 413, 415, 422), body=Body({
            "category": _enum(Category),
            "area": {**_text(AREA_MAX, minimum=1), "description": "the area's id or name"},
            "text": {**_text(NOTE_MAX, minimum=1), "description": "what residents read"},
        }, ("category", "area", "text")),
    ),
)  # fmt: skip
OPENAPI_PATH = "/openapi.json"
STATUS_TEXT = {200: "OK", 201: "Created"}


# --- the document -------------------------------------------------------------------------------


def _error(description: str, *, retry: bool = False, bearer: bool = False) -> Schema:
    answer: Schema = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if retry:
        answer["headers"] = {"Retry-After": {"schema": {"type": "string"},
                                             "description": "seconds to wait"}}  # fmt: skip
    if bearer:
        answer["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return answer


def _operation(op: Operation) -> Schema:
    out: Schema = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "responses": {
            str(op.status): {
                "description": STATUS_TEXT[op.status],
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{op.answer}"}}
                },
            },
            **{
                str(code): _error(ERRORS[code], retry=code == 429, bearer=code == 401)
                for code in sorted({*op.errors, *(() if op.public else AUTH_ERRORS)})
            },
        },
    }
    if op.params:
        out["parameters"] = [
            {"name": p.name, "in": p.where, "required": p.required, "schema": p.schema,
             "description": p.description}
            for p in op.params
        ]  # fmt: skip
    if op.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.body.schema()}},
        }
    if op.public:
        out["security"] = []
    return out


def openapi() -> Schema:
    """The OpenAPI 3.1 document of the JSON API."""
    paths: Schema = {}
    for op in OPERATIONS:
        paths.setdefault(PREFIX + op.path, {})[op.method] = _operation(op)
    paths[PREFIX + OPENAPI_PATH] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document.",
            "security": [],
            "responses": {"200": {"description": "OK",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}},
        }
    }  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fieldkit hub API",
            "version": __version__,
            "description": "The coordinator console's actions for programs, on the console's "
            "HTTPS port. Every request but this document's carries `Authorization: Bearer "
            "TOKEN` (`fieldkit token create NAME` on the hub); the token's name is the "
            "coordinator the audit trail records. Errors are JSON (`Error`).",
        },
        "paths": paths,
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
    }


# --- checking what comes in against the same schemas ---------------------------------------------


def check(schema: Schema, value: Any, field: str) -> list[FieldError]:
    """``value`` against the subset of JSON Schema the declarations use: type, enum, lengths,
    bounds, pattern. Each problem is a :class:`FieldError` naming ``field``."""
    problem = _problem(schema, value)
    if problem is None:
        return []
    code, message, params = problem
    return [FieldError(field, code, message, params)]


Problem = tuple[str, str, dict[str, str | int]]


def _problem(schema: Schema, value: Any) -> Problem | None:
    kind = schema.get("type")
    if kind == "string":
        if not isinstance(value, str):
            return "not_text", N_("Expected text."), {}
        if "enum" in schema and value not in schema["enum"]:
            choices = ", ".join(schema["enum"])
            message = N_("“%(value)s” is not one of the choices: %(choices)s.")
            return "unknown_choice", message, {"value": value[:40], "choices": choices}
        if len(value) > schema.get("maxLength", len(value)):
            message = N_("Please keep this to %(max)d characters (it has %(length)d).")
            return "too_long", message, {"max": schema["maxLength"], "length": len(value)}
        if len(value) < schema.get("minLength", 0):
            return "required", N_("This may not be empty."), {}
        if "pattern" in schema and not re.search(schema["pattern"], value):
            example = schema.get("examples", [""])[0]
            return "bad_format", N_("Expected something like %(example)s."), {"example": example}
        return None
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return "not_a_number", N_("Please enter a whole number, like 3."), {}
        low, high = schema.get("minimum", value), schema.get("maximum", value)
        if not low <= value <= high:
            message = N_("Please enter a number from %(min)d to %(max)d.")
            return "out_of_range", message, {"min": low, "max": high}
        return None
    raise TypeError(f"the API declares no {kind!r} parameters")


def query_value(schema: Schema, text: str) -> Any:
    """A query parameter's text as its schema's type (an integer's digits as an int)."""
    if schema.get("type") == "integer" and re.fullmatch(r"-?[0-9]{1,12}", text):
        return int(text)
    return text


def check_body(body: Body, data: Any) -> list[FieldError]:
    """A JSON body against its declaration: an object, its required fields, no others."""
    if not isinstance(data, dict):
        return [FieldError("body", "not_an_object", N_("Expected a JSON object."))]
    errors = [
        FieldError(name, "unknown_field", N_("There is no such field."))
        for name in data
        if name not in body.properties
    ]
    for name, schema in body.properties.items():
        if name in data:
            errors.extend(check(schema, data[name], name))
        elif name in body.required:
            errors.append(FieldError(name, "required", N_("This field is required.")))
    return errors
