"""The variants migration (inventory 0006) carries today's products over without loss: each becomes
a product without variants, its stock, ledger, holds, links and QR code untouched; its store learns
the currency it sells in. Run on the real test database, back to 0005 and forward again."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("inventory", "0005_booth_day")]
AFTER = [("inventory", "0006_variants")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_todays_products_come_through_as_products_without_variants():
    old = migrate(BEFORE)
    try:
        Store, Product = old.get_model("inventory", "Store"), old.get_model("inventory", "Product")
        StockMovement = old.get_model("inventory", "StockMovement")
        euro = Store.objects.create(id="store_MigEur", name="Euro booth")
        tee = Product.objects.create(store=euro, stripe_product_id="prod_MigTee", name="Tee", currency="eur",
                                     stripe_price_id="price_MigTee", unit_amount=2500, inventory=3,
                                     attributes={"size": "M", "colour": "navy"}, payment_link_id="plink_MigTee",
                                     payment_link_url="https://buy.stripe.com/mig", scan_code="migtee22")
        StockMovement.objects.create(product=tee, delta=3, reason="initial", source="mig", balance_after=3)
        # the same Stripe product in another store, as before
        plain = Store.objects.create(id="store_MigUsd", name="Dollar booth")
        Product.objects.create(store=plain, stripe_product_id="prod_MigTee", name="Tee", stripe_price_id="price_MigTee",
                               scan_code="migtee33")
        before = {p.pk: (p.store_id, p.stripe_product_id, p.name, p.stripe_price_id, p.unit_amount, p.currency,
                         p.inventory, p.attributes, p.payment_link_id, p.scan_code) for p in Product.objects.all()}

        new = migrate(AFTER)

        Store, Product = new.get_model("inventory", "Store"), new.get_model("inventory", "Product")
        after = {p.pk: (p.store_id, p.stripe_product_id, p.name, p.stripe_price_id, p.unit_amount, p.currency,
                        p.inventory, p.attributes, p.payment_link_id, p.scan_code) for p in Product.objects.all()}
        assert after == before
        assert set(Product.objects.values_list("size", "colour")) == {("", "")}
        assert dict(Store.objects.filter(pk__in=["store_MigEur", "store_MigUsd"]).values_list("id", "currency")) == {
            "store_MigEur": "eur", "store_MigUsd": "usd"}
        assert new.get_model("inventory", "StockMovement").objects.filter(product_id=tee.pk).count() == 1
    finally:
        migrate(executor_leaves())


def executor_leaves():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_a_price_set_on_two_products_of_one_store_stops_the_migration_naming_it():
    old = migrate(BEFORE)
    try:
        Store, Product = old.get_model("inventory", "Store"), old.get_model("inventory", "Product")
        store = Store.objects.create(id="store_MigTwice", name="Twice")
        for n in (1, 2):
            Product.objects.create(store=store, stripe_product_id=f"prod_Twice{n}", name=f"Twice {n}",
                                   stripe_price_id="price_Twice", scan_code=f"twice{n}22")
        with pytest.raises(RuntimeError, match=r"price_Twice in store_MigTwice \(2 products\)"):
            migrate(AFTER)
        Product.objects.filter(stripe_product_id="prod_Twice2").update(stripe_price_id="price_Twice2")
    finally:
        migrate(executor_leaves())
