"""Checkout Sessions in ``payment`` mode: create, retrieve (expand line_items / payment_intent), expire,
list line items; and, for tests, what Stripe makes happen on its side: the buyer pays
(``complete_session``) or the session runs out (``expire_session``).

A created session is ``open`` with a ``url`` to pay at and no PaymentIntent yet (Stripe creates it
when the buyer pays, API 2022-08-01 and later). ``expires_at`` must fall 30 minutes to 24 hours after
creation (default 24 hours), measured in whole seconds when the request arrives, as Stripe does: a
caller computing ``now + 30 min`` needs a margin.

Payment status on completion: ``paid`` with automatic capture; ``unpaid`` with manual capture, where
the money is only authorised. Stripe's object reference defines ``paid`` as "the payment funds are
available in your account", which an uncaptured authorisation is not; the store's capture hint
(payments.fulfilment.purchases) and its offline simulator read it the same way.
"""

from __future__ import annotations

import time

from .catalogue import line_item, price_shape
from .errors import StripeError, invalid
from .objects import Resources, merge_metadata, page, public, serves, store_fields
from .shapes import shape, token

MIN_LIFETIME, MAX_LIFETIME = 30 * 60, 24 * 60 * 60
HANDLED = {"mode", "line_items", "expires_at", "metadata", "payment_intent_data", "expand"}
NO_FILLER = dict(  # the fixture's example values would read as real shipping costs, FX and taxes
    shipping_cost=None, currency_conversion=None, shipping_address_collection=None,
    total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0})


class CheckoutSessions(Resources):
    # -- for tests -------------------------------------------------------------------------------

    def add_checkout_session(self, id, *, payment_intent, payment_link=None, line_items, metadata=None,
                             amount_total=None, status="complete", payment_status="paid", **fields) -> dict:
        """A session as Stripe would hold it after the fact (complete and paid by default).

        ``line_items``: dicts of ``price``, ``product``, ``quantity``, ``unit_amount`` (and optionally
        ``description``, ``currency``); the prices need not be known to the fake.
        """
        items = [line_item(price_shape(i["price"], product=i["product"], unit_amount=i["unit_amount"],
                                       currency=i.get("currency", "usd")),
                           i["quantity"], description=i.get("description") or i["product"]) for i in line_items]
        session = self._session(id, items, status=status, payment_status=payment_status,
                                payment_intent=payment_intent, payment_link=payment_link,
                                metadata=dict(metadata or {}))
        if amount_total is not None:
            session.update(amount_subtotal=amount_total, amount_total=amount_total)
        session.update(fields)
        with self._lock:
            self._put(session)
            self._count_completed_session(session)
        return public(session)

    def next_sessions_without_url(self, count: int = 1) -> None:
        """The next ``count`` sessions created have ``url: null``, which Stripe's spec allows (sessions
        whose page is embedded have none): for a caller that must cope without a page to send to."""
        with self._lock:
            self._sessions_without_url = count

    def complete_session(self, session_id: str, *, capture_method: str | None = None) -> dict:
        """The buyer pays an open session: its PaymentIntent is made (``requires_capture`` for manual
        capture, else ``succeeded``; capture method from the argument, else the session's
        ``payment_intent_data``), the session turns ``complete`` and counts against its Payment Link.
        Returns the session, e.g. for ``events.event("checkout.session.completed", session)``."""
        with self._lock:
            session = self._open_session(session_id, "complete")
            intent_data = session["_payment_intent_data"]
            capture = capture_method or intent_data.get("capture_method") or "automatic"
            manual = capture == "manual"
            intent = self.add_payment_intent(
                f"pi_{token(24)}", amount=session["amount_total"], currency=session["currency"],
                status="requires_capture" if manual else "succeeded", capture_method=capture,
                metadata=intent_data.get("metadata") or {}, description=intent_data.get("description"))
            session.update(status="complete", payment_status="unpaid" if manual else "paid", url=None,
                           payment_intent=intent["id"], customer_details=shape("checkout.session")["customer_details"])
            self._count_completed_session(session)
            return public(session)

    def expire_session(self, session_id: str) -> dict:
        """Stripe expires an open session (as when its ``expires_at`` passes); returns it."""
        with self._lock:
            session = self._open_session(session_id, "expire")
            session.update(status="expired", url=None)
            return public(session)

    def _open_session(self, session_id: str, action: str) -> dict:
        session = self._objects["checkout.session"].get(session_id)
        if session is None or self._lapse(session)["status"] != "open":
            state = session["status"] if session else "unknown to the fake"
            raise ValueError(f"cannot {action} checkout session {session_id}: it is {state}")
        return session

    def _session(self, id: str, items: list, **fields) -> dict:
        total = sum(i["amount_total"] for i in items)
        now = int(time.time())
        defaults = dict(amount_subtotal=total, amount_total=total, currency=items[0]["currency"] if items else "usd",
                        created=now, expires_at=now + MAX_LIFETIME, **NO_FILLER, _line_items=items,
                        _payment_intent_data={},
                        url=f"https://checkout.stripe.com/c/pay/{id}" if fields.get("status") == "open" else None)
        return shape("checkout.session", id=id, **{**defaults, **fields})

    @staticmethod
    def _lapse(session: dict) -> dict:
        """Stripe expires an open session once its ``expires_at`` has passed."""
        if session["status"] == "open" and session["expires_at"] <= time.time():
            session.update(status="expired", url=None)
        return session

    def _find_session(self, id: str) -> dict:
        return self._lapse(self._find("checkout.session", id, "session"))

    # -- endpoints -------------------------------------------------------------------------------

    @serves("POST", "/v1/checkout/sessions")
    def _create_session(self, params):
        if params.get("mode", "payment") != "payment":
            raise invalid("mode", "The Stripe fake serves Checkout Sessions in payment mode only.")
        now = int(time.time())
        expires_at = params.get("expires_at", now + MAX_LIFETIME)
        # Stripe's messages (as reported by its users); it documents no error code for them.
        if expires_at < now + MIN_LIFETIME:
            raise invalid("expires_at", "The `expires_at` timestamp must be at least 30 minutes from Checkout "
                          "Session creation.", code=None)
        if expires_at > now + MAX_LIFETIME:
            raise invalid("expires_at", "The `expires_at` timestamp must be less than 24 hours from Checkout "
                          "Session creation.", code=None)
        items = [self._priced_item(item, index) for index, item in enumerate(params.get("line_items") or [])]
        if not items:
            raise invalid("line_items", "Missing required param: line_items.", "parameter_missing")
        if len({i["currency"] for i in items}) > 1:
            raise invalid("line_items", "All line items must have the same currency.")
        session = self._session(
            f"cs_test_{token(58)}", items, status="open", payment_status="unpaid", mode="payment",
            payment_intent=None, payment_link=None, customer_details=None, expires_at=expires_at,
            metadata=merge_metadata({}, params.get("metadata")), success_url=None, cancel_url=None,
            _payment_intent_data=params.get("payment_intent_data") or {})
        store_fields(session, params, HANDLED)
        if self._sessions_without_url > 0:
            self._sessions_without_url -= 1
            session["url"] = None
        return public(self._put(session))

    def _priced_item(self, item: dict, index: int) -> dict:
        at = f"line_items[{index}]"
        if "quantity" not in item:
            raise invalid(f"{at}[quantity]", f"Missing required param: {at}[quantity].", "parameter_missing")
        if item["quantity"] < 1:
            raise invalid(f"{at}[quantity]", "This value must be greater than or equal to 1.")
        if item.get("price"):
            price = self._price(item["price"], f"{at}[price]")
            name = (self._objects["product"].get(price["product"]) or {}).get("name", price["product"])
        elif item.get("price_data"):
            price, name = self._inline_price(item["price_data"], f"{at}[price_data]")
        else:
            # Stripe's wording for this case is not documented; the parameter is what matters.
            raise invalid(f"{at}[price]", f"Missing required param: {at}[price] (or {at}[price_data]).",
                          "parameter_missing")
        return line_item(price, item["quantity"], description=name)

    def _inline_price(self, data: dict, at: str) -> tuple[dict, str]:
        if "unit_amount" not in data:
            raise invalid(f"{at}[unit_amount]", f"Missing required param: {at}[unit_amount].", "parameter_missing")
        if data.get("product"):
            product = self._find("product", data["product"], f"{at}[product]", status=400)
        elif data.get("product_data"):
            product = self.add_product(f"prod_{token(14)}", name=data["product_data"]["name"])
        else:
            raise invalid(f"{at}[product]", f"Missing required param: {at}[product] (or {at}[product_data]).",
                          "parameter_missing")
        price = price_shape(f"price_{token(24)}", product=product["id"], unit_amount=data["unit_amount"],
                            currency=data["currency"])
        return price, product["name"]

    @serves("GET", "/v1/checkout/sessions/{session}")
    def _get_session(self, params, id):
        session = public(self._find_session(id))
        expand = params.get("expand") or []
        if "line_items" in expand:
            session["line_items"] = self._list_session_items({"limit": 100}, id)
        if "payment_intent" in expand and session["payment_intent"] in self._objects["payment_intent"]:
            session["payment_intent"] = public(self._objects["payment_intent"][session["payment_intent"]])
        return session

    @serves("POST", "/v1/checkout/sessions/{session}/expire")
    def _expire_session(self, params, id):
        session = self._find_session(id)
        if session["status"] != "open":
            # Stripe's message, as its users report it (no error code is documented for it).
            raise StripeError(400, "invalid_request_error", 'Only Checkout Sessions with a status in ["open"] can '
                              f"be expired. This Checkout Session has a status of `{session['status']}`.")
        session.update(status="expired", url=None)
        return public(session)

    @serves("GET", "/v1/checkout/sessions/{session}/line_items")
    def _list_session_items(self, params, id):
        items = self._find_session(id)["_line_items"]
        listed = page(items, params, f"/v1/checkout/sessions/{id}/line_items")
        if "data.price.product" in (params.get("expand") or []):
            for item in listed["data"]:
                price = item["price"]
                known = self._objects["product"].get(price["product"])
                price["product"] = public(known) if known else shape(
                    "product", id=price["product"], name=item["description"], default_price=price["id"],
                    package_dimensions=None)
        return listed
