"""What a Stripe call can end in, for callers that decide whether to try again."""


class GatewayError(Exception):
    def __init__(self, message: str, *, code: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class GatewayUnavailable(GatewayError):
    """Stripe could not answer (network, timeout, 5xx, rate limit): try again later (after
    `retry_after` seconds when Stripe said so)."""


class GatewayRejected(GatewayError):
    """Stripe answered no (4xx, or Stripe-Should-Retry: false): the same request will not help."""
