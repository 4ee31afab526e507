"""inventory.services, the only writer of stock, against real PostgreSQL and the Redis channel layer.

Three kinds of test: plain behaviour (inside the test transaction), deterministic races that inject
a competing write at the worst moment (tests/race.py), and real threads started together.
"""

import threading

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum

from inventory.broadcast import product_group
from inventory.exceptions import InsufficientStock, InvalidStockChange, Shortfall
from inventory.models import Product, StockMovement
from inventory.selectors import stock_drift
from inventory.services import StockLine, stock_decrease, stock_decrease_lines, stock_increase, stock_set
from inventory.signals import stock_changed
from tests.live_feed import LayerListener
from tests.race import Worker, before_sql, in_other_connection, run_before, wait_until_blocked_on_lock


def takes_hold_of_stock(sql: str) -> bool:
    """The first statement that locks or writes a product row: the worst moment for a competitor,
    whether the service locks first (SELECT … FOR UPDATE) or relies on a conditional UPDATE."""
    return sql.startswith('UPDATE "inventory_product"') or (
        'FROM "inventory_product"' in sql and "FOR UPDATE" in sql)


@pytest.fixture
def product_with(make_product):
    """``product_with(inventory)``. No Payment Link: stock_changed also reaches payments' link sync, which is
    not under test here."""
    return lambda inventory: make_product(inventory=inventory, link=False)


def stock_of(product) -> int:
    return Product.objects.values_list("inventory", flat=True).get(pk=product.pk)


def movements_of(product, **filters) -> list[StockMovement]:
    return list(StockMovement.objects.filter(product=product, **filters).order_by("id"))


def assert_in_step(*products):
    """What reconcile_stock checks, for this test's products: stock == ledger sum == last balance."""
    for p in products:
        assert (StockMovement.objects.filter(product=p).aggregate(s=Sum("delta"))["s"] or 0) == stock_of(p)
    ids = {p.pk for p in products}
    assert [d for d in stock_drift() if d["product"].pk in ids] == []


# --- plain behaviour -------------------------------------------------------------------------------


@pytest.fixture
def heard_stock_changed():
    heard = []

    def receiver(sender, product_id, **kwargs):
        heard.append(product_id)

    stock_changed.connect(receiver)
    yield heard
    stock_changed.disconnect(receiver)


@pytest.fixture
def product_watcher():
    """A channel subscribed to one product's group, as a product page's websocket would be."""
    listeners = []

    def watch(product):
        listener = LayerListener()
        listener.join(product_group(product.store_id, product.stripe_product_id))
        listeners.append(listener)
        return listener

    watch.receive = lambda listener, timeout=3: listener.receive(timeout)
    yield watch
    for listener in listeners:
        listener.close()


@pytest.mark.django_db
def test_decrease_takes_stock_writes_one_ledger_row_and_announces_after_commit(
        django_capture_on_commit_callbacks, heard_stock_changed, product_watcher, product_with):
    # given
    p = product_with(5)
    channel = product_watcher(p)

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        movement = stock_decrease(product=p, quantity=2, source="cs_test_1")
        assert heard_stock_changed == [], "stock_changed must wait for the commit"

    # then
    assert stock_of(p) == 3
    assert [(m.delta, m.reason, m.source, m.balance_after) for m in movements_of(p, source="cs_test_1")] == [
        (-2, StockMovement.Reason.SALE, "cs_test_1", 3)]
    assert movement.balance_after == 3
    assert callbacks
    assert heard_stock_changed == [p.pk]
    message = product_watcher.receive(channel)
    assert message["type"] == "stock.updated"
    assert (message["store"], message["product"], message["inventory"]) == (p.store_id, p.stripe_product_id, 3)
    assert_in_step(p)


@pytest.mark.django_db
def test_replaying_a_source_changes_nothing_and_returns_the_same_movement(django_capture_on_commit_callbacks,
                                                                          product_with):
    p = product_with(5)
    first = stock_decrease(product=p, quantity=2, source="cs_replayed")

    with django_capture_on_commit_callbacks() as callbacks:
        again = stock_decrease(product=p, quantity=2, source="cs_replayed")

    assert again.pk == first.pk
    assert stock_of(p) == 3
    assert len(movements_of(p, source="cs_replayed")) == 1
    assert callbacks == [], "a replay announces nothing"


@pytest.mark.django_db
def test_insufficient_stock_names_product_and_changes_nothing(django_capture_on_commit_callbacks, product_with):
    p = product_with(2)

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(InsufficientStock) as raised:
        stock_decrease(product=p, quantity=3, source="cs_short")

    assert raised.value.shortfalls == [Shortfall(product_id=p.pk, product_name=p.name, requested=3, available=2)]
    assert p.name in str(raised.value)
    assert stock_of(p) == 2
    assert movements_of(p, source="cs_short") == []
    assert callbacks == []


@pytest.mark.django_db
def test_one_short_line_leaves_every_line_untouched(product_with):
    # given: the short line sits between two good ones in primary-key (= locking) order, so one
    # good line has already been decremented when the shortfall is found
    before, short, after = product_with(5), product_with(1), product_with(5)

    # when
    with pytest.raises(InsufficientStock) as raised:
        stock_decrease_lines(lines=[StockLine(after.pk, 1), StockLine(short.pk, 2), StockLine(before.pk, 1)],
                             source="cs_multi")

    # then
    assert [s.product_id for s in raised.value.shortfalls] == [short.pk]
    assert [stock_of(x) for x in (before, short, after)] == [5, 1, 5]
    assert StockMovement.objects.filter(source="cs_multi").count() == 0


@pytest.mark.django_db
def test_every_short_line_is_reported_at_once(product_with):
    good, short_a, short_b = product_with(5), product_with(1), product_with(0)

    with pytest.raises(InsufficientStock) as raised:
        stock_decrease_lines(lines=[StockLine(short_a.pk, 1), StockLine(good.pk, 1), StockLine(short_b.pk, 1),
                                    StockLine(short_a.pk, 1)],  # same product twice: 2 wanted in all
                             source="cs_two_short")

    assert raised.value.shortfalls == [
        Shortfall(product_id=short_a.pk, product_name=short_a.name, requested=2, available=1),
        Shortfall(product_id=short_b.pk, product_name=short_b.name, requested=1, available=0),
    ]
    assert [stock_of(x) for x in (good, short_a, short_b)] == [5, 1, 0]


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -1, 1.5, True, "2"])
@pytest.mark.parametrize("change", [stock_decrease, stock_increase])
def test_bad_quantities_are_refused_and_change_nothing(change, quantity, product_with):
    p = product_with(5)

    with pytest.raises(InvalidStockChange):
        change(product=p, quantity=quantity, source="bad")

    assert stock_of(p) == 5
    assert movements_of(p, source="bad") == []


@pytest.mark.django_db
def test_a_bad_line_among_good_ones_refuses_the_whole_change(product_with):
    good, other = product_with(5), product_with(5)

    with pytest.raises(InvalidStockChange):
        stock_decrease_lines(lines=[StockLine(good.pk, 1), StockLine(other.pk, 0)], source="bad-line")
    with pytest.raises(InvalidStockChange):
        stock_decrease_lines(lines=[], source="no-lines")

    assert [stock_of(good), stock_of(other)] == [5, 5]


@pytest.mark.django_db
@pytest.mark.parametrize("level", [-1, 1.5, "3", True])
def test_stock_set_refuses_a_level_that_is_not_a_count(level, product_with):
    p = product_with(5)

    with pytest.raises(InvalidStockChange):
        stock_set(product=p, level=level, source="count-bad")

    assert stock_of(p) == 5
    assert movements_of(p, source="count-bad") == []


@pytest.mark.django_db
def test_stock_set_writes_the_difference_as_restock_or_adjustment(product_with):
    p = product_with(5)

    up = stock_set(product=p, level=8, source="count-1")
    down = stock_set(product=p, level=6, source="count-2")
    same = stock_set(product=p, level=6, source="count-3")
    to_zero = stock_set(product=p, level=0, source="count-4")

    assert (up.delta, up.reason, up.balance_after) == (3, StockMovement.Reason.RESTOCK, 8)
    assert (down.delta, down.reason, down.balance_after) == (-2, StockMovement.Reason.ADJUSTMENT, 6)
    assert same is None
    assert movements_of(p, source="count-3") == []
    assert (to_zero.delta, to_zero.balance_after) == (-6, 0)
    assert stock_of(p) == 0
    assert_in_step(p)


@pytest.mark.django_db
def test_database_refuses_negative_stock_even_bypassing_services(product_with):
    p = product_with(0)

    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=p.pk).update(inventory=-1)

    assert stock_of(p) == 0


# --- deterministic races: a competing write at the worst moment -------------------------------------


@pytest.mark.django_db(transaction=True)
def test_decrease_fails_when_a_competitor_takes_the_last_units_just_before_we_do(product_with):
    # given: 2 units, and another buyer who takes 1 and commits right after our replay check,
    # just before we lock or update the product row
    p = product_with(2)

    def competitor():
        in_other_connection(stock_decrease, product=p, quantity=1, source="cs_competitor")

    # when
    with before_sql(takes_hold_of_stock, competitor) as fired, pytest.raises(InsufficientStock) as raised:
        stock_decrease(product=p, quantity=2, source="cs_ours")

    # then: we were refused (not taken to -1, not written over the competitor's sale)
    assert fired.is_set()
    assert [(s.requested, s.available) for s in raised.value.shortfalls] == [(2, 1)]
    assert stock_of(p) == 1
    assert movements_of(p, source="cs_ours") == []
    assert_in_step(p)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("units", [1, 5], ids=["last-unit", "plenty"])
def test_a_concurrent_delivery_of_the_same_source_is_a_replay(units, product_with):
    # given: the same checkout delivered twice; the other delivery commits while ours is between
    # its replay check and its decrement
    p = product_with(units)
    theirs = {}

    def competitor(*args, **kwargs):
        theirs["movement"] = in_other_connection(stock_decrease, product=p, quantity=1, source="cs_twice")

    # when
    with run_before("inventory.services._decrease_all_or_raise", competitor) as fired:
        ours = stock_decrease(product=p, quantity=1, source="cs_twice")

    # then: one sale, and both deliveries are told about it (with one unit left, ours must not be
    # told "sold out" for a sale that happened)
    assert fired.is_set()
    assert ours.pk == theirs["movement"].pk
    assert stock_of(p) == units - 1
    assert len(movements_of(p, source="cs_twice")) == 1
    assert_in_step(p)


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_restock_with_the_same_source_is_a_replay(product_with):
    p = product_with(5)

    def competitor():
        in_other_connection(stock_increase, product=p, quantity=3, source="delivery-7")

    with before_sql(takes_hold_of_stock, competitor) as fired:
        ours = stock_increase(product=p, quantity=3, source="delivery-7")

    assert fired.is_set()
    assert movements_of(p, source="delivery-7") == [ours]
    assert stock_of(p) == 8
    assert_in_step(p)


@pytest.mark.django_db(transaction=True)
def test_a_sale_during_a_stock_count_waits_for_it_and_is_not_lost(product_with):
    # given: staff count 5 units on a shelf the system says holds 10; a sale of 3 arrives after
    # stock_set has locked the row but before it writes
    p = product_with(10)
    sale = Worker(stock_decrease, product=p, quantity=3, source="cs_during_count")

    def competitor(*args, **kwargs):
        sale.start()
        assert wait_until_blocked_on_lock("inventory_product"), "the sale did not wait for the count's lock"

    # when
    try:
        with run_before("inventory.services._apply_delta", competitor) as fired:
            counted = stock_set(product=p, level=5, source="count-shelf")
    finally:
        sale.join(30)  # even when the count failed: no thread may outlive the test's database
    sold = sale.outcome()

    # then: the count is recorded as exactly 5, and the sale comes after it
    assert fired.is_set()
    assert (counted.delta, counted.balance_after) == (-5, 5)
    assert sold.pk > counted.pk
    assert (sold.delta, sold.balance_after) == (-3, 2)
    assert stock_of(p) == 2
    assert_in_step(p)


# --- real threads on PostgreSQL ----------------------------------------------------------------------


def run_together(calls: list[dict], fn) -> list[Worker]:
    """Start one thread per call, released at once by a barrier; wait for all of them."""
    barrier = threading.Barrier(len(calls))
    workers = [Worker(fn, barrier=barrier, **kwargs) for kwargs in calls]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not [w for w in workers if w.is_alive()], "threads still running: deadlocked?"
    return workers


@pytest.mark.django_db(transaction=True)
def test_fifty_buyers_for_seven_units(product_with):
    p = product_with(7)

    workers = run_together([{"product": p, "quantity": 1, "source": f"cs_buyer_{i}"} for i in range(50)],
                           stock_decrease)

    sold = [w for w in workers if w.error is None]
    refused = [w for w in workers if isinstance(w.error, InsufficientStock)]
    assert (len(sold), len(refused)) == (7, 43), [w.error for w in workers if w.error]
    assert stock_of(p) == 0
    assert sorted(w.result.balance_after for w in sold) == list(range(7))
    assert_in_step(p)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("units", [1, 50], ids=["last-unit", "plenty"])
def test_twenty_deliveries_of_one_source_make_one_sale(units, product_with):
    p = product_with(units)

    workers = run_together([{"product": p, "quantity": 1, "source": "cs_duplicated"}] * 20, stock_decrease)

    assert [w.error for w in workers if w.error] == []
    assert {w.result.pk for w in workers} == {movements_of(p, source="cs_duplicated")[0].pk}
    assert stock_of(p) == units - 1
    assert_in_step(p)


@pytest.mark.django_db(transaction=True)
def test_multi_line_orders_in_opposite_orders_do_not_deadlock(product_with):
    # Half the orders list the products one way, half the other way round: taking row locks in
    # the order given would deadlock; the service takes them in primary-key order.
    a, b, c = product_with(100), product_with(100), product_with(100)
    orders = []
    for i in range(30):
        lines = [StockLine(a.pk, 1), StockLine(b.pk, 2), StockLine(c.pk, 1)]
        orders.append({"lines": lines if i % 2 else lines[::-1], "source": f"cs_order_{i}"})

    workers = run_together(orders, stock_decrease_lines)

    assert [w.error for w in workers if w.error] == []
    assert [stock_of(x) for x in (a, b, c)] == [70, 40, 70]
    assert_in_step(a, b, c)
