"""Pages for counting a booth, moving stock between booths and receiving a delivery.

Thin adapters: read the form, call one inventory operation, render. Bad input re-renders the page
with each problem next to its line (400), a refusal by the stock as it is now (units held for
buyers, not enough left) likewise with 409; in both cases nothing changed. Success redirects back
(so a reload does not send the form again) with a message; each rendered form carries a key, the
ledger source, so a form sent twice changes stock once.
"""

import uuid

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from common import words
from inventory import selectors
from inventory.exceptions import Refusal, StockChangeRefused, StockConflict
from inventory.models import StockMovement
from inventory.operations import STOCKTAKE_REASONS, CountLine, MoveLine, delivery_receive, stock_transfer, stocktake_record

from .access import page_context, staff_booth_or_403, staff_booths, staff_permission_required


class FormErrors:
    """Problems of one form: next to the line of a product the page lists, else for the whole form."""

    def __init__(self, listed=()):
        self.listed: set[int] = {p.pk for p in listed}
        self.by_product: dict[int, list[str]] = {}
        self.general: list[str] = []

    def add(self, product_id: int | None, message: str) -> None:
        if product_id in self.listed:
            self.by_product.setdefault(product_id, []).append(message)
        else:
            self.general.append(message)

    def add_refusals(self, refusals: list[Refusal]) -> None:
        for r in refusals:
            self.add(r.product_id, r.reason if r.product_id in self.listed else str(r))

    def __bool__(self):
        return bool(self.by_product or self.general)

    def summary(self) -> str:
        n = len(self.by_product) + len(self.general)
        return f"Nothing was changed: {words.problems(n)} to fix below."


def _key(request, errors: FormErrors) -> str | None:
    """The rendered form's key (the ledger source): a form sent twice changes stock once."""
    try:
        return uuid.UUID(request.POST.get("key", "")).hex
    except ValueError:
        errors.add(None, "This form has expired: reload the page and enter it again.")
        return None


# An operation names its lines' problems first and the stock's (units held for buyers, not enough
# left) only for lines without any: trying the other lines again finds those too.
MAX_TRIES = 3


def _submit(request, errors: FormErrors, attempt, done) -> tuple[HttpResponse | None, int]:
    """Run `attempt(skip)` (the inventory operation on the lines of products not in `skip`, or None
    when none is left) and, if nothing is wrong, `done` with its outcome (say so, and where to go
    next). Otherwise every problem shows at once: the lines still good are tried in a transaction
    rolled back, again without the ones refused, so the stock's refusals are named with the input's.
    Nothing changes then; the answer is 400 (bad input) or 409 (only refused by the stock as it is
    now): (None, status)."""
    status, skip = (400 if errors else 409), set()
    for _ in range(MAX_TRIES):
        try:
            with transaction.atomic():
                outcome = attempt(skip)
                if errors:
                    transaction.set_rollback(True)
        except StockChangeRefused as refused:
            errors.add_refusals(refused.refusals)
            status = 400 if status == 400 or not isinstance(refused, StockConflict) else 409
            refused_now = {r.product_id for r in refused.refusals if r.product_id is not None} - skip
            if not refused_now:
                break
            skip |= refused_now
        else:
            if not errors:
                return done(outcome), 200
            break
    messages.error(request, errors.summary())
    return None, status


def _store_pick_view(*, permission: str, title: str, target: str, intro: str):
    """A page listing the booths, each linked to `target` (a URL name taking the store id)."""

    @staff_permission_required(permission)
    @require_http_methods(["GET"])
    def store_pick(request):
        return render(request, "backoffice/store_pick.html", page_context(
            request, title, stores=staff_booths(request), target=target, intro=intro))

    return store_pick


def _booth(request, store_id: str):
    """The staff member's booth and its products with their held units, as a count or a delivery
    page lists them."""
    store = staff_booth_or_403(request, store_id)
    return store, selectors.product_list_with_holds(store=store)


def _whole(raw: str | None) -> int | None | str:
    """An int for a whole number, None for an empty field, the text itself when it is not one."""
    text = (raw or "").strip()
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else text


def _rows(products, errors: FormErrors, data, *prefixes: str) -> list[dict]:
    return [{"product": p, "errors": errors.by_product.get(p.pk, []),
             **{prefix: data.get(f"{prefix}-{p.pk}", "") for prefix in prefixes}} for p in products]


# --- Counting a booth ---------------------------------------------------------------------------------


stocktake_index = _store_pick_view(permission="inventory.count_stock", title="Count a booth",
                                   target="backoffice:stocktake", intro="Pick the booth to count.")


@staff_permission_required("inventory.count_stock")
@require_http_methods(["GET", "POST"])
def stocktake(request, store_id: str):
    def read(data, products, errors):
        return _count_lines(data, products, errors), _key(request, errors)

    def count(store, lines_and_key, skip):
        lines, key = lines_and_key
        lines = [x for x in lines if x.product_id not in skip]
        return stocktake_record(store=store, lines=lines, key=key or uuid.uuid4().hex, actor=request.user) if lines else None

    def counted(store, lines_and_key, outcome):
        _stocktake_messages(request, outcome, len(lines_and_key[0]))
        return redirect("backoffice:stocktake", store_id=store.pk)

    return _booth_form(request, store_id, read=read, apply=count, done=counted, template="backoffice/stocktake.html",
                       title="Count {store.name}", fields=("counted", "reason", "shown"), key=uuid.uuid4().hex,
                       reasons=[(r, StockMovement.Reason(r).label) for r in STOCKTAKE_REASONS])


def _booth_form(request, store_id: str, *, read, apply, done, template: str, title: str, fields: tuple[str, ...],
                **context):
    """A one-page form over a booth's products: on POST, `read` the lines (naming bad ones in the
    errors; a tuple whose first item is the good lines), `apply` them, and say it is `done` (see
    _submit); otherwise, or after a refusal, render the page."""
    store, products = _booth(request, store_id)
    errors, data, status = FormErrors(products), {}, 200
    if request.method == "POST":
        data = request.POST
        read_out = read(data, products, errors)
        answer, status = _submit(request, errors, lambda skip: apply(store, read_out, skip),
                                 lambda outcome: done(store, read_out, outcome))
        if answer:
            return answer
    return render(request, template, page_context(
        request, title.format(store=store), store=store, errors=errors, rows=_rows(products, errors, data, *fields),
        **context), status=status)


def _count_lines(data, products, errors: FormErrors) -> list[CountLine]:
    lines = []
    for p in products:
        counted = _whole(data.get(f"counted-{p.pk}"))
        if counted is None:
            continue
        shown = _whole(data.get(f"shown-{p.pk}"))
        if isinstance(counted, str):
            errors.add(p.pk, f"“{counted}” is not a count: enter a whole number (0 or more).")
        elif not isinstance(shown, int):
            errors.add(p.pk, "This line has expired: reload the page and count again.")
        else:
            lines.append(CountLine(p.pk, shown=shown, counted=counted,
                                   reason=data.get(f"reason-{p.pk}") or StockMovement.Reason.COUNT))
    if not lines and not errors:
        errors.add(None, "Enter the count of at least one product (leave the others empty).")
    return lines


def _stocktake_messages(request, outcome, counted: int) -> None:
    changed = ", ".join(f"{m.product.display_name} {m.delta:+d} ({m.get_reason_display().lower()})" for m in outcome.movements)
    messages.success(request, f"Count recorded for {words.products(counted)}: "
                              + (changed if changed else "everything matched, nothing changed."))
    if outcome.moved_meanwhile:
        messages.warning(request, "Stock moved while you counted (sales?): "
                                  f"{', '.join(outcome.moved_meanwhile)}. Your count was applied on top of those "
                                  "moves; count them again if the items had already left the booth.")


# --- Moving stock between booths ----------------------------------------------------------------


@staff_permission_required("inventory.transfer_stock")
@require_http_methods(["GET", "POST"])
def transfer(request):
    stores = staff_booths(request)  # both sides must be booths this staff member works at
    by_id = {s.pk: s for s in stores}
    params = request.POST if request.method == "POST" else request.GET
    from_store, to_store = by_id.get(params.get("from", "")), by_id.get(params.get("to", ""))
    errors, status = FormErrors(), 200
    if params.get("from", "") and from_store is None or params.get("to") and to_store is None:
        errors.add(None, "Pick booths from the lists.")
    elif from_store and to_store and from_store.pk == to_store.pk:
        errors.add(None, "Pick two different booths.")
    products = _movable(from_store, to_store) if from_store and to_store and not errors else []
    errors.listed = {p.pk for p in products}
    if request.method == "POST" or errors:
        lines = _move_lines(request.POST, products, errors) if request.method == "POST" and not errors else []
        key = _key(request, errors) if request.method == "POST" else None

        def move(skip):
            kept = [x for x in lines if x.product_id not in skip]
            return stock_transfer(from_store=from_store, to_store=to_store, lines=kept, key=key or uuid.uuid4().hex,
                                  actor=request.user) if kept else None

        def moved(movements):
            moved = ", ".join(f"{m.delta} × {m.product.display_name}" for m in movements if m.delta > 0)
            messages.success(request, f"Moved from {from_store.name} to {to_store.name}: {moved}.")
            return redirect(f"{reverse('backoffice:transfer')}?from={from_store.pk}&to={to_store.pk}")

        answer, status = _submit(request, errors, move, moved)
        if answer:
            return answer
    return render(request, "backoffice/transfer.html", page_context(
        request, "Move stock between booths", stores=stores, from_store=from_store, to_store=to_store,
        key=uuid.uuid4().hex, errors=errors,
        rows=_rows(products, errors, request.POST if request.method == "POST" else {}, "quantity")), status=status)


def _movable(from_store, to_store) -> list:
    """The first booth's products that the second booth stocks too (same Stripe product, size and colour)."""
    there = {(p.stripe_product_id, p.size, p.colour) for p in selectors.product_list_for_store(store=to_store)}
    return [p for p in selectors.product_list_with_holds(store=from_store)
            if (p.stripe_product_id, p.size, p.colour) in there]


def _move_lines(data, products, errors: FormErrors) -> list[MoveLine]:
    lines = []
    for p in products:
        quantity = _whole(data.get(f"quantity-{p.pk}"))
        if quantity is None or quantity == 0:
            continue
        if isinstance(quantity, str):
            errors.add(p.pk, f"“{quantity}” is not a quantity: enter a whole number.")
        else:
            lines.append(MoveLine(p.pk, quantity))
    if not lines and not errors:
        errors.add(None, "Enter a quantity for at least one product.")
    return lines


# --- Receiving a delivery -------------------------------------------------------------------------


receive_index = _store_pick_view(permission="inventory.receive_stock", title="Receive a delivery",
                                 target="backoffice:receive", intro="Pick the booth the delivery is for.")


@staff_permission_required("inventory.receive_stock")
@require_http_methods(["GET", "POST"])
def receive(request, store_id: str):
    def read(data, products, errors):
        lines, reference = _move_lines(data, products, errors), " ".join(data.get("reference", "").split())
        if not lines and not reference:  # no line to try (which would name it): say it here, with the rest
            errors.add(None, "Enter the supplier's reference (the delivery note's number).")
        return lines, reference

    def receive_delivery(store, lines_and_reference, skip):
        lines, reference = lines_and_reference
        lines = [x for x in lines if x.product_id not in skip]
        return delivery_receive(store=store, supplier_reference=reference, lines=lines, actor=request.user) if lines else None

    def received(store, lines_and_reference, outcome):
        reference = lines_and_reference[1]
        received = ", ".join(f"{m.delta} × {m.product.display_name}" for m in outcome.movements)
        if outcome.already_received:
            messages.warning(request, f"Delivery {reference} was already received ({received}): nothing changed.")
        else:
            messages.success(request, f"Delivery {reference} received: {received}.")
        return redirect("backoffice:receive", store_id=store.pk)

    return _booth_form(request, store_id, read=read, apply=receive_delivery, done=received,
                       template="backoffice/receive.html",
                       title="Receive a delivery at {store.name}", fields=("quantity",),
                       reference=request.POST.get("reference", ""))
