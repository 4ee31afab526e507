"""The booth-staff role: what a volunteer can and cannot do in the back office."""

import io

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from djstripe.models import Customer, Product as StripeProduct

from backoffice.roles import BOOTH_STAFF_GROUP, BOOTH_STAFF_PERMISSIONS
from inventory.models import StockMovement
from tests import factories
from tests.inventory.test_admin import action, messages_of

pytestmark = pytest.mark.django_db


def test_the_group_exists_with_exactly_its_permissions():
    group = Group.objects.get(name=BOOTH_STAFF_GROUP)
    have = sorted(f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all())
    assert have == sorted(f"{app}.{code}" for app, codes in BOOTH_STAFF_PERMISSIONS.items() for code in codes)
    assert not [p for p in have if p.startswith(("djstripe.", "auth.")) or ".change_" in p or ".delete_" in p
                or ".add_" in p]


@pytest.mark.parametrize("name, args", [
    ("admin:index", []),
    ("inventory:staff_dashboard", []),
    ("backoffice:stocktake_index", []),
    ("backoffice:transfer", []),
    ("backoffice:receive_index", []),
    ("backoffice:stock_csv", []),
    ("backoffice:stock_csv_export", []),
    ("backoffice:report_index", []),
    ("admin:inventory_product_changelist", []),
    ("admin:inventory_stockmovement_changelist", []),
    ("admin:inventory_lowstockalert_changelist", []),
    ("admin:payments_order_changelist", []),
    ("admin:payments_checkout_changelist", []),
])
def test_booth_staff_can_open(staff_client, name, args):
    assert staff_client.get(reverse(name, args=args)).status_code == 200


@pytest.mark.parametrize("name", [
    "admin:inventory_product_add",
    "admin:inventory_store_add",
    "admin:inventory_waitlistentry_changelist",  # buyers' addresses
    "admin:payments_stripejob_changelist",
    "admin:payments_stripecall_changelist",
    "admin:payments_linksync_changelist",
    "admin:auth_user_changelist",
    "admin:auth_group_changelist",
    "admin:djstripe_customer_changelist",
    "admin:djstripe_webhookendpoint_changelist",
])
def test_booth_staff_cannot_open(staff_client, name):
    assert staff_client.get(reverse(name)).status_code == 403


def test_booth_staff_see_products_but_cannot_change_them_or_their_prices(staff_client, hall_a):
    tee = factories.product_create(store=hall_a, inventory=5, unit_amount=2500)
    name = tee.name
    change_url = reverse("admin:inventory_product_change", args=[tee.pk])

    page = staff_client.get(change_url)
    assert page.status_code == 200
    assert "stripe_price_id" not in page.content.decode() and "Payment Link" not in page.content.decode()
    posted = staff_client.post(change_url, {"name": "Free tee", "unit_amount": "0", "inventory": "500"})
    assert posted.status_code == 403
    tee.refresh_from_db()
    assert (tee.name, tee.unit_amount, tee.inventory) == (name, 2500, 5)

    changelist = staff_client.get(reverse("admin:inventory_product_changelist"))
    choices = [value for value, _ in changelist.context["action_form"].fields["action"].choices]
    assert "restock" in choices and "export_csv" in choices
    assert "switch_link_off" not in choices and "switch_link_on" not in choices
    assert 'name="form-0-inventory"' not in changelist.content.decode()  # no list editing of stock


def test_booth_staff_restock_through_the_action(staff_client, booth_staff, hall_a):
    tee = factories.product_create(store=hall_a, inventory=5)

    response = staff_client.post(reverse("admin:inventory_product_changelist"),
                                 action(staff_client, "restock", [tee], quantity=12), follow=True)

    assert "Added 12 units" in " ".join(messages_of(response))
    movement = StockMovement.objects.get(product=tee, reason="restock")
    assert (movement.delta, movement.actor) == (12, booth_staff)


def test_the_admin_shows_the_store_first_and_dj_stripe_to_superusers_only(staff_client, admin_client):
    staff_apps = [app["app_label"] for app in staff_client.get(reverse("admin:index")).context["app_list"]]
    admin_apps = [app["app_label"] for app in admin_client.get(reverse("admin:index")).context["app_list"]]

    assert staff_apps == ["inventory", "payments"]
    assert admin_apps[:2] == ["inventory", "payments"] and "djstripe" in admin_apps and "auth" in admin_apps
    page = staff_client.get(reverse("admin:index")).content.decode()
    for link in ("Count a booth", "Move stock between booths", "Receive a delivery", "Stock as CSV",
                 "End-of-day report", "Sales dashboard"):
        assert link in page


def test_dj_stripe_models_stay_superuser_only_even_with_permissions_on_them(client, django_user_model):
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user("clerk", password="pw-clerk-1", is_staff=True)
    clerk.user_permissions.set(Permission.objects.filter(content_type__app_label="djstripe"))
    client.force_login(clerk)

    assert client.get(reverse("admin:djstripe_customer_changelist")).status_code == 403
    assert "djstripe" not in [a["app_label"] for a in client.get(reverse("admin:index")).context["app_list"]]
    assert Customer.objects.count() == 0 and StripeProduct.objects.count() == 0


def test_staff_without_the_role_cannot_use_the_booth_pages(client, django_user_model, hall_a):
    plain = django_user_model.objects.create_user("plain-staff", password="pw-plain-1", is_staff=True)
    client.force_login(plain)

    for name, args in [("backoffice:stocktake", [hall_a.pk]), ("backoffice:transfer", []),
                       ("backoffice:receive", [hall_a.pk]), ("backoffice:stock_csv", []),
                       ("backoffice:report_index", [])]:
        assert client.get(reverse(name, args=args)).status_code == 403


def test_strangers_are_sent_to_the_login(client, hall_a):
    response = client.get(reverse("backoffice:stocktake", args=[hall_a.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_seed_demo_creates_the_demo_booth_staff_user_once(settings):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from backoffice.roles import DEMO_PASSWORD, DEMO_USERNAME

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())

    user = get_user_model().objects.get(username=DEMO_USERNAME)
    assert user.is_staff and not user.is_superuser and user.check_password(DEMO_PASSWORD)
    assert list(user.groups.values_list("name", flat=True)) == [BOOTH_STAFF_GROUP]
    assert user.has_perm("inventory.count_stock") and not user.has_perm("inventory.change_product")


def test_seed_demo_creates_no_known_password_when_stripe_is_live(settings):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    settings.STRIPE_SECRET_KEY = "sk_test_not_the_demo"
    out = io.StringIO()
    call_command("seed_demo", stdout=out)

    assert "no demo booth-staff user" in out.getvalue()
    assert not get_user_model().objects.filter(username="booth").exists()
