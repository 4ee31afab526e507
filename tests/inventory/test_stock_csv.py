"""Stock CSV: export, import checked whole, bad files, the management commands."""

import io
import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from inventory.models import Product, StockImport, StockMovement
from inventory.services import StockLine, stock_reserve_lines
from inventory.stock_csv import COLUMNS, CsvImportRefused, stock_csv_export, stock_csv_import
from tests import factories

from .test_services import assert_in_step, stock_of

pytestmark = pytest.mark.django_db
# Products without sizes: a file needs no size or colour column (export writes them, blank).
HEADER = ",".join(c for c in COLUMNS if c not in ("size", "colour"))


@pytest.fixture
def hall():
    return factories.store_create(store_id=f"store_C{uuid.uuid4().hex[:10]}", name="Hall C")


def make(hall, stock=10, **fields):
    return factories.product_create(store=hall, inventory=stock, link=False, **fields)


def snapshot(*products) -> list[tuple]:
    return [Product.objects.values_list("inventory", "low_stock_threshold", "tags", "attributes").get(pk=p.pk)
            for p in products]


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_export_then_import_changes_nothing_and_the_same_file_twice_is_a_no_op(hall):
    # given
    tee = make(hall, 12, name="Tee, navy", tags=["apparel", "organic"], attributes={"size": "M", "pieces": 8})
    mug = make(hall, 0, name="=cmd() mug", low_stock_threshold=2)
    before = snapshot(tee, mug)
    exported = stock_csv_export(store_ids=[hall.pk]).encode()

    # when
    first = stock_csv_import(content=exported, filename="export.csv")
    second = stock_csv_import(content=exported, filename="export.csv")

    # then
    assert snapshot(tee, mug) == before
    assert (first.stock_changed, first.fields_changed, first.rows) == ([], [], 2)
    assert second.already_imported is not None and "already imported" in second.summary()
    assert not StockMovement.objects.filter(reason=StockMovement.Reason.IMPORT).exists()
    assert "'=cmd() mug" in exported.decode()  # a spreadsheet must not run a name as a formula


def test_every_exported_text_cell_is_quoted_and_formulas_are_neutralised(hall):
    # given: a tag and a product id a spreadsheet would run (the probe's strings)
    tee = make(hall, 4, name="Tee", tags=["@SUM(1+1)*cmd|' /C calc'!A0", "ok"], stripe_product_id="=1+1",
               colour="\tnavy")
    before = snapshot(tee)

    exported = stock_csv_export(store_ids=[hall.pk])

    line = exported.splitlines()[1]
    assert line.startswith(f'"{hall.pk}","\'=1+1","Tee (\tnavy)",4,')
    assert '"\'@SUM(1+1)*cmd|\' /C calc\'!A0;ok"' in line and '"\'\tnavy"' in line
    # and the export imported back changes nothing: the prefix is taken off again
    report = stock_csv_import(content=exported.encode(), filename="export.csv")
    assert (report.stock_changed, report.fields_changed, report.rows) == ([], [], 1)
    assert snapshot(tee) == before


def test_an_import_sets_stock_and_store_side_fields_with_one_ledger_row_each(hall, admin_user):
    tee, mug, cap = make(hall, 12), make(hall, 3), make(hall, 7)
    content = csv_bytes(
        HEADER,
        f'{hall.pk},{tee.stripe_product_id},ignored name,20,4,apparel; organic ;,"{{""size"": ""L""}}"',
        f"{hall.pk},{mug.stripe_product_id},,,9,,",
        f"{hall.pk},{cap.stripe_product_id},,7,,,",
    )

    result = stock_csv_import(content=content, filename="supplier.csv", actor=admin_user)

    assert snapshot(tee, mug, cap) == [(20, 4, ["apparel", "organic"], {"size": "L"}), (3, 9, [], {}),
                                       (7, 5, [], {})]
    assert result.stock_changed == [f"{tee.name}: 12 → 20"] and sorted(result.fields_changed) == sorted([tee.name, mug.name])
    assert result.summary() == ("3 rows read: stock changed for 1 product (" + tee.name + ": 12 → 20); "
                                "other fields for 2 products.")
    movement = StockMovement.objects.get(product=tee, reason=StockMovement.Reason.IMPORT)
    assert (movement.delta, movement.actor, movement.balance_after) == (8, admin_user, 20)
    assert "supplier.csv, line 2" in movement.note
    assert StockImport.objects.get(filename="supplier.csv").products_changed == 2
    assert_in_step(tee, mug, cap)


def test_columns_may_come_in_any_order_and_only_store_and_product_are_required(hall):
    tee = make(hall, 12)
    stock_csv_import(content=csv_bytes("product,stock,store", f"{tee.stripe_product_id},5,{hall.pk}"))
    assert stock_of(tee) == 5


def test_every_bad_row_is_named_by_its_line_and_nothing_is_imported(hall):
    # given: good rows around bad ones
    tee, mug = make(hall, 12), make(hall, 3)
    before = snapshot(tee, mug)
    content = csv_bytes(
        HEADER,
        f"{hall.pk},{tee.stripe_product_id},,30,,,",                # good
        f"{hall.pk},prod_nope,,1,,,",                               # 3: unknown product
        f"store_nowhere,{tee.stripe_product_id},,1,,,",             # 4: unknown booth
        f"{hall.pk},{mug.stripe_product_id},,-4,1.5,,",             # 5: two bad numbers
        "",                                                         # blank lines are skipped
        f"{hall.pk},{mug.stripe_product_id},,2,,,[1]",              # 7: attributes not an object
        f"{hall.pk},{tee.stripe_product_id},,3,,,",                 # 8: same product as line 2
        f"{hall.pk},{mug.stripe_product_id},,2",                    # 9: too few fields
    )

    # when
    with pytest.raises(CsvImportRefused) as refused:
        stock_csv_import(content=content, filename="bad.csv")

    # then
    errors = refused.value.errors
    assert [e.split(":")[0] for e in errors] == ["line 3", "line 4", "line 5", "line 5", "line 7", "line 8",
                                                 "line 9"]
    assert "no product 'prod_nope'" in errors[0] and "no booth 'store_nowhere'" in errors[1]
    assert "stock must be a whole number" in errors[2] and "low_stock_threshold" in errors[3]
    assert "JSON object" in errors[4] and "same product as line 2" in errors[5] and "4 fields" in errors[6]
    assert str(refused.value).startswith("6 rows wrong: line 3:")
    assert snapshot(tee, mug) == before
    assert not StockImport.objects.exists() and not StockMovement.objects.filter(reason="import").exists()


@pytest.mark.parametrize("content, expected", [
    (b"", "the file is empty"),
    (b"\xff\xfe" + "store,product\n".encode("utf-16-le"), "not UTF-8"),
    (b"store,product,cost\nstore_X,prod_Y,100\n", "unknown column 'cost'"),
    (b"product,stock\nprod_Y,1\n", "missing column store"),
    (b"store,product,store\n", "column store named twice"),
    (b"store,product,cost,colour2\nstore_X,prod_Y,1,red\n", "unknown columns 'cost', 'colour2'"),
    (b"stock\n1\n", "missing columns store, product"),
    (b"store,product\n", "header but no rows"),
    (b'store,product\n"store_X,prod_Y\n', "line 2: not valid CSV (unexpected end of data)"),
    (b"store,product\x00\n", "NUL"),
], ids=["empty", "utf16", "unknown-column", "missing-column", "twice", "unknown-columns", "missing-columns", "no-rows",
        "open-quote", "binary"])
def test_a_bad_file_is_refused_with_the_reason(content, expected):
    with pytest.raises(CsvImportRefused) as refused:
        stock_csv_import(content=content)
    assert expected in str(refused.value)


def test_an_import_below_the_units_held_for_buyers_is_refused_whole(hall):
    tee, mug = make(hall, 5), make(hall, 5)
    stock_reserve_lines(lines=[StockLine(tee.pk, 3)], hold_ref="chk_csv",
                        expires_at=timezone.now() + timedelta(minutes=5))
    content = csv_bytes("store,product,stock,low_stock_threshold", f"{hall.pk},{mug.stripe_product_id},9,1",
                        f"{hall.pk},{tee.stripe_product_id},2,")

    with pytest.raises(CsvImportRefused) as refused:
        stock_csv_import(content=content)

    assert refused.value.errors == [f"line 3: {tee.name}: would leave 2 in stock, below the 3 units held for buyers "
                                    f"in checkout (at most 2 can be taken now)"]
    assert snapshot(tee, mug) == [(5, 5, [], {}), (5, 5, [], {})]  # mug's good row was rolled back too
    assert not StockImport.objects.exists()


def test_a_dry_run_checks_against_the_stock_and_changes_nothing(hall):
    tee = make(hall, 5)
    content = csv_bytes("store,product,stock", f"{hall.pk},{tee.stripe_product_id},9")

    result = stock_csv_import(content=content, dry_run=True)

    assert result.dry_run and [c.split(":")[0] for c in result.stock_changed] == [tee.name]
    assert f"would change for 1 product ({tee.name}: 5 → " in result.summary()  # each change, from → to
    assert stock_of(tee) == 5 and not StockImport.objects.exists()


# --- the management commands ---------------------------------------------------------------------


def test_the_commands_export_and_import_a_file(hall, tmp_path):
    tee = make(hall, 5)
    path = tmp_path / "stock.csv"
    call_command("stock_export", "--store", hall.pk, "--output", str(path), stdout=io.StringIO())
    path.write_text(path.read_text().replace(f'"{tee.stripe_product_id}","{tee.name}",5,',
                                             f'"{tee.stripe_product_id}","{tee.name}",11,'))
    out = io.StringIO()

    call_command("stock_import", str(path), stdout=out)

    assert stock_of(tee) == 11
    assert "stock changed for 1 product" in out.getvalue()


def test_a_bad_file_makes_the_command_exit_non_zero_with_one_line(hall, tmp_path):
    tee = make(hall, 5)
    path = tmp_path / "bad.csv"
    path.write_text(f"store,product,stock\n{hall.pk},{tee.stripe_product_id},lots\n{hall.pk},prod_x,1\n")

    with pytest.raises(CommandError) as failed:
        call_command("stock_import", str(path))

    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("stock_import: bad.csv not imported, nothing changed: 2 rows wrong: line 2: stock must")
    assert "line 3: booth" in message
    assert stock_of(tee) == 5
    with pytest.raises(CommandError, match="cannot read"):
        call_command("stock_import", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="no booth store_nowhere"):
        call_command("stock_export", "--store", "store_nowhere")
