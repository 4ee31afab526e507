"""Payments' records: purchases (Orders), our checkouts, the work still to do, and Stripe calls."""

from .catch_up import CatchUpRun, CaughtUpEvent
from .checkouts import ChallengeSpent, Checkout, CheckoutLine
from .orders import Order, OrderLine
from .session_pool import PooledSession
from .stripe_records import OfflineStripeObject, StripeCall
from .work import IntakeEvent, LinkSync, StripeJob, StripeRateBudget

__all__ = ["CatchUpRun", "CaughtUpEvent", "ChallengeSpent", "Checkout", "CheckoutLine", "IntakeEvent", "LinkSync",
           "OfflineStripeObject", "Order", "OrderLine", "PooledSession", "StripeCall", "StripeJob", "StripeRateBudget"]
