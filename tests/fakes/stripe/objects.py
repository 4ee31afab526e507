"""What every resource module shares: serving stored objects, metadata updates, list pages."""

from __future__ import annotations

import copy

from .errors import invalid, missing


def public(obj: dict) -> dict:
    """What Stripe serves of a stored object: everything but the fake's own ``_`` bookkeeping keys."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


def merge_metadata(current: dict | None, update) -> dict:
    """Stripe: ``metadata=""`` clears everything, ``metadata[k]=""`` deletes one key, others merge."""
    if update == "":
        return {}
    merged = dict(current or {})
    for key, value in (update or {}).items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def store_fields(obj: dict, params: dict, handled) -> None:
    """Keep what a request sets that the fake does not interpret but Stripe would serve back: any
    parameter named like a plain (non-hash) field of the object, ``""`` meaning unset."""
    for name, value in params.items():
        if name not in handled and name in obj and not isinstance(obj[name], dict):
            obj[name] = None if value == "" else value


def page(items: list, params: dict, url: str) -> dict:
    """One page of a Stripe list (``limit`` 1..100, default 10; ``starting_after`` / ``ending_before``)."""
    limit = params.get("limit", 10)
    if not 1 <= limit <= 100:
        raise invalid("limit", "This value must be greater than or equal to 1 and less than or equal to 100.")
    ids = [item["id"] for item in items]
    for cursor in ("starting_after", "ending_before"):
        if params.get(cursor) and params[cursor] not in ids:
            raise missing("object", params[cursor], cursor, status=400)
    if params.get("starting_after"):
        rest = items[ids.index(params["starting_after"]) + 1:]
        chosen, has_more = rest[:limit], len(rest) > limit
    elif params.get("ending_before"):
        rest = items[:ids.index(params["ending_before"])]
        chosen, has_more = rest[-limit:], len(rest) > limit
    else:
        chosen, has_more = items[:limit], len(items) > limit
    return {"object": "list", "data": [public(item) for item in chosen], "has_more": has_more, "url": url}


def serves(method: str, path: str):
    """Marks a resource method as the handler of a spec operation, e.g. ``@serves("POST", "/v1/refunds")``."""
    def mark(handler):
        handler.serves = (method, path)
        return handler

    return mark


class Resources:
    """The state every resource module works on: Stripe objects by kind, then id.

    Resource modules are mixins of the fake (``server.StripeFake``); a method marked ``@serves(method,
    spec path)`` handles that operation. Handlers are called with the typed parameters
    (``spec.check_params``) and the path's ids, with the fake's lock held; they answer a dict or raise
    ``errors.StripeError``.
    """

    KINDS = ("checkout.session", "payment_link", "payment_intent", "refund", "product", "price", "event")
    _objects: dict[str, dict[str, dict]]

    @classmethod
    def routes(cls) -> dict[tuple[str, str], str]:
        """``(method, spec path) -> handler name`` for every operation the class serves."""
        return {getattr(cls, name).serves: name for name in dir(cls) if hasattr(getattr(cls, name), "serves")}

    def _forget_objects(self) -> None:
        self._objects = {kind: {} for kind in self.KINDS}

    def get(self, kind: str, id: str) -> dict | None:
        """A copy of a stored object with the fake's bookkeeping, e.g. ``get("payment_link", "plink_1")``."""
        with self._lock:
            return copy.deepcopy(self._objects[kind].get(id))

    def _find(self, kind: str, id: str, param: str = "id", *, status: int = 404) -> dict:
        obj = self._objects[kind].get(id)
        if obj is None:
            raise missing(kind, id, param, status=status)
        return obj

    def _put(self, obj: dict) -> dict:
        with self._lock:
            self._objects[obj["object"]][obj["id"]] = obj
        return obj
