"""reconcile_stock: stock must equal the ledger; anything that bypassed the services is named."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F

from inventory.models import Product
from inventory.services import stock_decrease, stock_increase, stock_set

ROOT = Path(__file__).resolve().parents[2]


def trade(product):
    """A little of every kind of change, all through the services."""
    stock_decrease(product=product, quantity=2, source=f"cs_{product.pk}")
    stock_increase(product=product, quantity=4, source=f"delivery_{product.pk}")
    stock_set(product=product, level=3, source=f"count_{product.pk}")


def drift(product):
    # Exactly what a stray admin edit or a raw SQL fix would do: stock moves, the ledger does not.
    Product.objects.filter(pk=product.pk).update(inventory=F("inventory") + 1)


@pytest.mark.django_db
def test_passes_when_stock_matches_the_ledger(make_product):
    trade(make_product(inventory=5, link=False))
    make_product(inventory=0, link=False)  # never stocked: no ledger, nothing to differ
    out = StringIO()

    call_command("reconcile_stock", stdout=out)

    assert "matches the ledger" in out.getvalue()


@pytest.mark.django_db
def test_names_the_product_whose_stock_drifted(make_product):
    in_step = make_product(inventory=5, link=False, name="Mug")
    drifted = make_product(inventory=5, link=False, name="Hoodie")
    trade(in_step)
    trade(drifted)

    drift(drifted)

    with pytest.raises(CommandError) as raised:
        call_command("reconcile_stock", stdout=StringIO())
    message = str(raised.value)
    assert "for 1 product:" in message
    assert "Hoodie" in message and "stock 4, ledger sum 3, last balance 3" in message
    assert "Mug" not in message


def run_command_on_test_database() -> subprocess.CompletedProcess:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "swagstore.settings.test",
        "DATABASE_URL": f"postgres://{auth}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}",
    }
    return subprocess.run([sys.executable, "manage.py", "reconcile_stock"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.django_db(transaction=True)  # committed, so the command's own process sees the rows
def test_exit_code_follows_the_ledger_when_run_as_a_process(make_product):
    # given
    p = make_product(inventory=5, link=False, name="Lanyard")
    trade(p)

    # when / then: in step
    clean = run_command_on_test_database()
    assert clean.returncode == 0, clean.stderr
    assert "matches the ledger" in clean.stdout

    # when / then: drifted
    drift(p)
    drifted = run_command_on_test_database()
    assert drifted.returncode != 0
    assert "Lanyard" in drifted.stderr
