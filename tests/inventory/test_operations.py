"""The booth's day through inventory.operations: counting a booth, moving stock between booths,
receiving a delivery. Plain behaviour, forced races (tests/race.py) and real threads on PostgreSQL."""

import io
import threading
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.exceptions import InsufficientStock, StockChangeRefused, StockConflict
from inventory.models import STOCK_MAX, Product, StockMovement
from inventory.operations import CountLine, MoveLine, delivery_receive, stock_transfer, stocktake_record
from inventory.services import StockLine, stock_decrease, stock_reserve_lines
from tests import factories
from tests.race import Worker, in_other_connection, run_before, waiting_behind_our_locks

from .test_services import assert_in_step, stock_of

R = StockMovement.Reason


def booth(name: str):
    return factories.store_create(store_id=f"store_{uuid.uuid4().hex[:12]}", name=name)


def product_in(store, stock: int, **fields):
    return factories.product_create(store=store, inventory=stock, link=False, **fields)


def twin_in(store, product, stock: int):
    """The same Stripe product stocked in another booth."""
    return factories.product_create(store=store, inventory=stock, link=False, name=product.name,
                             stripe_product_id=product.stripe_product_id)


def hold(product, units: int) -> str:
    ref = f"chk_{uuid.uuid4().hex[:10]}"
    stock_reserve_lines(lines=[StockLine(product.pk, units)], hold_ref=ref,
                        expires_at=timezone.now() + timedelta(minutes=10))
    return ref


def key() -> str:
    return uuid.uuid4().hex


def ledger(product, *, source_prefix: str) -> list[tuple]:
    return [(m.delta, m.reason, m.balance_after) for m in
            StockMovement.objects.filter(product=product, source__startswith=source_prefix).order_by("id")]


# --- counting a booth -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_count_records_each_difference_with_its_reason_and_the_staff_member(admin_user):
    # given
    hall = booth("Hall A")
    tee, mug, caps, stickers = (product_in(hall, 10), product_in(hall, 4), product_in(hall, 6),
                                product_in(hall, 40))

    # when: staff count the booth (stickers not counted)
    outcome = stocktake_record(store=hall, key="count-1", actor=admin_user, lines=[
        CountLine(tee.pk, shown=10, counted=8, reason=R.DAMAGED),
        CountLine(mug.pk, shown=4, counted=5, reason=R.COUNT),
        CountLine(caps.pk, shown=6, counted=6, reason=R.COUNT),
    ])

    # then
    assert [stock_of(p) for p in (tee, mug, caps, stickers)] == [8, 5, 6, 40]
    assert ledger(tee, source_prefix="stocktake:") == [(-2, R.DAMAGED, 8)]
    assert ledger(mug, source_prefix="stocktake:") == [(1, R.COUNT, 5)]
    assert ledger(caps, source_prefix="stocktake:") == []  # nothing to correct, nothing written
    movement = StockMovement.objects.get(product=tee, source="stocktake:count-1")
    assert movement.actor == admin_user and "counted 8" in movement.note
    assert outcome.moved_meanwhile == []
    assert_in_step(tee, mug, caps, stickers)


@pytest.mark.django_db
def test_the_same_count_sent_twice_changes_stock_once():
    hall = booth("Hall A")
    tee = product_in(hall, 10)
    lines = [CountLine(tee.pk, shown=10, counted=7, reason=R.LOST)]

    first = stocktake_record(store=hall, lines=lines, key="same-page")
    again = stocktake_record(store=hall, lines=lines, key="same-page")

    assert stock_of(tee) == 7
    assert [m.pk for m in again.movements] == [m.pk for m in first.movements]
    assert_in_step(tee)


@pytest.mark.django_db
def test_held_units_are_counted_and_stay_held():
    # given: 5 on the table, 2 of them held for a buyer in checkout
    hall = booth("Hall A")
    tee = product_in(hall, 5)
    hold(tee, 2)

    # when: staff count 4 (one was damaged)
    stocktake_record(store=hall, key=key(), lines=[CountLine(tee.pk, shown=5, counted=4, reason=R.DAMAGED)])

    # then: stock is the count, the buyer keeps their 2, only 2 are for sale
    tee = Product.objects.with_availability().get(pk=tee.pk)
    assert (tee.inventory, tee.available) == (4, 2)


@pytest.mark.django_db
def test_a_count_below_the_held_units_is_refused_and_nothing_of_the_count_changes():
    # given
    hall = booth("Hall A")
    tee, mug = product_in(hall, 5), product_in(hall, 9)
    hold(tee, 3)

    # when: the tee count (2) is below its 3 held units; the mug line is fine
    with pytest.raises(StockConflict) as refused:
        stocktake_record(store=hall, key=key(), lines=[CountLine(tee.pk, shown=5, counted=2, reason=R.LOST),
                                                        CountLine(mug.pk, shown=9, counted=7, reason=R.LOST)])

    # then: the whole count is refused, naming the tee and why
    assert [r.product_id for r in refused.value.refusals] == [tee.pk]
    assert "3 units held for buyers" in str(refused.value)
    assert (stock_of(tee), stock_of(mug)) == (5, 9)
    assert StockMovement.objects.filter(source__startswith="stocktake:").count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("line, expected", [
    (lambda p: CountLine(p.pk, shown=5, counted=6, reason=R.DAMAGED), "explains missing units"),
    (lambda p: CountLine(p.pk, shown=5, counted=5, reason=R.GIVEN_AWAY), "explains missing units"),
    (lambda p: CountLine(p.pk, shown=5, counted=-1), "whole number"),
    (lambda p: CountLine(p.pk, shown=5, counted=2.5), "whole number"),
    (lambda p: CountLine(p.pk, shown=5, counted=True), "whole number"),
    (lambda p: CountLine(p.pk, shown=5, counted=4, reason="sale"), "pick a reason"),
    (lambda p: CountLine(p.pk + 10_000, shown=5, counted=4), "not stocked in this booth"),
], ids=["damaged-up", "given-away-equal", "negative", "fraction", "bool", "reason", "other-product"])
def test_bad_count_lines_are_refused_and_change_nothing(line, expected):
    hall = booth("Hall A")
    tee, mug = product_in(hall, 5), product_in(hall, 5)

    with pytest.raises(StockChangeRefused) as refused:
        stocktake_record(store=hall, key=key(), lines=[CountLine(mug.pk, shown=5, counted=3), line(tee)])

    assert not isinstance(refused.value, StockConflict), "bad input, not a conflict with the stock"
    assert expected in str(refused.value)
    assert (stock_of(tee), stock_of(mug)) == (5, 5)


@pytest.mark.django_db
def test_another_booths_product_cannot_be_counted_here():
    hall_a, hall_b = booth("Hall A"), booth("Hall B")
    elsewhere = product_in(hall_b, 5)

    with pytest.raises(StockChangeRefused, match="not stocked in this booth"):
        stocktake_record(store=hall_a, key=key(), lines=[CountLine(elsewhere.pk, shown=5, counted=1)])
    assert stock_of(elsewhere) == 5


@pytest.mark.django_db
def test_a_count_is_taken_against_the_stock_as_it_is_under_the_lock_not_as_the_page_showed():
    # given: the page showed 10; two units sell (and leave the booth) while staff count 7 on the table
    hall = booth("Hall A")
    tee = product_in(hall, 10)
    stock_decrease(product=tee, quantity=2, source="cs_during_count")

    # when
    outcome = stocktake_record(store=hall, key=key(), lines=[CountLine(tee.pk, shown=10, counted=7, reason=R.DAMAGED)])

    # then: the stock is what was counted; the difference is taken from the stock then (8), and
    # staff are told stock moved meanwhile
    assert stock_of(tee) == 7
    assert [m.delta for m in outcome.movements] == [-1]
    assert outcome.moved_meanwhile == [tee.name]
    assert_in_step(tee)


@pytest.mark.django_db
def test_a_forged_shown_value_cannot_add_stock():
    # the probe: counted 100000 with shown 0, sent again and again, reached 200,007
    hall = booth("Hall A")
    tee = product_in(hall, 7)

    for _ in range(2):
        stocktake_record(store=hall, key=key(), lines=[CountLine(tee.pk, shown=0, counted=100_000)])

    assert stock_of(tee) == 100_000  # the count, once: never counted − shown on top of the stock
    assert_in_step(tee)


@pytest.mark.django_db
def test_stock_has_an_upper_bound_in_the_database_and_in_the_services(admin_user):
    hall = booth("Hall A")
    tee = product_in(hall, 950_000)
    with pytest.raises(StockConflict, match="above the most one product may have"):
        delivery_receive(store=hall, supplier_reference="huge", lines=[MoveLine(tee.pk, 60_000)], actor=admin_user)
    assert stock_of(tee) == 950_000
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=tee.pk).update(inventory=STOCK_MAX + 1)


@pytest.mark.django_db(transaction=True)
def test_a_sale_arriving_while_the_count_holds_its_lock_waits_and_is_not_lost():
    # given: a sale that starts once the count has locked the row
    hall = booth("Hall A")
    tee = product_in(hall, 10)
    sale = Worker(stock_decrease, product=tee, quantity=3, source="cs_blocked_by_count")

    # when
    with waiting_behind_our_locks("inventory.services._deltas_or_refuse", sale) as fired:
        stocktake_record(store=hall, key=key(), lines=[CountLine(tee.pk, shown=10, counted=8, reason=R.LOST)])
    sold = sale.outcome()

    # then: count first (10 → 8), the sale after it (8 → 5)
    assert fired.is_set()
    assert (sold.delta, sold.balance_after) == (-3, 5)
    assert stock_of(tee) == 5
    assert_in_step(tee)


@pytest.mark.django_db(transaction=True)
def test_counts_during_a_burst_of_sales_lose_and_invent_nothing():
    # given: 200 units; 16 buyers of 2 units each and 6 counts of 1 lost unit each, all at once
    # (22 connections: the PostgreSQL server is shared)
    hall = booth("Hall A")
    tee = product_in(hall, 200)
    barrier = threading.Barrier(22)

    def buy(i):
        return stock_decrease(product=tee, quantity=2, source=f"cs_burst_{i}")

    def count(i):
        # every count page was loaded before the burst (showed 200); each counts 150 on the table
        return stocktake_record(store=hall, key=f"burst-count-{i}",
                                lines=[CountLine(tee.pk, shown=200, counted=150, reason=R.LOST)])

    workers = [Worker(buy, barrier=barrier, i=i) for i in range(16)] + [
        Worker(count, barrier=barrier, i=i) for i in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)

    # then: every sale happened exactly once, every count set the stock it found under the lock:
    # the stock is 150 less the sales after the last count
    assert [w.error for w in workers if w.error] == []
    assert StockMovement.objects.filter(product=tee, source__startswith="cs_burst_").count() == 16
    # (a count that finds 150 already changes nothing and writes no row: no sale came since the last)
    last_count = StockMovement.objects.filter(product=tee, reason=R.LOST).latest("id")
    sold_after = StockMovement.objects.filter(product=tee, source__startswith="cs_burst_", id__gt=last_count.id).count()
    assert stock_of(tee) == 150 - 2 * sold_after
    assert_in_step(tee)


# --- moving stock between booths --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_move_takes_from_one_booth_and_adds_to_the_other_in_one_go(admin_user):
    # given
    hall_a, hall_b = booth("Hall A"), booth("Hall B")
    tee_a, mug_a = product_in(hall_a, 10), product_in(hall_a, 6)
    tee_b, mug_b = twin_in(hall_b, tee_a, 1), twin_in(hall_b, mug_a, 0)

    # when
    movements = stock_transfer(from_store=hall_a, to_store=hall_b, key="move-1", actor=admin_user,
                               lines=[MoveLine(tee_a.pk, 4), MoveLine(mug_a.pk, 6)])

    # then: both sides moved, linked by one source, with the staff member
    assert [stock_of(p) for p in (tee_a, tee_b, mug_a, mug_b)] == [6, 5, 0, 6]
    assert sorted((m.product_id, m.delta, m.reason) for m in movements) == sorted([
        (tee_a.pk, -4, R.TRANSFER_OUT), (tee_b.pk, 4, R.TRANSFER_IN),
        (mug_a.pk, -6, R.TRANSFER_OUT), (mug_b.pk, 6, R.TRANSFER_IN)])
    assert {m.source for m in movements} == {"transfer:move-1"} and {m.actor for m in movements} == {admin_user}
    assert "to Hall B" in StockMovement.objects.get(product=tee_a, source="transfer:move-1").note

    # and: the same move sent again is a no-op
    stock_transfer(from_store=hall_a, to_store=hall_b, key="move-1", lines=[MoveLine(tee_a.pk, 4)])
    assert (stock_of(tee_a), stock_of(tee_b)) == (6, 5)
    assert_in_step(tee_a, tee_b, mug_a, mug_b)


@pytest.mark.django_db
def test_held_units_never_move_and_a_refused_line_moves_nothing():
    # given: 5 tees of which 3 are held for a buyer, and plenty of mugs
    hall_a, hall_b = booth("Hall A"), booth("Hall B")
    tee_a, mug_a = product_in(hall_a, 5), product_in(hall_a, 9)
    tee_b, mug_b = twin_in(hall_b, tee_a, 0), twin_in(hall_b, mug_a, 0)
    hold(tee_a, 3)

    # when: moving 3 tees (only 2 are free) and 4 mugs
    with pytest.raises(StockConflict) as refused:
        stock_transfer(from_store=hall_a, to_store=hall_b, key=key(),
                       lines=[MoveLine(tee_a.pk, 3), MoveLine(mug_a.pk, 4)])

    # then
    assert [r.product_id for r in refused.value.refusals] == [tee_a.pk]
    assert "at most 2 can be taken" in str(refused.value)
    assert [stock_of(p) for p in (tee_a, tee_b, mug_a, mug_b)] == [5, 0, 9, 0]
    assert not StockMovement.objects.filter(source__startswith="transfer:").exists()


@pytest.mark.django_db
def test_moves_need_two_booths_a_twin_product_and_a_quantity():
    hall_a, hall_b = booth("Hall A"), booth("Hall B")
    tee_a, cap_a = product_in(hall_a, 5), product_in(hall_a, 5)
    twin_in(hall_b, tee_a, 0)

    with pytest.raises(StockChangeRefused, match="two different booths"):
        stock_transfer(from_store=hall_a, to_store=hall_a, key=key(), lines=[MoveLine(tee_a.pk, 1)])
    with pytest.raises(StockChangeRefused, match="does not stock it"):
        stock_transfer(from_store=hall_a, to_store=hall_b, key=key(), lines=[MoveLine(cap_a.pk, 1)])
    for bad in (0, -2, 1.5):
        with pytest.raises(StockChangeRefused, match="whole number"):
            stock_transfer(from_store=hall_a, to_store=hall_b, key=key(), lines=[MoveLine(tee_a.pk, bad)])
    with pytest.raises(StockChangeRefused, match="not stocked in Hall B"):
        stock_transfer(from_store=hall_b, to_store=hall_a, key=key(), lines=[MoveLine(tee_a.pk, 1)])
    assert (stock_of(tee_a), stock_of(cap_a)) == (5, 5)


@pytest.mark.django_db(transaction=True)
def test_a_sale_taking_the_units_just_before_the_move_locks_them_refuses_the_move():
    # given: 5 tees in Hall A; a buyer takes 2 and commits just before the move locks the rows
    hall_a, hall_b = booth("Hall A"), booth("Hall B")
    tee_a = product_in(hall_a, 5)
    tee_b = twin_in(hall_b, tee_a, 0)

    def competitor(*args, **kwargs):
        in_other_connection(stock_decrease, product=tee_a, quantity=2, source="cs_before_move")

    # when: moving all 5
    with run_before("inventory.services.products_lock", competitor) as fired, pytest.raises(StockConflict):
        stock_transfer(from_store=hall_a, to_store=hall_b, key=key(), lines=[MoveLine(tee_a.pk, 5)])

    # then: the sale stands, nothing moved, nothing was invented
    assert fired.is_set()
    assert (stock_of(tee_a), stock_of(tee_b)) == (3, 0)
    assert_in_step(tee_a, tee_b)


@pytest.mark.django_db(transaction=True)
def test_moves_both_ways_during_sales_in_both_booths_create_and_lose_no_unit():
    # given: the tee in two booths, 100 each
    hall_a, hall_b = booth("Hall A"), booth("Hall B")
    tee_a = product_in(hall_a, 100)
    tee_b = twin_in(hall_b, tee_a, 100)
    calls = []
    for i in range(8):  # moves in both directions: locks taken in pk order never deadlock
        there, back = (hall_a, hall_b) if i % 2 else (hall_b, hall_a)
        source = tee_a if i % 2 else tee_b
        calls.append((stock_transfer, {"from_store": there, "to_store": back, "key": f"both-ways-{i}",
                                       "lines": [MoveLine(source.pk, 7)]}))
    for i in range(16):  # 24 connections in all: the PostgreSQL server is shared
        calls.append((stock_decrease, {"product": tee_a if i % 2 else tee_b, "quantity": 3,
                                       "source": f"cs_both_{i}"}))
    barrier = threading.Barrier(len(calls))
    workers = [Worker(fn, barrier=barrier, **kwargs) for fn, kwargs in calls]

    # when
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)

    # then: every move and sale went through (plenty of stock) and units are conserved
    assert not [w for w in workers if w.is_alive()], "deadlocked"
    assert [w.error for w in workers if w.error and not isinstance(w.error, (InsufficientStock, StockConflict))] == []
    sold = -sum(StockMovement.objects.filter(product__in=[tee_a, tee_b], reason=R.SALE).values_list("delta", flat=True))
    assert stock_of(tee_a) + stock_of(tee_b) + sold == 200
    assert sold == 48
    outs = StockMovement.objects.filter(reason=R.TRANSFER_OUT, source__startswith="transfer:both-ways-")
    ins = StockMovement.objects.filter(reason=R.TRANSFER_IN, source__startswith="transfer:both-ways-")
    assert sorted(m.source for m in outs) == sorted(m.source for m in ins)
    assert_in_step(tee_a, tee_b)


# --- receiving a delivery ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_delivery_is_received_once_by_its_supplier_reference(admin_user):
    hall = booth("Hall A")
    tee, mug = product_in(hall, 2), product_in(hall, 0)

    first = delivery_receive(store=hall, supplier_reference="  ACME-1001 ", actor=admin_user,
                             lines=[MoveLine(tee.pk, 24), MoveLine(mug.pk, 12)])
    again = delivery_receive(store=hall, supplier_reference="ACME-1001", lines=[MoveLine(tee.pk, 24),
                                                                                 MoveLine(mug.pk, 12)])

    assert (stock_of(tee), stock_of(mug)) == (26, 12)
    assert (first.already_received, again.already_received) == (False, True)
    assert {(m.reason, m.source, m.actor_id) for m in first.movements} == {(R.DELIVERY, "delivery:ACME-1001",
                                                                            admin_user.pk)}
    assert "ACME-1001" in first.movements[0].note
    # a new product under the same reference next to one already received is refused, naming it
    cap = product_in(hall, 0)
    with pytest.raises(StockChangeRefused, match="already received under this reference"):
        delivery_receive(store=hall, supplier_reference="ACME-1001", lines=[MoveLine(tee.pk, 1), MoveLine(cap.pk, 5)])
    assert (stock_of(tee), stock_of(cap)) == (26, 0)
    assert_in_step(tee, mug, cap)


@pytest.mark.django_db
@pytest.mark.parametrize("reference", ["", "   ", "x" * 101])
def test_a_delivery_needs_a_supplier_reference(reference):
    hall = booth("Hall A")
    tee = product_in(hall, 2)
    with pytest.raises(StockChangeRefused, match="supplier's reference"):
        delivery_receive(store=hall, supplier_reference=reference, lines=[MoveLine(tee.pk, 1)])
    assert stock_of(tee) == 2


@pytest.mark.django_db
def test_reconcile_stock_passes_after_a_day_of_operations():
    hall_a, hall_b = booth("Hall A"), booth("Hall B")
    tee_a = product_in(hall_a, 10)
    tee_b = twin_in(hall_b, tee_a, 3)
    hold(tee_a, 1)
    delivery_receive(store=hall_a, supplier_reference="SUP-9", lines=[MoveLine(tee_a.pk, 10)])
    stock_transfer(from_store=hall_a, to_store=hall_b, key=key(), lines=[MoveLine(tee_a.pk, 5)])
    stock_decrease(product=tee_b, quantity=2, source="cs_day")
    stocktake_record(store=hall_b, key=key(), lines=[CountLine(tee_b.pk, shown=6, counted=5, reason=R.GIVEN_AWAY)])

    out = io.StringIO()
    call_command("reconcile_stock", stdout=out)

    assert "Stock matches the ledger" in out.getvalue()
    assert (stock_of(tee_a), stock_of(tee_b)) == (15, 5)


@pytest.mark.django_db
def test_the_admins_own_stock_edit_refuses_a_level_below_the_held_units(admin_client):
    from django.urls import reverse

    from tests.inventory.test_admin import changelist_form, messages_of

    hall = booth("Hall A")
    tee = product_in(hall, 5)
    hold(tee, 3)

    response = admin_client.post(reverse("admin:inventory_product_changelist"),
                                 changelist_form(admin_client, tee, form__0__inventory=2), follow=True)

    assert "below the 3 units held for buyers" in " ".join(messages_of(response))
    assert stock_of(tee) == 5
