"""Pages that behave: without JavaScript, on a phone, and for people using assistive technology.

(That stock changes are announced through the aria-live region is checked on a real purchase in
test_live_stock.py::test_a_purchase_reaches_every_open_page_within_a_second.)
"""

import pytest
from django.urls import reverse

from .conftest import screenshot, stocked_product, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}

# WCAG 2.2 checks run in the page: text contrast (1.4.3, AA: 4.5:1, 3:1 for large text), names for
# images, controls and links (1.1.1, 4.1.2), a language, one h1. Returns what fails, described.
AUDIT = r"""() => {
  const failures = [];
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return [255, 255, 255, 1];
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => top.slice(0, 3).map((v, i) => v * top[3] + bottom[i] * (1 - top[3])).concat(1);
  const background = (el) => {
    const layers = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const bg = parse(getComputedStyle(n).backgroundColor);
      if (bg[3] > 0) layers.push(bg);
      if (bg[3] >= 1) break;
    }
    let colour = [255, 255, 255, 1];
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && s.visibility !== "hidden" && !el.closest("[hidden]")
      && !el.closest(".visually-hidden");
  };
  const name = (el) => (el.getAttribute("aria-label") || "").trim()
    || (el.getAttribute("aria-labelledby") || "").split(/\s+/).map((id) => document.getElementById(id))
         .filter(Boolean).map((n) => n.textContent).join(" ").trim()
    || (el.labels ? Array.from(el.labels).map((l) => l.textContent).join(" ").trim() : "")
    || (el.getAttribute("title") || "").trim();

  if (!document.documentElement.lang) failures.push("no lang on <html>");
  const h1s = document.querySelectorAll("h1");
  if (h1s.length !== 1) failures.push(`${h1s.length} h1 elements`);
  document.querySelectorAll("img").forEach((img) => {
    if (!img.hasAttribute("alt")) failures.push(`img without alt: ${img.src}`);
  });
  document.querySelectorAll("[role=img]").forEach((el) => {
    if (!name(el)) failures.push(`role=img without a name: ${el.outerHTML.slice(0, 80)}`);
  });
  document.querySelectorAll("input:not([type=hidden]), select, textarea").forEach((el) => {
    if (!name(el)) failures.push(`form control without a label: ${el.outerHTML.slice(0, 80)}`);
  });
  document.querySelectorAll("a[href], button").forEach((el) => {
    if (visible(el) && !(el.textContent.trim() || name(el))) {
      failures.push(`unnamed ${el.tagName}: ${el.outerHTML.slice(0, 80)}`);
    }
  });
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const checked = new Set();
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const el = t.parentElement;
    if (!t.textContent.trim() || checked.has(el) || !visible(el)) continue;
    if (["SCRIPT", "STYLE", "NOSCRIPT"].includes(el.tagName)) continue;
    checked.add(el);
    const style = getComputedStyle(el);
    const bg = background(el);
    const fg = over(parse(style.color), bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight, 10) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      const text = t.textContent.trim().slice(0, 30);
      failures.push(`contrast ${ratio.toFixed(2)}:1 for "${text}" (${style.color} on rgb(${bg.slice(0, 3)}))`);
    }
  }
  return failures;
}"""


def url(server, name, *args) -> str:
    return server.url + reverse(name, args=args)


def test_pages_work_without_javascript(server, browser, store):
    # given
    tee = stocked_product(store, 7, name="Logo tee")
    tote = stocked_product(store, 0, name="Tote bag")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()

        # then: the product page shows the stock as rendered, and a way to pay
        page.goto(url(server, "inventory:product_page", store.pk, tee.stripe_product_id))
        assert page.locator("[data-stock-count]").inner_text() == "7"
        assert page.locator("a.pay-button").is_visible()
        assert page.locator(".qr-code svg").is_visible()
        assert not page.locator("[data-live-status]").is_visible()  # no promise of live updates

        # a sold-out product says so and offers no way to pay
        page.goto(url(server, "inventory:product_page", store.pk, tote.stripe_product_id))
        assert page.locator(".sold-out").is_visible()
        assert not page.locator("section.pay").is_visible()

        # the store page and the booth screen show every product's stock as rendered
        page.goto(url(server, "inventory:store_page", store.pk))
        assert page.locator(f'[data-stock-product="{tee.stripe_product_id}"] [data-stock-count]').inner_text() == "7"
        assert page.locator(f'[data-stock-product="{tote.stripe_product_id}"] .badge-sold-out').is_visible()
        page.goto(url(server, "inventory:booth_screen", store.pk))
        assert page.locator(f'[data-stock-product="{tee.stripe_product_id}"] [data-stock-count]').inner_text() == "7"
        assert page.locator(f'[data-stock-product="{tote.stripe_product_id}"] .booth-sold-out').is_visible()
        screenshot(page, "booth-no-js.png")
    finally:
        context.close()


def test_phone_sized_pages_fit_the_screen(server, browser, store):
    tee = stocked_product(store, 7, name="Organic cotton logo tee", description="Soft, heavy, and warm.")
    stocked_product(store, 2, name="Enamel mug", low_stock_threshold=3)
    stocked_product(store, 0, name="Tote bag")
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        for name, args, shot in [("inventory:product_page", (store.pk, tee.stripe_product_id), "product-mobile.png"),
                                 ("inventory:store_page", (store.pk,), "store-mobile.png"),
                                 ("inventory:booth_screen", (store.pk,), "booth-mobile.png")]:
            page.goto(url(server, name, *args))
            wait_live(page)
            # nothing wider than the screen: no sideways scrolling
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
            screenshot(page, shot)
        page.goto(url(server, "inventory:product_page", store.pk, tee.stripe_product_id))
        button = page.locator("a.pay-button").bounding_box()
        assert button["height"] >= 44 and button["width"] >= 300, button  # a thumb-sized target
        # one way to pay on a phone: no code to scan "with another phone" on the phone itself
        assert not page.locator(".qr-code svg").is_visible()
    finally:
        context.close()


@pytest.mark.parametrize("page_name", ["product", "product-sold-out", "store", "qr-sheet", "booth"])
def test_pages_are_accessible(server, context, store, page_name):
    # given: a product in stock, one low and one sold out
    tee = stocked_product(store, 12, name="Logo tee", image_url="https://cdn.example.com/tee.png")
    stocked_product(store, 2, name="Camp mug", low_stock_threshold=3)
    tote = stocked_product(store, 0, name="Tote bag")
    target = {
        "product": ("inventory:product_page", store.pk, tee.stripe_product_id),
        "product-sold-out": ("inventory:product_page", store.pk, tote.stripe_product_id),
        "store": ("inventory:store_page", store.pk),
        "qr-sheet": ("inventory:store_qr_sheet", store.pk),
        "booth": ("inventory:booth_screen", store.pk),
    }[page_name]
    page = context.new_page()
    page.route("https://cdn.example.com/**", lambda route: route.fulfill(status=404))  # loopback only
    page.goto(url(server, *target))
    wait_live(page)

    # then: names, language, headings, contrast
    assert page.evaluate(AUDIT) == []
    # stock changes have somewhere to be announced, politely
    live = page.locator("[data-live-announcer]")
    assert live.get_attribute("aria-live") == "polite" and live.get_attribute("aria-atomic") == "true"
    # the first Tab reaches the skip link, which is then visible
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('skip-link')")
    assert page.locator(".skip-link").bounding_box()["y"] >= 0
