"""Issue 9, finding 5: production never sells through the offline gateway."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from inventory.models import Product
from payments.checks import stripe_key_required
from payments.gateway import GatewayUnavailable, gateway_is_offline, get_gateway
from payments.models import Checkout

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_fails_under_production_settings_without_a_stripe_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_")}
    env.update({"DJANGO_SETTINGS_MODULE": "swagstore.settings.production", "SECRET_KEY": secrets.token_urlsafe(50),
                "ALLOWED_HOSTS": "shop.example.com", "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}"})
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "payments.E001" in result.stderr and "STRIPE_SECRET_KEY" in result.stderr


def test_the_web_process_refuses_to_start_without_a_stripe_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_")}
    env.update({"DJANGO_SETTINGS_MODULE": "swagstore.settings.production", "SECRET_KEY": secrets.token_urlsafe(50),
                "ALLOWED_HOSTS": "shop.example.com", "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}"})
    result = subprocess.run([sys.executable, "-c", "import swagstore.asgi"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "payments.E001" in result.stderr


@pytest.fixture
def production_without_key(settings):
    settings.STRIPE_OFFLINE_ALLOWED = False
    settings.STRIPE_SECRET_KEY = ""


def test_no_offline_gateway_under_production_settings(production_without_key):
    assert [e.id for e in stripe_key_required()] == ["payments.E001"]
    assert not gateway_is_offline()
    with pytest.raises(GatewayUnavailable):
        get_gateway()


@pytest.mark.django_db
def test_no_offline_pages_and_no_free_checkout_under_production_settings(production_without_key, client, make_product):
    product = make_product(inventory=3)
    assert client.get(f"/offline/pay/{product.payment_link_id}/").status_code == 404
    response = client.post("/checkout/start/", {"store": product.store_id, "product": product.stripe_product_id,
                                                "quantity": "1"})
    assert response.status_code == 503
    assert not Checkout.objects.filter(status=Checkout.Status.RESERVED).exists()
    product = Product.objects.with_availability().get(pk=product.pk)
    assert (product.inventory, product.available) == (3, 3)
