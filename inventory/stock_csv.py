"""Stock and the catalogue's store-side fields as CSV: export, and an import that is all or nothing.

Format (README, "CSV format"): UTF-8, comma-separated, a header line naming the columns, one row per
product of a booth:

    store,product,name,stock,low_stock_threshold,tags,attributes,size,colour
    store_DEMO01,prod_DemoTee,Conference T-shirt (M),12,3,apparel;organic,"{""colour"": ""navy""}",M,

`store` and `product` (the Stripe product id) say which product a row is and are required; `size`
and `colour` say which variant of a product sold in sizes or colours (blank, or no such column, for
a product without variants; a product in sizes needs them); every other column is optional. `name` is for people and never imported. `stock` sets the stock to that
level (units on the booth, held units included) and `low_stock_threshold` the threshold; an empty
cell leaves them as they are. `tags` is the full list, separated by `;`, and `attributes` a JSON
object (an empty cell clears either).

An import is checked whole before anything changes: every bad row is named by its line number and
the reason, and nothing is imported unless every row is good. It then runs in one transaction, so it
is never half applied. Importing the very same file again changes nothing (its SHA-256 is recorded).
"""

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from common import words
from common.spreadsheets import cell_restored, csv_writer

from .catalogue import products_store_fields_set
from .exceptions import StockChangeRefused
from .models import Product, StockImport, StockMovement
from .operations import MAX_UNITS
from .services import StockChange, stock_apply
from .variants import variant_sort_key

COLUMNS = ("store", "product", "name", "stock", "low_stock_threshold", "tags", "attributes", "size", "colour")
REQUIRED = ("store", "product")
MAX_BYTES = 2_000_000
MAX_ROWS = 10_000
MAX_TAGS, MAX_TAG_LENGTH = 20, 50
MAX_ATTRIBUTES_JSON = 2_000


class CsvImportRefused(ValueError):
    """The file cannot be imported; `errors` says why, one line each ("line 4: …"). Nothing changed."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        bad_rows = len({e.split(":", 1)[0] for e in errors if e.startswith("line ") and not e.startswith("line 1:")})
        head = f"{words.rows(bad_rows)} wrong" if bad_rows else "bad file"
        super().__init__(f"{head}: " + "; ".join(errors))


@dataclass
class CsvRow:
    line: int
    product: Product
    fields: dict  # store-side fields present in the file
    stock: int | None


@dataclass
class ImportResult:
    rows: int
    stock_changed: list[str] = field(default_factory=list)
    fields_changed: list[str] = field(default_factory=list)
    already_imported: StockImport | None = None
    dry_run: bool = False

    def summary(self) -> str:
        if self.already_imported:
            when = self.already_imported.created_at.strftime("%Y-%m-%d %H:%M")
            return f"This file was already imported ({when}); nothing changed."
        verb = "would change" if self.dry_run else "changed"
        stock = (f"stock {verb} for {words.products(len(self.stock_changed))} ({'; '.join(self.stock_changed)})"
                 if self.stock_changed else f"no stock {verb}")
        return f"{words.rows(self.rows)} read: {stock}; other fields for {words.products(len(self.fields_changed))}."


def stock_csv_import(*, content: bytes, filename: str = "", actor=None, dry_run: bool = False,
                     store_ids: set[str] | None = None) -> ImportResult:
    """Check the whole file, then apply it in one transaction (or, with dry_run, check it against
    the stock as it is now and roll back). Raises CsvImportRefused naming every problem, among them
    rows for booths outside `store_ids` (the importing staff member's booths; None: any booth).

    Locks: the file's products (pk order) until commit. Ledger: one `import` row per product whose
    stock changed. Triggers: those of stock_apply (broadcasts, link syncs, low-stock alerts).
    """
    digest = hashlib.sha256(content).hexdigest()
    rows = stock_csv_parse(content)
    if store_ids is not None and (foreign := [f"line {r.line}: booth {r.product.store_id} is not one of yours"
                                              for r in rows if r.product.store_id not in store_ids]):
        raise CsvImportRefused(foreign)
    with transaction.atomic():
        already = StockImport.objects.filter(digest=digest).first()
        if already is not None:
            return ImportResult(rows=len(rows), already_imported=already)
        result = _apply(rows, digest=digest, filename=filename, actor=actor)
        result.dry_run = dry_run
        if dry_run:
            transaction.set_rollback(True)
    return result


def _apply(rows: list[CsvRow], *, digest: str, filename: str, actor) -> ImportResult:
    try:
        with transaction.atomic():
            record = StockImport.objects.create(digest=digest, filename=filename[:255], actor=actor, rows=len(rows),
                                                products_changed=0)
    except IntegrityError:  # the same file, imported at this very moment by someone else
        return ImportResult(rows=len(rows), already_imported=StockImport.objects.get(digest=digest))
    names = {r.product.pk: r.product.display_name for r in rows}
    changed_fields = products_store_fields_set(updates={r.product.pk: r.fields for r in rows if r.fields})
    changes = [StockChange(r.product.pk, reason=StockMovement.Reason.IMPORT, level=r.stock,
                           note=f"CSV {filename or 'file'}, line {r.line}")
               for r in rows if r.stock is not None]
    try:
        movements = stock_apply(changes=changes, source=f"import:{digest[:40]}", actor=actor) if changes else []
    except StockChangeRefused as refused:
        lines = {r.product.pk: r.line for r in rows}
        raise CsvImportRefused([f"line {lines.get(x.product_id, '?')}: {x}" for x in refused.refusals]) from None
    moved = sorted({m.product_id for m in movements})
    record.products_changed = len(set(moved) | set(changed_fields))
    record.save(update_fields=["products_changed"])
    by_product = {m.product_id: m for m in movements}
    return ImportResult(rows=len(rows),
                        stock_changed=[f"{names[pid]}: {by_product[pid].balance_after - by_product[pid].delta} → "
                                       f"{by_product[pid].balance_after}" for pid in moved],
                        fields_changed=[names[pid] for pid in changed_fields])


# --- reading the file: everything is checked before anything is looked up or changed ----------------


def stock_csv_parse(content: bytes) -> list[CsvRow]:
    """The file's rows, each matched to its product; raises CsvImportRefused naming every problem."""
    if len(content) > MAX_BYTES:
        raise CsvImportRefused([f"the file is {len(content):,} bytes; at most {MAX_BYTES:,} are accepted"])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvImportRefused([f"the file is not UTF-8 text (byte {exc.start + 1}); save it as CSV UTF-8"]) from None
    if "\x00" in text:
        raise CsvImportRefused(["the file is not a text file (it contains NUL bytes)"])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = _header(reader)
    raw, errors = [], []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                errors.append(f"line {reader.line_num}: {words.fields(len(values))}, but the header names {len(header)}")
            elif len(raw) >= MAX_ROWS:
                raise CsvImportRefused([f"more than {MAX_ROWS:,} rows: split the file"])
            else:
                # As exported: a cell that spreadsheets would run was given a leading ' (common/spreadsheets.py).
                raw.append((reader.line_num, dict(zip(header, (cell_restored(v.strip()) for v in values)))))
    except csv.Error as exc:
        raise CsvImportRefused([f"line {reader.line_num}: not valid CSV ({exc})"]) from None
    if not raw and not errors:
        raise CsvImportRefused(["the file has a header but no rows"])
    rows = _rows(raw, errors)
    if errors:
        raise CsvImportRefused(sorted(errors, key=_line_of))
    return rows


def _header(reader) -> list[str]:
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise CsvImportRefused([f"the file is empty: its first line must name the columns ({','.join(COLUMNS)})"]) from None
    except csv.Error as exc:
        raise CsvImportRefused([f"line 1: not valid CSV ({exc})"]) from None
    problems = []
    if unknown := [name for name in header if name not in COLUMNS]:
        problems.append(f"line 1: unknown {words.column_names([repr(n) for n in unknown])}; "
                        f"the columns are {','.join(COLUMNS)}")
    if twice := sorted({name for name in header if header.count(name) > 1}):
        problems.append(f"line 1: {words.column_names(twice)} named twice")
    if missing := [name for name in REQUIRED if name not in header]:
        problems.append(f"line 1: missing {words.column_names(missing)}")
    if problems:
        raise CsvImportRefused(problems)
    return header


def _key(values: dict) -> tuple[str, str, str, str]:
    """Which variant a row is: the unique (store, product, size, colour) of inventory.Product."""
    return values["store"], values["product"], values.get("size", ""), values.get("colour", "")


def _rows(raw: list[tuple[int, dict]], errors: list[str]) -> list[CsvRow]:
    keys = {_key(values) for _, values in raw}
    found = list(Product.objects.select_related("store").filter(
        store_id__in={k[0] for k in keys}, stripe_product_id__in={k[1] for k in keys}))
    products = {(p.store_id, p.stripe_product_id, p.size, p.colour): p for p in found}
    variants: dict[tuple, list[str]] = {}
    for p in found:
        variants.setdefault((p.store_id, p.stripe_product_id), []).append(p.variant_label)
    stores = set(Product.objects.filter(store_id__in={k[0] for k in keys}).values_list("store_id", flat=True))
    first_line: dict[tuple, int] = {}
    rows = []
    for line, values in raw:
        key = _key(values)
        problems = _row_problems(values, products.get(key), stores, variants.get(key[:2], []))
        if key in first_line and not problems:
            problems = [f"same product as line {first_line[key]}"]
        first_line.setdefault(key, line)
        if problems:
            errors.extend(f"line {line}: {p}" for p in problems)
            continue
        fields, stock = _values(values)
        rows.append(CsvRow(line=line, product=products[key], fields=fields, stock=stock))
    return rows


def _row_problems(values: dict, product: Product | None, stores: set[str], variants: list[str]) -> list[str]:
    store_id, product_id = values["store"], values["product"]
    if not store_id or not product_id:
        return ["store and product are required"]
    problems = []
    if product is None and variants and any(variants):
        asked = ", ".join(v for v in (values.get("size"), values.get("colour")) if v) or "no size or colour"
        problems.append(f"booth {store_id} sells {product_id} in {', '.join(sorted(v or '—' for v in variants))}, "
                        f"not {asked}: give its size (and colour)")
    elif product is None:
        problems.append(f"no booth {store_id!r}" if store_id not in stores
                        else f"booth {store_id} has no product {product_id!r} (add it in the admin first)")
    for name in ("stock", "low_stock_threshold"):
        if values.get(name) and _whole(values[name]) is None:
            problems.append(f"{name} must be a whole number from 0 to {MAX_UNITS}, not {values[name]!r}")
    if "tags" in values and (problem := _tags_problem(values["tags"])):
        problems.append(problem)
    if "attributes" in values and (problem := _attributes_problem(values["attributes"])):
        problems.append(problem)
    return problems


def _values(values: dict) -> tuple[dict, int | None]:
    fields = {}
    if values.get("low_stock_threshold"):
        fields["low_stock_threshold"] = _whole(values["low_stock_threshold"])
    if "tags" in values:
        fields["tags"] = _tags(values["tags"])
    if "attributes" in values:
        fields["attributes"] = json.loads(values["attributes"]) if values["attributes"] else {}
    return fields, _whole(values["stock"]) if values.get("stock") else None


def _whole(text: str) -> int | None:
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_UNITS:
        return None
    return int(text)


def _tags(text: str) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in text.split(";") if t.strip()))


def _tags_problem(text: str) -> str | None:
    tags = _tags(text)
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_LENGTH for t in tags):
        return f"tags: at most {MAX_TAGS}, each at most {MAX_TAG_LENGTH} characters, separated by ';'"
    return None


def _attributes_problem(text: str) -> str | None:
    if not text:
        return None
    if len(text) > MAX_ATTRIBUTES_JSON:
        return f"attributes: at most {MAX_ATTRIBUTES_JSON} characters"
    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"attributes must be a JSON object like {{\"size\": \"M\"}} ({exc.args[0].split(':')[0]})"
    if not isinstance(value, dict):
        return "attributes must be a JSON object like {\"size\": \"M\"}"
    return None


def _line_of(error: str) -> int:
    head = error.split(":", 1)[0]
    return int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else 0


# --- writing ------------------------------------------------------------------------------------------


def stock_csv_export(*, store_ids: list[str] | None = None, product_ids: list[int] | None = None) -> str:
    """The products (all, a booth's, or the ones given) in the import format: exporting and
    importing the result changes nothing."""
    products = Product.objects.all()
    if store_ids:
        products = products.filter(store_id__in=store_ids)
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(COLUMNS)
    # Sizes as people read them (S, M, L, XL), not as text sorts them (L, M, S, XL).
    for p in sorted(products, key=lambda p: (p.store_id, p.stripe_product_id, variant_sort_key(p))):
        writer.writerow([p.store_id, p.stripe_product_id, p.display_name, p.inventory, p.low_stock_threshold,
                         ";".join(str(t) for t in p.tags or []),
                         json.dumps(p.attributes or {}, ensure_ascii=False, sort_keys=True), p.size, p.colour])
    return out.getvalue()
