"""Payment Links: create, retrieve, list, update (active, restrictions, metadata...), their line items,
and the count of completed sessions Stripe keeps against ``restrictions.completed_sessions.limit``."""

from __future__ import annotations

import copy

from .catalogue import line_item, price_shape
from .errors import invalid
from .objects import Resources, merge_metadata, page, public, serves
from .shapes import shape, token

# Fields Stripe computes itself.
READ_ONLY = {"id", "object", "livemode", "url", "currency", "application"}


class PaymentLinks(Resources):
    # -- for tests -------------------------------------------------------------------------------

    def add_payment_link(self, id, *, price, url=None, active=True, completed_count=0, limit=None,
                         capture_method=None, metadata=None, inactive_message=None, quantity=1, **fields) -> dict:
        """A Payment Link selling ``quantity`` of ``price`` (which the fake need not know)."""
        link = shape(
            "payment_link", id=id, active=active, url=url or f"https://buy.stripe.com/test_{id}",
            metadata=dict(metadata or {}), inactive_message=inactive_message,
            restrictions=({"completed_sessions": {"count": completed_count, "limit": limit}}
                          if limit is not None else None),
            payment_intent_data={**shape("payment_link")["payment_intent_data"],
                                 "capture_method": capture_method, "metadata": {}},
            transfer_data=None, shipping_address_collection=None,
            # Stripe keeps line items behind a separate endpoint; "_" keys are never served.
            _line_items=[{"price": price, "quantity": quantity}])
        link.update(fields)
        return public(self._put(link))

    def _count_completed_session(self, session: dict) -> None:
        """Stripe counts each completed session against its Payment Link's restriction."""
        link = self._objects["payment_link"].get(session.get("payment_link") or "")
        completed = ((link or {}).get("restrictions") or {}).get("completed_sessions")
        if session["status"] == "complete" and completed is not None:
            completed["count"] = int(completed.get("count") or 0) + 1

    # -- endpoints -------------------------------------------------------------------------------

    @serves("GET", "/v1/payment_links/{payment_link}")
    def _get_link(self, params, id):
        return public(self._find("payment_link", id))

    @serves("POST", "/v1/payment_links")
    def _create_link(self, params):
        for index, item in enumerate(params["line_items"]):
            self._price(item["price"], f"line_items[{index}][price]")
        id = f"plink_{token(24)}"
        link = self._objects["payment_link"][self.add_payment_link(id, price=None)["id"]]
        link["_line_items"] = [{"price": i["price"], "quantity": i["quantity"]} for i in params["line_items"]]
        self._apply_link_params(link, {k: v for k, v in params.items() if k != "line_items"})
        return public(link)

    @serves("GET", "/v1/payment_links")
    def _list_links(self, params):
        links = [link for link in reversed(self._objects["payment_link"].values())  # newest first
                 if "active" not in params or link["active"] == params["active"]]
        return page(links, {k: v for k, v in params.items() if k != "active"}, "/v1/payment_links")

    @serves("POST", "/v1/payment_links/{payment_link}")
    def _update_link(self, params, id):
        link = self._find("payment_link", id)
        updated = copy.deepcopy(link)  # refuse before changing anything
        self._apply_link_params(updated, params)
        link.update(updated)
        return public(link)

    def _apply_link_params(self, link: dict, params: dict) -> None:
        for name, value in params.items():
            if name == "inactive_message":
                link[name] = value or None
            elif name == "metadata":
                link[name] = merge_metadata(link.get("metadata"), value)
            elif name == "restrictions":
                if value != "" and value["completed_sessions"]["limit"] < 1:
                    raise invalid("restrictions[completed_sessions][limit]", "This value must be greater than or "
                                  "equal to 1.")
                count = ((link.get("restrictions") or {}).get("completed_sessions") or {}).get("count", 0)
                link[name] = None if value == "" else {"completed_sessions": {
                    "count": count, "limit": value["completed_sessions"]["limit"]}}
            elif name == "payment_intent_data":
                link[name] = {**link[name], **value}
            elif name in link and name not in READ_ONLY:
                link[name] = value

    @serves("GET", "/v1/payment_links/{payment_link}/line_items")
    def _list_link_items(self, params, id):
        link = self._find("payment_link", id)
        items = []
        for index, entry in enumerate(link["_line_items"]):
            price = self._objects["price"].get(entry["price"]) or price_shape(entry["price"], product="", unit_amount=0)
            product = self._objects["product"].get(price["product"]) or {}
            items.append(line_item(price, entry["quantity"], description=product.get("name", ""),
                                   id=f"li_{id.removeprefix('plink_')}_{index}"))
        return page(items, params, f"/v1/payment_links/{id}/line_items")
