"""Payments' records: purchases (Orders), our checkouts, the work still to do, and Stripe calls."""

from .checkouts import Checkout, CheckoutLine
from .orders import Order, OrderLine
from .session_pool import PooledSession
from .stripe_records import OfflineStripeObject, StripeCall
from .work import IntakeEvent, LinkSync, StripeJob, StripeRateBudget

__all__ = ["Checkout", "CheckoutLine", "IntakeEvent", "LinkSync", "OfflineStripeObject", "Order", "OrderLine",
           "PooledSession", "StripeCall", "StripeJob", "StripeRateBudget"]
