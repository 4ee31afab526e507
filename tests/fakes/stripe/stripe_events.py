"""Events: the record Stripe keeps of what happened (30 days), listed by catch-up when webhooks fail.

For tests, ``add_event(event)`` keeps an event as Stripe would once it happened (``events.event``
builds one); ``GET /v1/events`` lists them newest first, filtered by ``type`` / ``types`` and a
``created`` range (an exact time or ``gt``/``gte``/``lt``/``lte``), paged as every Stripe list is.
``delivery_success`` is accepted but filters nothing: the fake does not deliver webhooks.
"""

from __future__ import annotations

import copy

from .errors import invalid
from .objects import Resources, page, public, serves

_COMPARE = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}


class Events(Resources):
    # -- for tests -------------------------------------------------------------------------------

    def add_event(self, event: dict) -> dict:
        with self._lock:
            self._put(copy.deepcopy(event))
        return public(event)

    # -- served ----------------------------------------------------------------------------------

    @serves("GET", "/v1/events")
    def _list_events(self, params):
        if "type" in params and "types" in params:
            raise invalid("types", "You may pass either type or types, but not both.")
        wanted = set(params.get("types") or ([params["type"]] if "type" in params else []))
        found = [e for e in self._objects["event"].values()
                 if (not wanted or e["type"] in wanted) and _created_in(e["created"], params.get("created"))]
        found.sort(key=lambda e: (e["created"], e["id"]), reverse=True)
        return page(found, params, "/v1/events")

    @serves("GET", "/v1/events/{id}")
    def _retrieve_event(self, params, event_id):
        return public(self._find("event", event_id))


def _created_in(created: int, bounds) -> bool:
    if bounds is None:
        return True
    if isinstance(bounds, int):
        return created == bounds
    return all(_COMPARE[op](created, value) for op, value in bounds.items())
