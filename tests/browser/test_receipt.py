"""Issue 20's "done when": a newcomer buys a tee on a phone and gets a receipt code; a volunteer scans
it with a phone's camera at the booth and hands the tee over; a second scan is refused."""

import uuid

import pytest
import segno
from django.urls import reverse

from backoffice.roles import booth_staff_user_ensure
from inventory.models import QrMode
from payments.models import Checkout

from .conftest import CHROMIUM, CHROMIUM_ARGS, admin_login, off_loop, screenshot, stocked_product
from .test_qr import decode

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def qr_video(text: str, path, *, width: int = 640, height: int = 480, frames: int = 15) -> None:
    """A Y4M clip of the QR code of `text`, black on white: what Chromium's fake camera plays."""
    rows = [list(row) for row in segno.make(text, error="m").matrix_iter(scale=1, border=4)]
    scale = min(width, height) * 9 // 10 // len(rows)
    side = len(rows) * scale
    left, top = (width - side) // 2, (height - side) // 2
    luma = bytearray(b"\xff" * (width * height))
    for y in range(side):
        row = rows[y // scale]
        line = bytes(0 if row[x // scale] else 255 for x in range(side))
        start = (top + y) * width + left
        luma[start:start + side] = line
    chroma = b"\x80" * (width // 2 * (height // 2) * 2)
    with open(path, "wb") as clip:
        clip.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            clip.write(b"FRAME\n" + bytes(luma) + chroma)


def test_buy_on_a_phone_show_the_receipt_scan_it_hand_over_once(server, webhook_url, browser, store,
                                                                 tmp_path):
    # given: a held-checkout booth with tees, and a volunteer
    store.qr_mode = QrMode.HELD_CHECKOUT
    off_loop(store.save)
    tee = stocked_product(store, 3, name="Logo tee")
    password = "pw-volunteer-1"
    volunteer = off_loop(lambda: booth_staff_user_ensure(username=f"vol-{uuid.uuid4().hex[:6]}",
                                                         password=password)[0])
    off_loop(lambda: volunteer.booths.add(store))  # on this booth's staff

    # when: the buyer scans the stand's code on a phone and pays on (simulated) Stripe
    buyer_context = browser.new_context(**PHONE)
    try:
        buyer = buyer_context.new_page()
        buyer.goto(f"{server.url}/q/{tee.scan_code}/")
        buyer.get_by_role("button", name="Hold and pay with Stripe").click()
        buyer.wait_for_url("**/offline/checkout/**")
        buyer.get_by_role("button", name="Pay").first.click()
        buyer.wait_for_url("**/checkout/**?from=stripe")
        receipt = buyer.locator("[data-receipt]")
        receipt.wait_for(timeout=20_000)

        # then: the receipt shows a code, the item, the booth; its QR code reads back
        code_text = buyer.locator("[data-receipt-code]").inner_text()
        checkout = Checkout.objects.get(receipt_code=code_text.replace("-", ""))
        assert "Logo tee" in receipt.inner_text() and store.name in receipt.inner_text()
        assert buyer.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(buyer, "receipt-phone.png")
        (scanned,) = decode(buyer.locator(".receipt-qr svg").screenshot(), tmp_path, "receipt-qr.png")
        assert scanned.endswith(reverse("backoffice:hand_over") + f"?code={checkout.receipt_code}")
    finally:
        buyer_context.close()

    # when: the volunteer's phone camera sees that code
    clip = tmp_path / "receipt.y4m"
    qr_video(scanned, clip)
    camera_browser = browser.browser_type.launch(executable_path=CHROMIUM, args=[
        *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}"])
    try:
        staff = camera_browser.new_context(**PHONE).new_page()
        admin_login(staff, server, volunteer.username, password)

        def scan():
            staff.goto(server.url + reverse("backoffice:hand_over"))
            staff.get_by_role("button", name="Scan with the camera").click()
            staff.wait_for_url("**/staff/hand-over/?code=*", timeout=20_000)

        scan()
        assert "Logo tee" in staff.locator("[data-sale]").inner_text()
        assert staff.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(staff, "hand-over-phone.png")
        staff.get_by_role("button", name="Handed over").click()
        staff.get_by_text("Handed over. Give them the items below.").wait_for(timeout=10_000)  # after the POST

        # then: a second scan is refused, saying when and by whom
        scan()
        assert staff.get_by_role("alert").inner_text().startswith(f"Already handed over by {volunteer.username}")
        assert staff.get_by_role("button", name="Handed over").count() == 0
        screenshot(staff, "hand-over-second-scan.png")
    finally:
        camera_browser.close()
    checkout.refresh_from_db()
    assert checkout.collected_by_id == volunteer.pk
