import secrets
import zoneinfo
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import BooleanField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from common.clients import networks_parse
from common.work import WorkRow

from .variants import STOCK_STATE_TEXT
from .variants import variant_label as label_of_variant

# The most units of one product a booth's stock may reach (a check constraint, refused by stock_apply).
STOCK_MAX = 1_000_000

stripe_style_store_id = RegexValidator(r"^store_[A-Za-z0-9]+$", "Store ids look like store_XYZ789.")


class QrMode(models.TextChoices):
    """Where a product's QR code and Pay button lead (README, "Two ways to sell at the booth")."""

    PAYMENT_LINK = "payment_link", "Payment Link (pay first; oversold units are given back)"
    HELD_CHECKOUT = "held_checkout", "Held checkout (units held first, then a Checkout Session per buyer)"


class CaptureMethod(models.TextChoices):
    MANUAL = "manual", "Authorise, capture once the units are sold (a late buyer is never charged)"
    AUTOMATIC = "automatic", "Charge at once"


def validate_time_zone(name: str) -> None:
    if name not in zoneinfo.available_timezones():
        raise ValidationError(f"{name!r} is not a time zone name such as Europe/Berlin or America/New_York.")


currency_code = RegexValidator(r"^[a-z]{3}$", "A currency is three lower-case letters, as Stripe writes it (usd, eur).")


def venue_addresses_valid(value: str) -> None:
    try:
        networks_parse(value)
    except ValueError as bad:
        raise ValidationError(str(bad)) from None


class Store(models.Model):
    id = models.CharField(primary_key=True, max_length=64, validators=[stripe_style_store_id])
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="usd", validators=[currency_code],
                                help_text="What the store sells in: importing a Stripe price in another "
                                          "currency is refused.")
    qr_mode = models.CharField(max_length=16, choices=QrMode.choices, default=QrMode.PAYMENT_LINK,
                               help_text="Where QR codes lead, unless a product says otherwise.")
    capture_method = models.CharField(max_length=16, choices=CaptureMethod.choices, default=CaptureMethod.MANUAL,
                                      help_text="How held checkouts and the Payment Links the "
                                                "store creates take the money.")
    venue_addresses = models.TextField(
        blank=True, validators=[venue_addresses_valid],
        help_text="The venue's public addresses or networks (its Wi-Fi's NAT), separated by commas or spaces: "
                  "hundreds of buyers share them, so they get the venue's rate of checkouts "
                  "(CHECKOUT_STARTS_PER_VENUE_ADDRESS) instead of one address's.")
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="booths",
        help_text="Booth staff who count, move, receive, import, export and report for this booth "
                  "(superusers: every booth).")
    time_zone = models.CharField(max_length=64, default=settings.TIME_ZONE, validators=[validate_time_zone],
                                 help_text="Where the booth is: times on receipts, staff pages and the "
                                           "day's report are shown in it (Europe/Berlin, America/New_York).")

    class Meta:
        ordering = ["name"]

    def venue_networks(self) -> list:
        return networks_parse(self.venue_addresses)

    def __str__(self):
        return f"{self.name} ({self.id})"




class AvailabilityNotLoaded(RuntimeError):
    """A product's availability was read without loading it: use Product.objects.with_availability().

    Not an AttributeError on purpose: templates would swallow that and show an empty number."""


class ProductQuerySet(models.QuerySet):
    """The one definition of what a buyer can get, and of the stock levels derived from it."""

    def with_availability(self):
        """Annotate `available_units` (stock less units held by live reservations, never below 0),
        `is_sold_out` and `is_low_stock` (some left, at most the product's threshold).

        The holds are a correlated subquery, not a join: the queryset stays one row per product, so
        it composes with other aggregates, filters and row locks, in one query however many rows."""
        held = (Reservation.objects.live().filter(product=OuterRef("pk")).order_by()
                .values("product").annotate(units=Sum("quantity")).values("units"))
        if "available_units" in self.query.annotations:
            return self
        return self.annotate(
            available_units=Greatest(F("inventory") - Coalesce(Subquery(held), 0), 0),
        ).annotate(
            is_sold_out=ExpressionWrapper(Q(available_units__lte=0), output_field=BooleanField()),
            is_low_stock=ExpressionWrapper(Q(available_units__gt=0, available_units__lte=F("low_stock_threshold")),
                                           output_field=BooleanField()),
        )

    def sold_out(self):
        return self.with_availability().filter(is_sold_out=True)

    def low_stock(self):
        return self.with_availability().filter(is_low_stock=True)

    def in_stock(self):
        """More available than the low-stock threshold."""
        return self.with_availability().filter(is_sold_out=False, is_low_stock=False)

    def needing_restock(self):
        """Low or sold out: what the staff dashboard warns about."""
        return self.with_availability().filter(Q(is_low_stock=True) | Q(is_sold_out=True))


def served_here(url: str) -> str:
    """A picture among our own static files (the demo's, static/demo/, which Stripe holds by the
    site's address as it was when the demo was seeded) as a path, so it shows whatever host and port
    serve the page now; any other picture as it is."""
    parts = urlsplit(url or "")
    ours = {urlsplit(settings.SITE_URL).hostname, "127.0.0.1", "localhost"}
    static_path = "/" + settings.STATIC_URL.lstrip("/")
    if parts.scheme in ("http", "https") and parts.hostname in ours and parts.path.startswith(static_path):
        return parts.path
    return url


PRODUCT_IMAGE_MAX_BYTES = 2 * 1024 * 1024
# What an uploaded picture must start with: raster formats only (an SVG or HTML file could carry script).
_IMAGE_SIGNATURES = {".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
                     ".webp": (b"RIFF",)}


def validate_product_image(upload) -> None:
    name = (upload.name or "").lower()
    suffix = name[name.rfind("."):] if "." in name else ""
    if suffix not in _IMAGE_SIGNATURES:
        raise ValidationError("Upload a PNG, JPEG or WebP picture.")
    if upload.size > PRODUCT_IMAGE_MAX_BYTES:
        raise ValidationError(f"The picture is larger than {PRODUCT_IMAGE_MAX_BYTES // (1024 * 1024)} MB.")
    upload.seek(0)
    head = upload.read(12)
    upload.seek(0)
    if not head.startswith(_IMAGE_SIGNATURES[suffix]) or (suffix == ".webp" and head[8:12] != b"WEBP"):
        raise ValidationError("This file is not the picture its name says it is.")


SCAN_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: codes get typed from print


def new_scan_code() -> str:
    return "".join(secrets.choice(SCAN_CODE_ALPHABET) for _ in range(8))


class Product(models.Model):
    """One variant of a Stripe product as stocked in one store: one Stripe price, with its own stock.

    The rows of a store that share a Stripe product id are one product to buyers, in sizes and
    colours (inventory/variants.py); a product without variants is one row with neither. The same
    Stripe product may sit in several stores. Name, descriptions, picture, attributes and tags are
    the product's, shared by its variants (inventory/catalogue.py keeps them in step).
    """

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="products")
    stripe_product_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True)
    long_description = models.TextField(blank=True)
    image_url = models.URLField(blank=True, max_length=2000, help_text="The picture Stripe has for the product.")
    image = models.FileField(upload_to="products/", blank=True, validators=[validate_product_image],
                             help_text="A picture of your own (PNG, JPEG or WebP, at most 2 MB); "
                                       "shown instead of Stripe's.")
    size = models.CharField(max_length=64, blank=True, help_text="Blank for a product without sizes.")
    colour = models.CharField(max_length=64, blank=True, help_text="Blank unless colours are variants.")
    stripe_price_id = models.CharField(max_length=64, blank=True)
    unit_amount = models.PositiveIntegerField(default=0, help_text="Price in the currency's smallest unit.")
    currency = models.CharField(max_length=3, default="usd")
    payment_link_id = models.CharField(max_length=64, blank=True)
    payment_link_url = models.URLField(blank=True)
    payment_link_active = models.BooleanField(
        default=True, help_text="Whether the Payment Link takes payments, as last set at Stripe."
    )
    payment_link_paused = models.BooleanField(
        default=False, help_text="Staff switched sales off (link and QR checkout); off whatever the stock."
    )
    attributes = models.JSONField(default=dict, blank=True,
                                  help_text="Details shown on the product page (supplier, material, …). The Stripe "
                                            "import keeps a size or colour shared by every variant here.")
    tags = models.JSONField(default=list, blank=True)
    inventory = models.IntegerField(default=0, validators=[MinValueValidator(0), MaxValueValidator(STOCK_MAX)])
    low_stock_threshold = models.PositiveIntegerField(default=5)
    qr_mode = models.CharField(max_length=16, choices=QrMode.choices, blank=True,
                               help_text="Leave blank to follow the store's setting.")
    scan_code = models.CharField(max_length=16, unique=True, default=new_scan_code, editable=False,
                                 help_text="The short code in the product's QR URL (/q/<code>/).")
    max_per_checkout = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1)],
                                                        help_text="Most units one buyer may take in one scan.")
    catalogue_synced_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="When name, picture and price were last read from Stripe: older events are not applied.")
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["store_id", "name", "stripe_product_id", "size", "colour"]
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_product_id", "store", "size", "colour"], name="variant_unique_per_store",
                violation_error_message="This store already has this product in this size and colour."),
            models.UniqueConstraint(
                fields=["store", "stripe_price_id"], condition=~Q(stripe_price_id=""), name="price_one_variant_per_store",
                violation_error_message="This store already sells this Stripe price as another product or size."),
            # A variant is keyed by its Stripe price: a sale, a link and a checkout name the price.
            models.CheckConstraint(condition=Q(size="", colour="") | ~Q(stripe_price_id=""), name="variant_has_price",
                                   violation_error_message="A size or colour needs its own Stripe price."),
            models.UniqueConstraint(
                fields=["payment_link_id"], condition=~Q(payment_link_id=""), name="payment_link_one_product"
            ),
            models.CheckConstraint(condition=Q(inventory__gte=0), name="inventory_never_negative"),
            # No booth holds a million of anything: a number past it is a typo or a forged form.
            models.CheckConstraint(condition=Q(inventory__lte=STOCK_MAX), name="inventory_at_most_stock_max"),
            models.CheckConstraint(condition=Q(max_per_checkout__gte=1), name="product_max_per_checkout_positive"),
        ]
        # What booth staff may do without being allowed to edit the product itself (prices, Stripe).
        permissions = [
            ("adjust_stock", "Can restock products"),
            ("count_stock", "Can count a booth (stocktake)"),
            ("transfer_stock", "Can move stock between booths"),
            ("receive_stock", "Can receive deliveries"),
            ("import_stock", "Can import and export stock as CSV"),
            ("view_day_report", "Can read the end-of-day report"),
        ]

    def __str__(self):
        return f"{self.display_name} @ {self.store_id}"

    @property
    def variant_label(self) -> str:
        """What tells this variant from its siblings (M, navy, M · navy); blank without variants."""
        return label_of_variant(size=self.size, colour=self.colour)

    @property
    def display_name(self) -> str:
        """The name with the variant, where one thing must be named alone: "Tee (M)"."""
        return f"{self.name} ({self.variant_label})" if self.variant_label else self.name

    @property
    def picture_url(self) -> str:
        """The uploaded picture, else Stripe's; "" when there is none."""
        return self.image.url if self.image else served_here(self.image_url)

    @property
    def qr_mode_in_force(self) -> str:
        return self.qr_mode or self.store.qr_mode

    @property
    def sells_held(self) -> bool:
        return self.qr_mode_in_force == QrMode.HELD_CHECKOUT

    @property
    def link_follows_stock(self) -> bool:
        """Its Payment Link is switched on and off with its stock (payments.work.records.link_sync_wanted
        asks the same of the database). A product sold only through held checkouts has no link to follow."""
        return bool(self.payment_link_id) and not self.sells_held

    @property
    def page_url(self) -> str:
        """The product's page, showing this variant first (a path)."""
        url = reverse("inventory:product_page", kwargs={"store_id": self.store_id,
                                                        "product_id": self.stripe_product_id})
        return f"{url}?{urlencode({'price': self.stripe_price_id})}" if self.variant_label else url

    @property
    def scan_url(self) -> str:
        """Our own short URL for the product: valid whatever happens to its links and sessions."""
        return settings.SITE_URL + reverse("payments:scan", kwargs={"code": self.scan_code})

    @property
    def qr_url(self) -> str:
        """What the product's QR code encodes: our scan URL in held mode, else its Payment Link."""
        return self.scan_url if self.sells_held else self.payment_link_url

    # Read from Product.objects.with_availability(); never computed here, so a page listing many
    # products cannot fall into one query per product.
    @property
    def available(self) -> int:
        return self._loaded("available_units")

    @property
    def sold_out(self) -> bool:
        return self._loaded("is_sold_out")

    @property
    def low_stock(self) -> bool:
        return self._loaded("is_low_stock")

    @property
    def all_reserved(self) -> bool:
        """Nothing to buy, but units are still here: held for buyers paying now, who may not finish."""
        return self.sold_out and self.inventory > 0

    @property
    def none_left(self) -> bool:
        """Sold out for good (until a restock): nothing here, held or not."""
        return self.sold_out and not self.all_reserved

    @property
    def stock_state(self) -> str:
        """What pages label the product with: sold-out, reserved, low or ok (see STOCK_STATE_TEXT)."""
        if self.sold_out:
            return "reserved" if self.all_reserved else "sold-out"
        return "low" if self.low_stock else "ok"

    @property
    def stock_state_text(self) -> str:
        return STOCK_STATE_TEXT[self.stock_state]

    def refresh_from_db(self, *args, **kwargs):
        # A reload refreshes fields, not annotations: drop availability rather than keep a stale number.
        for name in ("available_units", "is_sold_out", "is_low_stock"):
            self.__dict__.pop(name, None)
        super().refresh_from_db(*args, **kwargs)

    def _loaded(self, name: str):
        try:
            return self.__dict__[name]
        except KeyError:
            raise AvailabilityNotLoaded(f"{self!r} was loaded without Product.objects.with_availability().") from None

    @property
    def on_sale(self) -> bool:
        """Staff have not switched sales off (the Payment Link stays off whatever the stock)."""
        return not self.payment_link_paused

    @property
    def payable(self) -> bool:
        if self.sells_held:
            return self.on_sale and not self.sold_out and self.unit_amount > 0
        return self.payment_link_active and not self.sold_out and bool(self.payment_link_url)


class RetiredScanCode(models.Model):
    """A QR code staff replaced: a scan of it says so instead of "no such code"."""

    code = models.CharField(primary_key=True, max_length=16)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="retired_scan_codes")
    retired_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.code} (retired, was {self.product})"


class StockMovement(models.Model):
    """One ledger row per stock change; the source makes each change happen at most once."""

    class Reason(models.TextChoices):
        INITIAL = "initial", "Initial stock"
        SALE = "sale", "Sale"
        RESTOCK = "restock", "Restock"
        ADJUSTMENT = "adjustment", "Manual adjustment"
        RETURN = "return", "Returned to stock"
        # The booth's day (inventory/operations.py, inventory/stock_csv.py).
        COUNT = "count", "Count correction"
        DAMAGED = "damaged", "Damaged"
        LOST = "lost", "Lost"
        GIVEN_AWAY = "given_away", "Given away"
        TRANSFER_OUT = "transfer_out", "Moved to another booth"
        TRANSFER_IN = "transfer_in", "Moved from another booth"
        DELIVERY = "delivery", "Delivery received"
        IMPORT = "import", "Loaded from a CSV file"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="movements")
    delta = models.IntegerField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    source = models.CharField(max_length=255, help_text="Stripe event/session id, admin user, command …")
    balance_after = models.IntegerField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "source"], name="movement_once_per_source"),
            models.CheckConstraint(condition=~Q(delta=0), name="movement_not_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="movement_balance_never_negative"),
        ]

    def __str__(self):
        return f"{self.delta:+d} {self.product} ({self.reason}, {self.source})"


class ReservationQuerySet(models.QuerySet):
    def live(self):
        """Holds still in force: held, and not yet run out. Exact for a product only while it is
        locked: every new reservation locks its product first."""
        return self.filter(state=Reservation.State.HELD, expires_at__gt=timezone.now())

    def units_per_product(self, product_ids, *, except_hold: str | None = None) -> dict[int, int]:
        """Units held per product id (0 where none), in one query; `except_hold` leaves one checkout out."""
        rows = (self.filter(product_id__in=set(product_ids)).exclude(hold_ref=except_hold or "").order_by()
                .values("product_id").annotate(units=Sum("quantity")).values_list("product_id", "units"))
        return {pid: 0 for pid in product_ids} | dict(rows)


class Reservation(models.Model):
    """Units held for a checkout until it is paid, released, or its hold runs out."""

    class State(models.TextChoices):
        HELD = "held", "Held"
        SOLD = "sold", "Sold"
        RELEASED = "released", "Released"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="reservations")
    hold_ref = models.CharField(max_length=64, help_text="The checkout holding these units.")
    quantity = models.PositiveIntegerField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.HELD)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=255, blank=True)

    objects = ReservationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "hold_ref"], name="reservation_once_per_checkout"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive"),
        ]
        indexes = [models.Index(fields=["product", "state", "expires_at"], name="reservation_live_idx")]

    def __str__(self):
        return f"{self.quantity} × {self.product} for {self.hold_ref} ({self.state})"


class WaitlistEntry(models.Model):
    """Someone to tell, once, when a sold-out product is back."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="waitlist")
    email = models.EmailField()
    # Who added it, the address and the browser: joins are rate-limited per buyer and, sized for a
    # venue, per address (inventory/waitlist.py).
    client_ref = models.CharField(max_length=64, blank=True, db_index=True)
    buyer_ref = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "waitlist entries"
        constraints = [models.UniqueConstraint(fields=["product", "email"], name="waitlist_once_per_email")]

    def __str__(self):
        return f"{self.email} waits for {self.product}"


class StockImport(models.Model):
    """One CSV file applied to stock and the catalogue's store-side fields (inventory/stock_csv.py).

    Unique by the file's digest, so importing the very same file again changes nothing."""

    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the file as uploaded.")
    filename = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    rows = models.PositiveIntegerField()
    products_changed = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.filename or 'CSV'} ({self.rows} rows, {self.created_at:%Y-%m-%d %H:%M})"


class LowStockAlert(models.Model):
    """A product crossed into low stock (Product.objects.needing_restock()): written in the stock
    change's own transaction (inventory/alerts.py). At most one open alert per product; it is
    re-armed (closed) when the product is back above its threshold, so each crossing alerts once."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="low_stock_alerts")
    available = models.IntegerField(help_text="Units available when the threshold was crossed.")
    threshold = models.PositiveIntegerField()
    crossed_at = models.DateTimeField(auto_now_add=True)
    rearmed_at = models.DateTimeField(null=True, blank=True,
                                      help_text="When stock rose above the threshold again (the next crossing alerts).")

    class Meta:
        ordering = ["-crossed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product"], condition=Q(rearmed_at__isnull=True),
                                    name="low_stock_alert_one_open_per_product"),
        ]

    def __str__(self):
        return f"low stock: {self.product} ({self.available} left, threshold {self.threshold})"


class AlertChannel(models.TextChoices):
    MAIL = "mail", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class LowStockAlertDelivery(WorkRow):
    """One channel of one alert (mail, webhook), marked sent only after that send succeeded, so a
    failing channel is retried alone and never makes the other send twice. Durable work of the
    notify queue (common/work.py): retried with backoff, set aside for staff after too many tries."""

    Channel = AlertChannel

    alert = models.ForeignKey(LowStockAlert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "low stock alert deliveries"
        ordering = ["alert_id", "channel"]
        constraints = [models.UniqueConstraint(fields=["alert", "channel"], name="alert_delivery_once_per_channel")]
        indexes = [models.Index(fields=["next_attempt_at"], condition=Q(sent_at__isnull=True),
                                name="alert_delivery_due_idx")]

    def __str__(self):
        return f"{self.channel} for {self.alert} ({'sent' if self.sent_at else 'pending'})"


class WorkFailureNotice(WorkRow):
    """Staff told, once per channel, that a piece of durable work was set aside (common/work.py's
    work_failed): recorded in the transaction that failed it, sent by the notify queue like alerts."""

    Channel = AlertChannel

    channel = models.CharField(max_length=8, choices=Channel.choices)
    subject = models.CharField(max_length=200)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["next_attempt_at"], condition=Q(sent_at__isnull=True),
                                name="work_notice_due_idx")]

    def __str__(self):
        return f"{self.channel}: {self.subject} ({'sent' if self.sent_at else 'pending'})"
