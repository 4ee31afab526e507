"""Issue 9, finding 9: the demo's offline pages never post where a visitor points them, and the
webhook secret never shows on a page, not even DEBUG's error page."""

import pytest
from django.test import Client

from payments.offline import simulator, views as offline_views

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def offline(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.ALLOWED_HOSTS = ["testserver", "evil.example"]
    settings.SITE_URL = "http://shop.test:8000"


@pytest.fixture
def posted(monkeypatch):
    urls = []
    monkeypatch.setattr(offline_views, "delivery_post", lambda delivery, *, url: urls.append(url) or (200, "ok"))
    return urls


def test_the_pay_page_posts_to_site_url_whatever_the_host_header(webhook, posted, make_product):
    product = make_product(inventory=3)
    response = Client(HTTP_HOST="evil.example").post(f"/offline/pay/{product.payment_link_id}/", {"quantity": "1"})
    assert response.status_code == 302
    assert posted == [f"http://shop.test:8000{webhook.url}"]


def test_a_failure_on_the_pay_page_does_not_show_the_secret_even_with_debug(webhook, monkeypatch, settings,
                                                                           make_product):
    settings.DEBUG = True
    product = make_product(inventory=3)

    def broken(payload, secret, timestamp):
        raise ValueError("signing failed")

    # A failure while signing: the frames on DEBUG's page are the ones holding the secret.
    monkeypatch.setattr(simulator, "webhook_signature_header", broken)
    response = Client(raise_request_exception=False).post(f"/offline/pay/{product.payment_link_id}/",
                                                          {"quantity": "1"})
    assert response.status_code == 500
    page = response.content.decode()
    assert "signing failed" in page  # it is DEBUG's page, with the traceback
    assert webhook.secret not in page
