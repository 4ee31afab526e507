"""QR codes that really scan: rendered by Chromium, photographed (a screenshot), decoded by zbarimg.

A QR code that renders at zero size, without its namespace, or with the wrong URL looks fine in the
HTML; only a real decoder on the real pixels says whether a phone can scan it.
"""

import re
import shutil
import subprocess

import pytest
from django.urls import reverse

from .conftest import missing_tool, screenshot, stocked_product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def decode(png: bytes, tmp_path, name: str) -> list[str]:
    """Every QR code zbarimg finds in the picture, as text."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        missing_tool("zbarimg is missing: bin/test installs it (apt-get install zbar-tools)")
    path = tmp_path / name
    path.write_bytes(png)
    result = subprocess.run([zbarimg, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
                            capture_output=True, text=True, timeout=30)
    # Exit 4: no code found in the image.
    assert result.returncode in (0, 4), result.stderr
    return result.stdout.splitlines()


def test_product_page_qr_code_scans_to_its_payment_link(server, context, store, tmp_path):
    # given: a realistic Payment Link URL (Stripe's are ~45 characters)
    product = stocked_product(store, 5, payment_link_url="https://buy.stripe.com/test_6oE5kE0aB1cD2eF3gH4iJ")
    page = context.new_page()
    page.goto(server.url + reverse("inventory:product_page", args=[store.pk, product.stripe_product_id]))

    # when
    code = page.locator(".qr-code svg")
    box = code.bounding_box()
    png = code.screenshot()

    # then: big enough to scan from a phone held at arm's length, and it scans to the link
    assert box["width"] >= 150 and box["height"] >= 150, box
    assert decode(png, tmp_path, "product-qr.png") == [product.payment_link_url]
    screenshot(code, "product-qr.png")


def test_product_qr_svg_file_scans_to_its_payment_link(server, context, store, tmp_path):
    product = stocked_product(store, 2)
    page = context.new_page()

    response = page.goto(server.url + reverse("inventory:product_qr_svg",
                                              args=[store.pk, product.stripe_product_id]))

    assert response.headers["content-type"] == "image/svg+xml"
    # Rendered as an image, not as an XML tree (which it is without the SVG namespace).
    assert page.evaluate("document.documentElement.namespaceURI") == "http://www.w3.org/2000/svg"
    assert decode(page.locator("svg").screenshot(), tmp_path, "qr-file.png") == [product.payment_link_url]


def scan_url_on(server, product) -> str:
    return server.url + reverse("payments:scan", args=[product.scan_code])


def test_qr_sheet_every_card_scans_to_its_own_product(server, context, store, tmp_path):
    # given: three products on sale and one sold out
    on_sale = [stocked_product(store, n, name=name, payment_link_url=f"https://buy.stripe.com/test_{code}")
               for n, name, code in [(3, "Tee", "aAbB00cCdD11eE"), (8, "Mug", "fFgG22hHiI33jJ"),
                                     (1, "Cap", "kKlL44mMnN55oO")]]
    sold_out = stocked_product(store, 0, name="Tote")
    page = context.new_page()
    page.goto(server.url + reverse("inventory:store_qr_sheet", args=[store.pk]))

    # when / then: each card's code decodes to that card's product's own scan URL, the sold-out one's
    # too (paper outlives stock: scanned now it shows the sold-out page, after a restock it sells)
    cards = page.locator(".qr-card")
    assert cards.count() == 4
    decoded = {}
    for i in range(cards.count()):
        card = cards.nth(i)
        decoded[card.get_attribute("data-stock-product")] = decode(
            card.locator(".qr-card-code svg").screenshot(), tmp_path, f"card-{i}.png")
    assert decoded == {p.stripe_product_id: [scan_url_on(server, p)] for p in [*on_sale, sold_out]}
    assert page.locator(f'[data-stock-product="{sold_out.stripe_product_id}"] .qr-card-sold-out').is_visible()

    # and: the sheet as a whole (several codes in one picture) holds exactly the four codes
    full = page.screenshot(full_page=True)
    assert sorted(decode(full, tmp_path, "sheet.png")) == sorted(scan_url_on(server, p) for p in [*on_sale, sold_out])
    screenshot(page, "qr-sheet.png")


# Per card, in print: what overflows its box, and whether a live badge shows.
PRINTED_CARDS = r"""() => Array.from(document.querySelectorAll('.qr-card')).map((card) => ({
  overflows: card.scrollHeight > card.clientHeight + 1 || card.scrollWidth > card.clientWidth + 1,
  badges: Array.from(card.querySelectorAll('.live-badge')).filter((b) => b.getClientRects().length > 0).length,
}))"""


def test_qr_sheet_printed_to_pdf_keeps_scannable_codes(server, context, store, tmp_path):
    """Printing uses the print stylesheet (A4, 48 mm codes): emulate print media and scan the cards."""
    product = stocked_product(store, 4, name="Hoodie")
    stocked_product(store, 0, name="Organic cotton tote bag with a long name")
    page = context.new_page()
    page.emulate_media(media="print")
    page.goto(server.url + reverse("inventory:store_qr_sheet", args=[store.pk]))

    code = page.locator(".qr-card-code svg").first
    box = code.bounding_box()

    assert box["width"] >= 150, box  # 48 mm at 96 dpi ≈ 181 px
    assert decode(code.screenshot(), tmp_path, "print.png") == [scan_url_on(server, product)]
    # names and captions stay inside their cards; nothing live (SOLD OUT) is printed
    assert page.evaluate(PRINTED_CARDS) == [{"overflows": False, "badges": 0}] * 2


def test_qr_sheet_prints_six_whole_cards_per_a4_page(server, context, store):
    for n in range(7):
        stocked_product(store, n, name=f"Sticker {n}")
    page = context.new_page()
    page.goto(server.url + reverse("inventory:store_qr_sheet", args=[store.pk]))

    pdf = page.pdf(format="A4", prefer_css_page_size=True)

    # 7 cards: 6 on the first page and 1 on the second; a card split across pages would add a page
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 2
