"""Server-rendered pages: stock as of render time, and the hooks live-stock.js updates."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from inventory.services import StockLine, stock_reserve_lines

pytestmark = pytest.mark.django_db

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict, parent: "Node | None"):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def text(self) -> str:
        return " ".join("".join(c if isinstance(c, str) else c.text() for c in self.children).split())

    def find_all(self, tag: str | None = None, **attrs) -> list["Node"]:
        found = []
        for child in self.children:
            if isinstance(child, str):
                continue
            if (tag is None or child.tag == tag) and all(
                child.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()
            ):
                found.append(child)
            found.extend(child.find_all(tag, **attrs))
        return found

    def find(self, tag: str | None = None, **attrs) -> "Node":
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag or '*'} {attrs}>, found {len(found)}"
        return found[0]

    @property
    def shown(self) -> bool:
        """Rendered for everyone: neither it nor an ancestor carries `hidden`."""
        node = self
        while node is not None:
            if "hidden" in node.attrs:
                return False
            node = node.parent
        return True


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {}, None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def page(response) -> Node:
    assert response.status_code == 200, response.status_code
    builder = _TreeBuilder()
    builder.feed(response.content.decode())
    return builder.root


def stock_containers(doc: Node) -> list[Node]:
    return [n for n in doc.find_all() if "data-stock-product" in n.attrs]


def shown_when(container: Node, condition: str) -> bool:
    """Whether the parts shown under `condition` are shown; they must all agree."""
    states = {node.shown for node in container.find_all(data_show_when=condition)}
    assert len(states) == 1, f"parts shown when {condition!r} disagree (or there are none)"
    return states.pop()


def product_url(p) -> str:
    return reverse("inventory:product_page", args=[p.store_id, p.stripe_product_id])


@pytest.fixture
def booth(make_store):
    return make_store(name="Hall A")


# ---- store index ----

def test_index_links_every_store(client, booth):
    doc = page(client.get(reverse("inventory:store_index")))

    hrefs = {a.attrs["href"] for a in doc.find_all("a")}
    assert reverse("inventory:store_page", args=[booth.id]) in hrefs
    assert reverse("inventory:store_qr_sheet", args=[booth.id]) in hrefs


# ---- store page ----

def test_store_page_shows_each_product_with_its_stock_and_a_link(client, booth, make_product):
    # given
    tee = make_product(store=booth, name="Tee", inventory=12, low_stock_threshold=3)
    mug = make_product(store=booth, name="Mug", inventory=2, low_stock_threshold=3)
    tote = make_product(store=booth, name="Tote", inventory=0)

    # when
    doc = page(client.get(reverse("inventory:store_page", args=[booth.id])))

    # then
    assert doc.find("body").attrs["data-live-stock-path"] == f"/ws/stock/{booth.id}/"
    assert any(s.attrs.get("src", "").endswith("js/live-stock.js") for s in doc.find_all("script"))
    cards = {c.attrs["data-stock-product"]: c for c in stock_containers(doc)}
    assert set(cards) == {tee.stripe_product_id, mug.stripe_product_id, tote.stripe_product_id}

    card = cards[tee.stripe_product_id]
    assert card.attrs["data-available"] == "12"
    assert card.find(data_stock_count="").text() == "12"
    assert card.find("a").attrs["href"] == product_url(tee)
    assert not shown_when(card, "sold-out") and not shown_when(card, "low-stock")
    assert "$25.00" in card.text()

    card = cards[mug.stripe_product_id]
    assert card.attrs["data-low-stock"] == "true"
    assert shown_when(card, "low-stock") and not shown_when(card, "sold-out")

    card = cards[tote.stripe_product_id]
    assert card.attrs["data-sold-out"] == "true" and card.attrs["data-payable"] == "false"
    assert shown_when(card, "sold-out") and not shown_when(card, "in-stock")
    assert card.find(data_show_when="sold-out").text() == "Sold out"


def test_store_page_of_an_empty_booth_says_so(client, booth):
    doc = page(client.get(reverse("inventory:store_page", args=[booth.id])))

    assert "Nothing on sale" in doc.find("main").text()


# ---- product page ----

def test_product_page_shows_the_product_its_stock_and_how_to_pay(client, booth, make_product):
    # given
    hoodie = make_product(
        store=booth, name="Zip hoodie", inventory=7, unit_amount=5550, low_stock_threshold=2,
        description="Warm zip hoodie.", long_description="Brushed inside.\n\nMade in Portugal.",
        image_url="https://cdn.example.com/hoodie.png",
        attributes={"size": "L", "colour": "charcoal"}, tags=["apparel", "organic"],
    )

    # when
    doc = page(client.get(product_url(hoodie)))

    # then
    product = doc.find(data_stock_product=hoodie.stripe_product_id)
    text = product.text()
    assert doc.find("h1").text() == "Zip hoodie"
    assert doc.find("img").attrs == {"src": "https://cdn.example.com/hoodie.png", "alt": "Zip hoodie",
                                     "width": "640", "height": "640", "decoding": "async"}
    for expected in ("Warm zip hoodie.", "Brushed inside.", "Made in Portugal.", "Size", "L", "Colour",
                     "charcoal", "apparel", "organic", "$55.50"):
        assert expected in text
    assert product.find(data_stock_count="").text() == "7"
    assert (product.attrs["data-sold-out"], product.attrs["data-low-stock"], product.attrs["data-payable"]) == (
        "false", "false", "true")
    assert not shown_when(product, "low-stock") and not shown_when(product, "sold-out")

    pay = product.find(data_show_when="payable")
    assert pay.shown
    link = pay.find("a")
    assert link.attrs["href"] == hoodie.payment_link_url and link.text() == "Pay with Stripe"
    assert pay.find("svg")
    assert doc.find("body").attrs["data-live-stock-path"] == f"/ws/stock/{booth.id}/{hoodie.stripe_product_id}/"


def test_low_stock_shows_a_hint(client, booth, make_product):
    mug = make_product(store=booth, inventory=2, low_stock_threshold=3)

    product = page(client.get(product_url(mug))).find(data_stock_product=mug.stripe_product_id)

    assert product.attrs["data-low-stock"] == "true"
    assert shown_when(product, "low-stock")
    assert shown_when(product, "payable")


def test_sold_out_product_says_so_and_offers_no_way_to_pay(client, booth, make_product):
    # given
    tote = make_product(store=booth, name="Tote", inventory=0)

    # when
    doc = page(client.get(product_url(tote)))

    # then
    product = doc.find(data_stock_product=tote.stripe_product_id)
    assert product.attrs["data-sold-out"] == "true" and product.attrs["data-payable"] == "false"
    assert shown_when(product, "sold-out") and product.find("p", data_show_when="sold-out").text() == "Sold out"
    assert not shown_when(product, "in-stock")
    # The QR code and link stay in the page, hidden, so live-stock.js can bring them back on a restock.
    assert not shown_when(product, "payable")
    assert not [a for a in doc.find_all("a") if a.attrs.get("href") == tote.payment_link_url and a.shown]
    assert not [svg for svg in doc.find_all("svg") if svg.shown]
    assert not shown_when(product, "unavailable")


def test_switched_off_link_hides_the_qr_code_while_stock_remains(client, booth, make_product):
    mug = make_product(store=booth, inventory=4, payment_link_active=False)

    doc = page(client.get(product_url(mug)))

    product = doc.find(data_stock_product=mug.stripe_product_id)
    assert product.attrs["data-payable"] == "false"
    assert not shown_when(product, "payable") and not shown_when(product, "sold-out")
    assert shown_when(product, "unavailable")
    assert not [a for a in doc.find_all("a") if a.attrs.get("href") == mug.payment_link_url and a.shown]


def test_product_without_payment_link_has_no_pay_section(client, booth, make_product):
    cap = make_product(store=booth, inventory=4, link=False)

    doc = page(client.get(product_url(cap)))

    product = doc.find(data_stock_product=cap.stripe_product_id)
    assert product.attrs["data-payable"] == "false"
    assert not product.find_all(data_show_when="payable")
    assert shown_when(product, "unavailable")


def test_product_text_is_escaped(client, booth, make_product):
    odd = make_product(store=booth, name='<script>alert("x")</script>', inventory=1)

    response = client.get(product_url(odd))

    assert b'<script>alert("x")</script>' not in response.content
    assert page(response).find("h1").text() == '<script>alert("x")</script>'


# ---- QR sheet ----

def test_qr_sheet_has_a_card_per_product_and_a_code_for_every_one(client, booth, make_product):
    # given
    tee = make_product(store=booth, name="Tee", inventory=5, unit_amount=2500)
    tote = make_product(store=booth, name="Tote", inventory=0, unit_amount=1500)

    # when
    doc = page(client.get(reverse("inventory:store_qr_sheet", args=[booth.id])))

    # then
    assert doc.find("body").attrs["data-live-stock-path"] == f"/ws/stock/{booth.id}/"
    cards = stock_containers(doc)
    assert [c.attrs["data-stock-product"] for c in cards] == [tee.stripe_product_id, tote.stripe_product_id]

    tee_card, tote_card = cards
    assert "Tee" in tee_card.text() and "$25.00" in tee_card.text()
    assert tee_card.find("svg").shown
    assert not shown_when(tee_card, "sold-out")

    # sold out now, but the printed code outlives that: it leads to the product's page (then its link)
    assert "Tote" in tote_card.text() and "$15.00" in tote_card.text()
    assert shown_when(tote_card, "sold-out") and tote_card.find(data_show_when="sold-out").text() == "Sold out now"
    assert tote_card.find("svg").shown


def test_stylesheet_prints_the_qr_sheet_on_a4():
    css = open(finders.find("css/store.css"), encoding="utf-8").read()

    assert "@media print" in css
    assert "size: A4" in css


# ---- not found, and the QR code itself ----

@pytest.mark.parametrize("name", ["inventory:store_page", "inventory:store_qr_sheet"])
def test_unknown_store_is_404(client, name):
    assert client.get(reverse(name, args=["store_NOPE"])).status_code == 404


@pytest.mark.parametrize("name", ["inventory:product_page", "inventory:product_qr_svg"])
def test_unknown_product_is_404(client, booth, name):
    assert client.get(reverse(name, args=[booth.id, "prod_NOPE"])).status_code == 404


def test_product_of_another_store_is_404(client, booth, make_store, make_product):
    elsewhere = make_product(store=make_store())

    response = client.get(reverse("inventory:product_page", args=[booth.id, elsewhere.stripe_product_id]))

    assert response.status_code == 404


def test_product_qr_svg_is_an_svg_image(client, booth, make_product):
    tee = make_product(store=booth)

    response = client.get(reverse("inventory:product_qr_svg", args=[booth.id, tee.stripe_product_id]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.lstrip().startswith(b"<svg")
    assert response.content.rstrip().endswith(b"</svg>")


def test_product_qr_svg_without_payment_link_is_404(client, booth, make_product):
    cap = make_product(store=booth, link=False)

    response = client.get(reverse("inventory:product_qr_svg", args=[booth.id, cap.stripe_product_id]))

    assert response.status_code == 404


# ---- units held by checkouts in progress ----

def test_units_held_by_checkouts_are_not_shown_as_available(client, booth, make_product):
    # given: 2 in stock, both held by a checkout that has not paid yet
    tote = make_product(store=booth, name="Tote", inventory=2)
    stock_reserve_lines(lines=[StockLine(tote.pk, 2)], hold_ref="chk_test_pages",
                        expires_at=timezone.now() + timedelta(minutes=10))

    # when
    doc = page(client.get(product_url(tote)))

    # then
    product = doc.find(data_stock_product=tote.stripe_product_id)
    assert product.attrs["data-available"] == "0"
    # nothing to buy, but not sold out: reserved, and they may come back
    assert shown_when(product, "reserved") and not shown_when(product, "sold-out")
    assert not shown_when(product, "payable")


@pytest.mark.parametrize("stored, shown", [
    ("http://127.0.0.1:8000/static/demo/tee.svg", "/static/demo/tee.svg"),  # seeded on another port
    ("http://localhost:8001/static/demo/mug.svg", "/static/demo/mug.svg"),
    ("https://files.stripe.com/links/tee.png", "https://files.stripe.com/links/tee.png"),
    ("https://cdn.example.com/static/tee.png", "https://cdn.example.com/static/tee.png"),
    ("", ""),
])
def test_the_demos_pictures_show_on_any_port(make_product, stored, shown):
    assert make_product(image_url=stored).picture_url == shown


def test_every_page_has_the_icon_and_favicon_ico_leads_to_it(client, admin_client, make_store):
    store = make_store()
    for response in (client.get(reverse("inventory:store_page", args=[store.pk])), admin_client.get("/admin/")):
        assert 'rel="icon" href="/static/favicon.svg"' in response.content.decode()
    asked = client.get("/favicon.ico")
    assert asked.status_code == 301 and asked["Location"] == "/static/favicon.svg"
