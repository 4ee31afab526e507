"""Stripe's API contract: every request the fake receives is checked against Stripe's official OpenAPI
description (``../shared/stripe/spec3.json``, API version 2024-04-10; ``STRIPE_SPEC`` names another file).

The file is big (6 MB): it is read once per process, on the first request. For the operation a request
names (an unknown path or method is refused as Stripe refuses it: 404, "Unrecognized request URL"), its
parameters are checked as Stripe's API checks them and turned into typed values:

- the form-encoded body of a POST (``a[b][c]=v``, ``a[0][b]=v``, ``expand[]=v``) against
  ``requestBody.content["application/x-www-form-urlencoded"].schema``; the query string of a GET or
  DELETE against the operation's ``in: query`` parameters; path segments against ``in: path``;
- an unknown parameter (at any depth, unless the object takes ``additionalProperties``), a missing
  required one, a value that is not of its ``type`` (integer, number, boolean, string, array, hash), a
  string outside its ``enum`` or beyond its ``maxLength``: a 400 ``invalid_request_error`` naming the
  parameter as Stripe does (``line_items[0][price]``);
- ``anyOf`` / ``oneOf`` (the first branch that fits wins), ``$ref``, arrays (sent as ``x[0]``, ``x[]``),
  hashes with ``additionalProperties`` (metadata), and ``""``, which Stripe reads as "unset" where the
  spec offers ``enum: [""]``, and for any hash of free keys (``metadata=""`` clears all of them).

The spec marks some enums ``x-stripeBypassValidation`` (the typed SDKs let other strings through);
the fake still holds requests to the values listed, so a request that needs a value or a field added
after 2024-04-10 has to say so where the fake allows it.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from .errors import UNRECOGNIZED_URL, StripeError
from .shapes import REPO

PUBLISHED = REPO.parent / "shared" / "stripe" / "spec3.json"
FORM = "application/x-www-form-urlencoded"
INTEGER = re.compile(r"-?\d+")
DECIMAL = re.compile(r"-?(\d+\.?\d*|\.\d+)")


class SpecError(Exception):
    """A request Stripe's API would refuse, with the answer Stripe gives."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = "parameter_invalid",
                 status: int = 400):
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status

    def as_stripe_error(self) -> StripeError:
        return StripeError(self.status, "invalid_request_error", self.message, code=self.code, param=self.param,
                           executed=False)

    def __str__(self) -> str:
        return f"{self.param}: {self.message}" if self.param else self.message


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # the spec's path, e.g. /v1/payment_intents/{intent}
    path_params: dict
    _doc: dict

    @property
    def params_schema(self) -> dict:
        if self.method == "POST":
            body = self._doc.get("requestBody", {}).get("content", {}).get(FORM, {})
            return body.get("schema") or {"type": "object", "properties": {}, "additionalProperties": False}
        query = [p for p in self._doc.get("parameters", []) if p["in"] == "query"]
        return {"type": "object", "additionalProperties": False,
                "properties": {p["name"]: p.get("schema", {}) for p in query},
                "required": [p["name"] for p in query if p.get("required")]}


class Spec:
    def __init__(self, doc: dict):
        self._doc = doc
        self._templates: dict[int, list[tuple[tuple[str, ...], str]]] = {}
        for template in doc["paths"]:
            segments = tuple(template.strip("/").split("/"))
            self._templates.setdefault(len(segments), []).append((segments, template))

    def operation(self, method: str, path: str) -> Operation:
        """The operation ``method path`` names, with its path parameters; SpecError 404 if none."""
        segments = path.strip("/").split("/")
        best = None
        for template_segments, template in self._templates.get(len(segments), []):
            params, literal = {}, 0
            for want, got in zip(template_segments, segments):
                if want.startswith("{") and want.endswith("}"):
                    params[want[1:-1]] = got
                elif want == got:
                    literal += 1
                else:
                    break
            else:
                if best is None or literal > best[0]:
                    best = (literal, template, params)
        doc = self._doc["paths"][best[1]].get(method.lower()) if best else None
        if doc is None:
            raise SpecError(UNRECOGNIZED_URL.format(method=method, path=path), code=None, status=404)
        op = Operation(method, best[1], best[2], doc)
        for p in doc.get("parameters", []):
            if p["in"] == "path":
                self.check(p.get("schema", {}), op.path_params.get(p["name"], ""), p["name"])
        return op

    def check_params(self, op: Operation, tree: dict) -> dict:
        """The request's parameters (``forms.decode_tree``) as typed values; SpecError 400 if Stripe
        would refuse them."""
        return self.check(op.params_schema, tree, "")

    def check(self, schema: dict, value, name: str):
        schema = self._resolve(schema)
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            return self._any_of(branches, value, name)
        kind = schema.get("type") or ("object" if "properties" in schema else None)
        if kind == "object":
            return self._object(schema, value, name)
        if kind == "array":
            return self._array(schema, value, name)
        if isinstance(value, dict):
            raise SpecError(f"Invalid {kind or 'value'}: {name} takes a single value, not a hash", param=name)
        return self._scalar(schema, kind, value, name)

    def _resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            node = self._doc
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def _any_of(self, branches: list, value, name: str):
        errors = []
        for branch in branches:
            try:
                return self.check(branch, value, name)
            except SpecError as error:
                errors.append((self._resolve(branch), error))
        # Report what the caller most likely meant: the branch of the value's own kind, not the "" one.
        fitting = [e for b, e in errors if self._fits(b, value) and b.get("enum") != [""]]
        raise (fitting or [e for _, e in errors])[0]

    @staticmethod
    def _fits(schema: dict, value) -> bool:
        takes_hash = schema.get("type") in ("object", "array") or "properties" in schema
        return takes_hash == isinstance(value, dict)

    def _object(self, schema: dict, value, name: str):
        extra = schema.get("additionalProperties")
        if value == "" and isinstance(extra, dict):
            return ""  # Stripe: an empty value unsets every key of a free-keyed hash (metadata)
        if not isinstance(value, dict):
            raise SpecError("Invalid hash", param=name or None)
        properties = schema.get("properties", {})
        free = extra is True or (extra is None and not properties)
        typed = {}
        for key, item in value.items():
            child = f"{name}[{key}]" if name else key
            if key in properties:
                typed[key] = self.check(properties[key], item, child)
            elif isinstance(extra, dict):
                typed[key] = self.check(extra, item, child)
            elif free:
                typed[key] = item
            else:
                raise SpecError(f"Received unknown parameter: {child}", param=child, code="parameter_unknown")
        for key in schema.get("required", []):
            if key not in value:
                child = f"{name}[{key}]" if name else key
                raise SpecError(f"Missing required param: {child}.", param=child, code="parameter_missing")
        return typed

    def _array(self, schema: dict, value, name: str) -> list:
        if not (isinstance(value, dict) and all(k.isdigit() for k in value)):
            raise SpecError("Invalid array", param=name)
        items = schema.get("items", {})
        return [self.check(items, value[k], f"{name}[{i}]") for i, k in enumerate(sorted(value, key=int))]

    @staticmethod
    def _scalar(schema: dict, kind: str | None, value: str, name: str):
        if kind == "integer":
            if not INTEGER.fullmatch(value):
                raise SpecError(f"Invalid integer: {value}", param=name)
            return int(value)
        if kind == "number":
            if not DECIMAL.fullmatch(value):
                raise SpecError(f"Invalid number: {value}", param=name)
            return float(value)
        if kind == "boolean":
            if value not in ("true", "false"):
                raise SpecError(f"Invalid boolean: {value}", param=name)
            return value == "true"
        if "enum" in schema and value not in schema["enum"]:
            choices = [repr(c) if c == "" else c for c in schema["enum"]]
            listed = ", ".join(choices[:-1]) + f", or {choices[-1]}" if len(choices) > 1 else choices[0]
            raise SpecError(f"Invalid {name}: must be one of {listed}", param=name)
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise SpecError(f"Invalid string: {value[:40]}...; must be at most {schema['maxLength']} characters",
                            param=name)
        if schema.get("format") == "decimal" and not DECIMAL.fullmatch(value):
            raise SpecError(f"Invalid decimal: {value}", param=name)
        return value


_lock = threading.Lock()
_loaded: dict[Path, Spec] = {}


def spec_path() -> Path:
    return Path(os.environ.get("STRIPE_SPEC") or PUBLISHED)


def available() -> bool:
    return spec_path().exists()


def spec() -> Spec:
    """Stripe's OpenAPI description, read on first use and kept for the process."""
    path = spec_path()
    with _lock:
        if path not in _loaded:
            _loaded[path] = Spec(json.loads(path.read_text()))
        return _loaded[path]
