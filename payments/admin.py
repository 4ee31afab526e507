"""Back office for payments: everything here is a record of what happened, so it is read-only.
Orders change only through fulfilment and settlement, Stripe calls only through payments.gateway."""

from django.contrib import admin, messages

from common.admin_readonly import ReadOnlyAdminMixin
from common.admin_work import SetAsideFilter, WorkAdmin
from common.money import money
from inventory.admin import StoreAdmin
from inventory.models import Store

from .catalogue.errors import CatalogueImportError
from .catalogue.imports import catalogue_import

from .models import (CatchUpRun, CaughtUpEvent, Checkout, CheckoutLine, IntakeEvent, LinkSync, OfflineStripeObject,
                     Order, OrderLine, PooledSession, StripeCall, StripeJob)


class OrderLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderLine
    fields = ("product", "quantity", "stripe_price_id")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("checkout_session_id", "status", "capture", "amount", "store", "customer_email", "created_at")
    list_filter = ("status", "capture", "store")
    list_select_related = ("store",)
    search_fields = ("checkout_session_id", "payment_intent_id", "payment_link_id", "stripe_event_id",
                     "refund_id", "customer_email")
    date_hierarchy = "created_at"
    inlines = (OrderLineInline,)
    fieldsets = (
        (None, {"fields": ("status", "capture", "resolution", "amount", "store", "customer_email")}),
        ("Stripe", {"fields": ("checkout_session_id", "stripe_event_id", "payment_intent_id", "payment_link_id",
                               "refund_id")}),
        ("Times", {"fields": ("created_at", "updated_at")}),
    )
    readonly_fields = ("status", "capture", "resolution", "amount", "store", "customer_email",
                       "checkout_session_id", "stripe_event_id", "payment_intent_id", "payment_link_id",
                       "refund_id", "created_at", "updated_at")

    @admin.display(description="Amount", ordering="amount_total")
    def amount(self, obj):
        return money(obj.amount_total, obj.currency)


class CheckoutLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CheckoutLine
    fields = ("product", "quantity", "unit_amount")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Checkout)
class CheckoutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Our own checkouts (reserve, then pay). The PaymentIntent's client secret is never shown."""

    list_display = ("id", "status", "total", "store", "email", "expires_at", "created_at")
    list_filter = ("status", "store")
    list_select_related = ("store",)
    search_fields = ("id", "payment_intent_id", "email", "refund_id")
    date_hierarchy = "created_at"
    inlines = (CheckoutLineInline,)
    fields = ("id", "status", "resolution", "total", "store", "email", "payment_intent_id", "refund_id",
              "expires_at", "created_at", "updated_at")
    readonly_fields = fields

    @admin.display(description="Total", ordering="amount")
    def total(self, obj):
        return money(obj.amount, obj.currency)


@admin.register(StripeCall)
class StripeCallAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every call the gateway made, or, offline, recorded instead of sending."""

    list_display = ("created_at", "mode", "operation", "target", "outcome", "idempotency_key")
    list_filter = ("mode", "operation")
    search_fields = ("target", "idempotency_key", "outcome")
    date_hierarchy = "created_at"
    fields = ("created_at", "mode", "operation", "target", "params", "idempotency_key", "outcome")
    readonly_fields = fields


@admin.register(OfflineStripeObject)
class OfflineStripeObjectAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The offline gateway's notebook: what Stripe would hold. Nothing here ever reached Stripe."""

    list_display = ("id", "object", "updated_at")
    list_filter = ("object",)
    search_fields = ("id",)
    fields = ("id", "object", "data", "updated_at")
    readonly_fields = fields


@admin.register(IntakeEvent)
class IntakeEventAdmin(WorkAdmin):
    """Every Stripe event we act on and how far its work has come (pending and failed work is visible
    here, with its reason; failed events can be retried once the cause is fixed)."""

    work_kind = "intake"
    list_display = ("event_type", "object_id", "state", "last_error", "attempts", "received_at")
    list_filter = (SetAsideFilter, "state", "kind", "event_type")
    search_fields = ("event_id", "object_id")


class CaughtUpEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CaughtUpEvent
    fields = ("event_id",)
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(CatchUpRun)
class CatchUpRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each listing of Stripe's events (beat, or `stripe_catch_up`) and the events it fed to intake."""

    list_display = ("started_at", "trigger", "since", "until", "found", "fed", "refused", "error")
    list_filter = ("trigger",)
    inlines = [CaughtUpEventInline]


@admin.register(StripeJob)
class StripeJobAdmin(WorkAdmin):
    """Captures, cancels, refunds and reads waiting for (or refused by) Stripe."""

    work_kind = "stripe_job"
    list_display = ("key", "action", "state", "last_error", "attempts", "next_attempt_at", "created_at")
    list_filter = (SetAsideFilter, "state", "action")
    search_fields = ("key", "payment_intent_id")
    raw_id_fields = ("order", "checkout", "intake")


@admin.register(LinkSync)
class LinkSyncAdmin(WorkAdmin):
    work_kind = "link_sync"
    list_display = ("product", "wanted", "synced", "attempts", "next_attempt_at", "failed_at", "last_error")
    list_filter = (SetAsideFilter,)
    raw_id_fields = ("product",)


@admin.register(PooledSession)
class PooledSessionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Sessions ready for held-mode buyers; one that Stripe would not expire shows its error here."""

    list_display = ("checkout_session_id", "product", "quantity", "session_expires_at", "retiring", "attempts",
                    "last_error")
    list_filter = ("retiring",)
    raw_id_fields = ("product",)


# The store's admin is inventory's; importing its catalogue calls Stripe, which only payments does,
# so payments registers the store's admin with that action added.
admin.site.unregister(Store)


@admin.register(Store)
class StoreWithCatalogueAdmin(StoreAdmin):
    actions = (*(StoreAdmin.actions or ()), "import_from_stripe")

    @admin.action(description="Import products, sizes and prices from Stripe (creates Payment Links)",
                  permissions=["change"])
    def import_from_stripe(self, request, queryset):
        for store in queryset.order_by("pk"):
            try:
                report = catalogue_import(store=store)
            except CatalogueImportError as stopped:
                self.message_user(request, f"{store.name}: import stopped, nothing was changed: {stopped}",
                                  messages.ERROR)
                continue
            level = messages.SUCCESS if report.changed else messages.INFO
            self.message_user(request, " ".join(report.lines()) if report.changed else
                              f"{store.name}: already in step with Stripe, nothing changed.", level)
