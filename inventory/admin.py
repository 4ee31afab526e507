"""Back office. Stock is never written by a form: every stock edit goes through inventory.services,
so it lands in the ledger with the staff member as actor and is broadcast after commit."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db import models
from django.db.models import Count
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from common import words

from common.admin_readonly import ReadOnlyAdminMixin
from common.admin_work import SetAsideFilter, WorkAdmin

from . import selectors
from .alerts import low_stock_alert_check
from .exceptions import InvalidStockChange
from .catalogue import product_family_fields_set
from .models import (LowStockAlert, LowStockAlertDelivery, Product, Reservation, StockImport, StockMovement, Store,
                     WaitlistEntry, WorkFailureNotice)
from .services import product_link_pause, product_scan_code_renew, stock_increase, stock_set
from .stock_csv import stock_csv_export
from .variants import STOCK_STATE_TEXT, size_rank

# Written only through services, never by ModelForm.save().
SERVICE_FIELDS = ("inventory", "payment_link_paused")
MAX_RESTOCK = 100_000


def _admin_source(request) -> str:
    return f"admin:{request.user.pk}:{uuid.uuid4()}"


def _restock_source(request) -> str:
    try:
        key = uuid.UUID(request.POST.get("restock_key", ""))
    except ValueError:
        key = uuid.uuid4()
    return f"admin:{request.user.pk}:{key}"


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "product_count")
    search_fields = ("name", "id")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_total=Count("products"))

    @admin.display(description="Products", ordering="product_total")
    def product_count(self, obj):
        return obj.product_total

    def get_readonly_fields(self, request, obj=None):
        # The id is in every URL, QR code and Stripe metadata: fixed once the store exists.
        return ("id",) if obj else ()


def _stock_shown(form) -> int | None:
    """The stock the page showed when it was rendered (the hidden initial), None if unknown."""
    field = form.fields["inventory"]
    raw = field.hidden_widget().value_from_datadict(form.data, form.files, form["inventory"].html_initial_name)
    try:
        return field.to_python(raw)
    except forms.ValidationError:
        return None


class StockLevelFilter(admin.SimpleListFilter):
    title = "stock level"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        # The labels the pages use (one label per idea).
        return [("sold_out", STOCK_STATE_TEXT["sold-out"]), ("low", STOCK_STATE_TEXT["low"]),
                ("in_stock", STOCK_STATE_TEXT["ok"])]

    def queryset(self, request, queryset):
        # By what buyers can get (stock less units held by checkouts), as the pages show it.
        levels = {"sold_out": queryset.sold_out, "low": queryset.low_stock, "in_stock": queryset.in_stock}
        return levels[self.value()]() if self.value() in levels else queryset


class StockMovementInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The ledger, read-only: rows are written by inventory.services alone."""

    model = StockMovement
    fields = ("created_at", "delta", "reason", "balance_after", "source", "actor", "note")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    extra = 0
    can_delete = False
    show_change_link = False


class RestockActionForm(ActionForm):
    # A CharField, not an IntegerField: an invalid number must reach the action and get a clear
    # message, where an invalid action form only says "No action selected".
    quantity = forms.CharField(label="Quantity to add", required=False,
                               widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 5}))
    # One key per rendered page: the ledger source of its restock, so a form sent twice
    # (double click, "resend" on reload) restocks once.
    restock_key = forms.CharField(label="", required=False, widget=forms.HiddenInput,
                                  initial=lambda: uuid.uuid4().hex)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    # Stock right after the name: on a phone at the booth the first columns are all that shows.
    list_display = ("name", "variant", "inventory", "available_now", "store_name", "low_stock_threshold",
                    "link_state", "payment_link_paused")
    list_display_links = ("name",)
    list_editable = ("inventory",)
    list_filter = ("store", StockLevelFilter, "payment_link_paused", "payment_link_active")
    list_select_related = ("store",)
    search_fields = ("name", "size", "colour", "stripe_product_id", "stripe_price_id", "payment_link_id", "tags")
    readonly_fields = ("payment_link_active", "updated_at", "ledger_link", "scan_code")
    inlines = (StockMovementInline,)
    action_form = RestockActionForm
    actions = ("restock", "export_csv", "switch_link_off", "switch_link_on", "new_scan_code")
    fieldsets = (
        (None, {"fields": ("store", "name", "description", "long_description", "image", "image_url", "attributes",
                           "tags"),
                "description": "Shared by every size and colour of this product in its store: a change here "
                               "changes them all. Name, description and picture also follow Stripe."}),
        ("Variant", {"fields": ("size", "colour"),
                     "description": "Blank for a product without sizes. Each size or colour is a row of its "
                                    "own, with its own price, stock and QR code; the Stripe import (Stores → "
                                    "action) creates them."}),
        ("Stock", {"fields": ("inventory", "low_stock_threshold", "ledger_link"),
                   "description": "Changing the stock here records a movement in the ledger, "
                                  "with you as the actor."}),
        ("Selling at the booth", {"fields": ("qr_mode", "max_per_checkout", "scan_code"),
                                  "description": "Where the product's QR code leads (blank: the store's "
                                                 "setting); README, \"Two ways to sell at the booth\"."}),
        ("Stripe", {"fields": ("stripe_product_id", "stripe_price_id", "unit_amount", "currency",
                               "payment_link_id", "payment_link_url", "payment_link_active",
                               "payment_link_paused", "updated_at")}),
    )

    def get_queryset(self, request):
        # Booth staff see, restock and export only the products of their booths (Store.staff).
        products = super().get_queryset(request).with_availability()
        return products if request.user.is_superuser else products.filter(store__staff=request.user)

    def get_ordering(self, request):
        # Each product's sizes as people read them (S, M, L, XL): an expression, which `ordering`
        # (checked against model fields) cannot hold.
        return ("store__name", "name", "stripe_product_id", size_rank().asc(), "size", "colour")

    def get_fieldsets(self, request, obj=None):
        # Booth staff look at products without being able to change them: no Stripe or price section.
        if self.has_change_permission(request, obj):
            return self.fieldsets
        return [fs for fs in self.fieldsets if fs[0] != "Stripe"]

    def has_adjust_stock_permission(self, request):
        """Restocking: whoever may change products, or holds inventory.adjust_stock (booth staff)."""
        return self.has_change_permission(request) or request.user.has_perm("inventory.adjust_stock")

    def has_import_stock_permission(self, request):
        return request.user.has_perm("inventory.import_stock")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "inventory":
            # Refused by the form, with a message, before the database constraint could refuse it.
            # The hidden initial is the number the page showed: a row left untouched is not
            # "changed" even if a sale moved the stock meanwhile, so it is not written back.
            kwargs.update(min_value=0, label="Stock", show_hidden_initial=True)
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")  # Stripe and image CDNs are https
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        # A product's store is in its URL, QR code and broadcast group: fixed once created.
        return (*self.readonly_fields, "store") if obj else self.readonly_fields

    @admin.display(description="Size / colour", ordering=size_rank())
    def variant(self, obj):
        return obj.variant_label or "—"

    @admin.display(description="Store", ordering="store__name")
    def store_name(self, obj):
        return obj.store.name

    @admin.display(description="Available", ordering="available_units")
    def available_now(self, obj):
        """Stock less units held by checkouts in progress: what the pages show."""
        return obj.available

    @admin.display(description="Payment Link")
    def link_state(self, obj):
        if not obj.payment_link_id:
            return "No link"
        if obj.payment_link_paused:
            return "Off (switched off by staff)"
        return "On" if obj.payment_link_active else "Off"

    @admin.display(description="Ledger")
    def ledger_link(self, obj):
        if not obj.pk:
            return "—"
        url = reverse("admin:inventory_stockmovement_changelist") + f"?product__id__exact={obj.pk}"
        return format_html('<a href="{}">All stock movements of this product</a>', url)

    # ---- saving: everything but stock and the link switch through the form, those through services ----

    def save_model(self, request, obj, form, change):
        level = obj.inventory
        paused = obj.payment_link_paused
        if change:
            self._save_form_fields(obj, form)
        else:
            obj.inventory, obj.payment_link_paused = 0, False
            obj.save()
        if change:
            # The product's name, picture, … are every variant's: the other sizes follow this one.
            product_family_fields_set(product=obj, fields=form.changed_data)
        if "inventory" in form.changed_data or (not change and level):
            self._set_stock(request, obj, form, level)
        if "payment_link_paused" in form.changed_data:
            product_link_pause(product=obj, paused=paused)
        if "low_stock_threshold" in form.changed_data:
            low_stock_alert_check(product_id=obj.pk)  # a new threshold may cross (or re-arm) by itself
        obj.refresh_from_db(fields=list(SERVICE_FIELDS))

    @staticmethod
    def _save_form_fields(obj, form):
        fields = [f.name for f in obj._meta.concrete_fields
                  if f.name in form.changed_data and f.name not in SERVICE_FIELDS]
        if fields:
            obj.save(update_fields=[*fields, "updated_at"])

    def _set_stock(self, request, obj, form, level: int):
        shown = _stock_shown(form)
        before = selectors.product_by_id(product_id=obj.pk).inventory
        try:
            stock_set(product=obj, level=level, source=_admin_source(request), actor=request.user,
                      note=f"count by staff (form showed {shown})" if shown is not None else "count by staff")
        except InvalidStockChange as exc:  # the form already refuses these; belt and braces
            self.message_user(request, f"{obj.name}: {exc}", messages.ERROR)
            return
        if shown is not None and before != shown:
            self.message_user(
                request,
                f"{obj.name}: stock had moved from {shown} to {before} since the page was loaded "
                f"(sales?); it is now set to {level} as entered.",
                messages.WARNING,
            )

    # ---- actions ----

    @admin.action(description="Export selected products as CSV (stock, threshold, tags, attributes)",
                  permissions=["import_stock"])
    def export_csv(self, request, queryset):
        response = HttpResponse(stock_csv_export(product_ids=list(queryset.values_list("pk", flat=True))),
                                content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="stock.csv"'
        return response

    @admin.action(description="Restock selected products by the quantity entered", permissions=["adjust_stock"])
    def restock(self, request, queryset):
        raw = (request.POST.get("quantity") or "").strip()
        quantity = int(raw) if raw.isascii() and raw.isdigit() else 0
        if not 0 < quantity <= MAX_RESTOCK:
            self.message_user(
                request,
                f"Restock needs a whole number from 1 to {MAX_RESTOCK} in “Quantity to add” "
                f"(got “{raw or 'nothing'}”). Nothing was changed.",
                messages.ERROR,
            )
            return
        source = _restock_source(request)
        products = list(queryset.order_by("pk"))
        done_before = set(selectors.product_ids_with_movement(source=source))
        for product in products:
            stock_increase(product=product, quantity=quantity, source=source, reason="restock",
                           actor=request.user, note="restock from the product list")
        added = [p for p in products if p.pk not in done_before]
        if added:
            self.message_user(request, f"Added {words.units(quantity)} to each of {words.products(len(added))}.",
                              messages.SUCCESS)
        if len(added) < len(products):
            self.message_user(request, f"{words.products(len(products) - len(added))} had already been restocked "
                                       f"by this same form (sent twice): not added again.", messages.WARNING)

    @admin.action(description="Switch Payment Link off (stays off whatever the stock)", permissions=["change"])
    def switch_link_off(self, request, queryset):
        self._switch_links(request, queryset, paused=True)

    @admin.action(description="Switch Payment Link back on (follows stock again)", permissions=["change"])
    def switch_link_on(self, request, queryset):
        self._switch_links(request, queryset, paused=False)

    @admin.action(description="Print a new QR code (the old one then says it was replaced)", permissions=["change"])
    def new_scan_code(self, request, queryset):
        products = list(queryset.order_by("pk"))
        for product in products:
            product_scan_code_renew(product=product)
        self.message_user(request, f"New QR code for {words.products(len(products))}: print the sheet again.",
                          messages.SUCCESS)

    def _switch_links(self, request, queryset, *, paused: bool):
        products = list(queryset.order_by("pk"))
        for product in products:
            product_link_pause(product=product, paused=paused)
        state = "switched off" if paused else "back on, following stock"
        self.message_user(request, f"Payment Link {state} for {words.products(len(products))}.", messages.SUCCESS)


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The ledger on its own page: read-only, every row written by inventory.services."""

    list_display = ("created_at", "product", "delta", "reason", "balance_after", "source", "actor", "note")
    list_filter = ("reason", "product__store")
    list_select_related = ("product", "product__store", "actor")
    search_fields = ("source", "product__name", "product__stripe_product_id")
    date_hierarchy = "created_at"


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Units held for checkouts: why a product can show fewer available than in stock. Read-only."""

    list_display = ("created_at", "product", "quantity", "state", "expires_at", "hold_ref", "close_reason")
    list_filter = ("state", "product__store")
    list_select_related = ("product", "product__store")
    search_fields = ("hold_ref", "product__name", "product__stripe_product_id")
    date_hierarchy = "created_at"


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    """Who waits for a restock. Entries can be deleted (someone asks to be forgotten), not edited."""

    list_display = ("created_at", "product", "email", "notified_at")
    list_filter = (("notified_at", admin.EmptyFieldListFilter), "product__store")
    list_select_related = ("product", "product__store")
    search_fields = ("email", "product__name")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LowStockAlertDeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LowStockAlertDelivery
    fields = ("channel", "sent_at", "attempts", "next_attempt_at", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(LowStockAlert)
class LowStockAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each crossing into low stock and whether its e-mail and webhook went out. Read-only."""

    list_display = ("crossed_at", "product", "available", "threshold", "rearmed_at")
    list_filter = ("product__store", ("rearmed_at", admin.EmptyFieldListFilter))
    list_select_related = ("product", "product__store")
    search_fields = ("product__name", "product__stripe_product_id")
    date_hierarchy = "crossed_at"
    inlines = (LowStockAlertDeliveryInline,)


@admin.register(LowStockAlertDelivery)
class LowStockAlertDeliveryAdmin(WorkAdmin):
    """Each channel of each alert: sent, waiting for its next try, or set aside with its reason."""

    work_kind = "alert_delivery"
    list_display = ("alert", "channel", "sent_at", "attempts", "next_attempt_at", "failed_at", "last_error")
    list_filter = (SetAsideFilter, "channel")
    list_select_related = ("alert__product__store",)


@admin.register(WorkFailureNotice)
class WorkFailureNoticeAdmin(WorkAdmin):
    """What staff were told about failed work, by which channel, and whether it went out."""

    work_kind = "work_notice"
    list_display = ("created_at", "subject", "channel", "sent_at", "attempts", "failed_at", "last_error")
    list_filter = (SetAsideFilter, "channel")
    search_fields = ("subject", "text")


@admin.register(StockImport)
class StockImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every CSV file imported: who, when, how many products it changed. Read-only."""

    list_display = ("created_at", "filename", "actor", "rows", "products_changed", "digest")
    list_select_related = ("actor",)
    search_fields = ("filename", "digest")
