"""Back office for payments: everything here is a record of what happened, so it is read-only.
Orders change only through payments.services, Stripe calls only through payments.gateway."""

from django.contrib import admin

from swagstore.admin_readonly import ReadOnlyAdminMixin
from swagstore.money import money

from .models import Checkout, CheckoutLine, OfflineStripeObject, Order, OrderLine, StripeCall


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
