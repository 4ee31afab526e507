"""Issue 19, finding 7: staff work at their own booths only, a count cannot be forged into stock,
stock has an upper bound, and an oversized upload is refused before it is read."""

import asyncio
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory.models import StockMovement
from swagstore.asgi import application
from tests import factories
from tests.inventory.test_services import stock_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall_a_volunteer(client, hall_a, hall_b):
    """Logged in, on the staff of Hall A only."""
    from backoffice.roles import booth_staff_user_ensure

    user, _ = booth_staff_user_ensure(username=f"hall-a-{uuid.uuid4().hex[:6]}", password="pw-hall-a-1")
    user.booths.add(hall_a)
    client.force_login(user)
    return client


def test_a_hall_a_volunteer_cannot_count_receive_or_report_for_hall_b(hall_a_volunteer, hall_a, hall_b):
    tee_b = factories.product_create(store=hall_b, inventory=5, link=False)
    count = {"key": uuid.uuid4().hex, f"counted-{tee_b.pk}": "50", f"shown-{tee_b.pk}": "5"}

    assert hall_a_volunteer.post(reverse("backoffice:stocktake", args=[hall_b.pk]), count).status_code == 403
    received = {"reference": "DEL-1", f"quantity-{tee_b.pk}": "40"}
    assert hall_a_volunteer.post(reverse("backoffice:receive", args=[hall_b.pk]), received).status_code == 403
    assert hall_a_volunteer.get(reverse("backoffice:day_report", args=[hall_b.pk, "2026-12-06"])).status_code == 403
    assert hall_a_volunteer.get(reverse("backoffice:day_report_csv", args=[hall_b.pk, "2026-12-06"])).status_code == 403
    assert hall_a_volunteer.get(reverse("backoffice:stock_csv_export"), {"store": hall_b.pk}).status_code == 400

    assert stock_of(tee_b) == 5 and not StockMovement.objects.filter(product=tee_b).exclude(reason="initial").exists()
    # their own booth works, and the pickers list only it
    assert hall_a_volunteer.get(reverse("backoffice:stocktake", args=[hall_a.pk])).status_code == 200
    picker = hall_a_volunteer.get(reverse("backoffice:stocktake_index")).content.decode()
    assert hall_a.name in picker and hall_b.name not in picker


def test_a_hall_a_volunteer_cannot_move_stock_into_or_out_of_hall_b(hall_a_volunteer, hall_a, hall_b):
    tee_a = factories.product_create(store=hall_a, inventory=10, link=False, stripe_product_id="prod_MoveTee")
    tee_b = factories.product_create(store=hall_b, inventory=10, link=False, stripe_product_id="prod_MoveTee",
                                     stripe_price_id=tee_a.stripe_price_id)
    for source, target, product in ((hall_a, hall_b, tee_a), (hall_b, hall_a, tee_b)):
        response = hall_a_volunteer.post(reverse("backoffice:transfer"), {
            "from": source.pk, "to": target.pk, "key": uuid.uuid4().hex, f"quantity-{product.pk}": "4"})
        assert response.status_code == 400 and "Pick booths from the lists" in response.content.decode()
    assert (stock_of(tee_a), stock_of(tee_b)) == (10, 10)


def test_a_hall_a_volunteer_cannot_import_rows_for_hall_b(hall_a_volunteer, hall_a, hall_b):
    tee_a = factories.product_create(store=hall_a, inventory=3, link=False)
    tee_b = factories.product_create(store=hall_b, inventory=3, link=False)
    text = (f"store,product,stock\n{hall_a.pk},{tee_a.stripe_product_id},9\n"
            f"{hall_b.pk},{tee_b.stripe_product_id},99\n")

    response = hall_a_volunteer.post(reverse("backoffice:stock_csv"), {
        "file": SimpleUploadedFile("stock.csv", text.encode(), content_type="text/csv")})

    assert response.status_code == 400 and f"line 3: booth {hall_b.pk} is not one of yours" in response.content.decode()
    assert (stock_of(tee_a), stock_of(tee_b)) == (3, 3)


def test_a_hall_a_volunteer_sees_only_hall_a_products_in_the_admin(hall_a_volunteer, hall_a, hall_b):
    factories.product_create(store=hall_a, inventory=3, link=False, name="Hall A mug")
    factories.product_create(store=hall_b, inventory=3, link=False, name="Hall B mug")
    listing = hall_a_volunteer.get(reverse("admin:inventory_product_changelist")).content.decode()
    assert "Hall A mug" in listing and "Hall B mug" not in listing


def test_a_superuser_works_at_every_booth(client, hall_b):
    admin = get_user_model().objects.create_superuser("root-19", "root@example.com", "pw")
    client.force_login(admin)
    assert client.get(reverse("backoffice:stocktake", args=[hall_b.pk])).status_code == 200


def test_a_forged_shown_field_cannot_add_stock_through_the_count_page(staff_client, hall_a):
    tee = factories.product_create(store=hall_a, inventory=7, link=False)
    for _ in range(2):  # the probe: counted 100000, shown 0, each time a new page key
        response = staff_client.post(reverse("backoffice:stocktake", args=[hall_a.pk]), {
            "key": uuid.uuid4().hex, f"counted-{tee.pk}": "100000", f"shown-{tee.pk}": "0",
            f"reason-{tee.pk}": "count"})
        assert response.status_code == 302
    assert stock_of(tee) == 100_000  # what was counted, never 200,007


def asgi_post(path: str, *, body_chunks: list[bytes], content_length: int | None) -> tuple[int, int]:
    """POST through the real ASGI application; (status, body chunks it read)."""
    chunks, sent = list(body_chunks), []
    read = 0

    async def receive():
        nonlocal read
        if not chunks:
            return {"type": "http.disconnect"}
        read += 1
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    headers = [(b"host", b"localhost"), (b"content-type", b"multipart/form-data; boundary=x")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": headers, "http_version": "1.1", "scheme": "http", "server": ("localhost", 80),
             "client": ("127.0.0.1", 5000), "asgi": {"version": "3.0"}}
    asyncio.run(application(scope, receive, send))
    return next(m["status"] for m in sent if m["type"] == "http.response.start"), read


@pytest.mark.django_db(transaction=True)
def test_an_oversized_upload_is_refused_before_its_body_is_read(settings):
    megabyte = b"x" * (1024 * 1024)
    path = reverse("backoffice:stock_csv")
    # 300 MB announced: refused at once, not a byte read
    assert asgi_post(path, body_chunks=[megabyte] * 300, content_length=300 * 1024 * 1024) == (413, 0)
    # no length announced (chunked): cut off as soon as it passes the limit
    status, read = asgi_post(path, body_chunks=[megabyte] * 300, content_length=None)
    assert status == 413 and read == settings.REQUEST_BODY_MAX_BYTES // len(megabyte) + 1
