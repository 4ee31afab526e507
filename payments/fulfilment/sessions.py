"""What a completed Checkout Session bought, decided from the signed session itself when it can tell.

No Stripe call is needed when the session came through a Payment Link the store knows, which sells
one product at a fixed unit price: quantity = amount_subtotal / unit price (before discounts and
tax), which must divide exactly, in the product's currency. Otherwise (an unknown link, several
lines, a customer-chosen or tiered price, or a sum that does not divide) the line items are
fetched from Stripe first, and the session waits for them.
"""

from dataclasses import dataclass

from inventory import selectors as inventory_selectors
from inventory.models import Product


@dataclass(frozen=True)
class PurchasedLine:
    product_id: int
    quantity: int
    price_id: str


@dataclass(frozen=True)
class SessionLines:
    matched: list[PurchasedLine]
    unmatched: list[str]


def session_is_paid_purchase(session: dict) -> bool:
    return session.get("mode") == "payment" and session.get("status") == "complete"


def lines_from_session(session: dict, link_product: Product | None) -> SessionLines | None:
    """The purchase told by the session alone, or None when its line items must be fetched."""
    if link_product is None or link_product.unit_amount <= 0:
        return None
    subtotal = session.get("amount_subtotal")
    if (session.get("currency") or "").lower() != link_product.currency.lower():
        return None
    if not isinstance(subtotal, int) or subtotal <= 0 or subtotal % link_product.unit_amount:
        return None
    line = PurchasedLine(link_product.pk, subtotal // link_product.unit_amount, link_product.stripe_price_id)
    return SessionLines(matched=[line], unmatched=[])


def lines_from_line_items(session: dict, line_items: list[dict], link_product: Product | None) -> SessionLines:
    """Map each fetched line to a product: by the session's Payment Link first, else by price (and store)."""
    store_id = (session.get("metadata") or {}).get("store_id") or (link_product.store_id if link_product else None)
    matched, unmatched = [], []
    for item in line_items:
        price_id = (item.get("price") or {}).get("id", "")
        product = link_product if link_product and link_product.stripe_price_id in ("", price_id) else None
        product = product or inventory_selectors.product_for_price(price_id=price_id, store_id=store_id)
        if product is None:
            unmatched.append(price_id or item.get("id", "?"))
        else:
            matched.append(PurchasedLine(product.pk, int(item.get("quantity") or 1), price_id))
    return SessionLines(matched=matched, unmatched=unmatched)


def link_products(sessions: list[dict]) -> dict[str, Product]:
    """The products behind the sessions' Payment Links, in one query."""
    ids = {s.get("payment_link") for s in sessions if s.get("payment_link")}
    return inventory_selectors.products_for_payment_links(payment_link_ids=sorted(ids))
