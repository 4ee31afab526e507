"""What the store counts while it runs, for Prometheus (scraped at /metrics: swagstore/metrics.py).

Every process defines the same metrics here and bumps them with one line where the thing happens.
With PROMETHEUS_MULTIPROC_DIR set (the settings create it), prometheus-client keeps each process's
values in a file there, and the endpoint adds up all processes that share the directory: web
processes and Celery workers on one host. What the database knows (backlog, the oldest waiting
event, failed and stuck work) is not counted here but read at scrape time (swagstore/metrics.py),
so it is the same whichever process answers.
"""

from prometheus_client import Counter, Gauge

WEBHOOKS_RECEIVED = Counter(
    "swagstore_webhooks_received", "Stripe webhook deliveries, by event type and what became of them "
    "(accepted: stored with its work, or a redelivery that stores nothing new; "
    "refused: not a validly signed event, type 'unverified').", ["type", "outcome"])
SALES_APPLIED = Counter(
    "swagstore_sales_applied", "Purchases decided: Payment Link sessions by fulfilment, our checkouts when "
    "their payment arrives; by outcome (fulfilled: stock taken; oversold: the money goes back).", ["outcome"])
FULFILMENT_BATCHES = Counter("swagstore_fulfilment_batches", "Fulfilment batches committed.")
STRIPE_CALLS = Counter(
    "swagstore_stripe_calls", "Calls to Stripe (live or offline), by action and outcome "
    "(ok, unavailable, rate_limited, server_error, rejected; offline: the demo's notebook).", ["action", "outcome"])
STRIPE_RATE_LIMIT_WAITS = Counter(
    "swagstore_stripe_rate_limit_waits", "Stripe calls that waited for our shared rate budget "
    "(STRIPE_RATE_LIMIT) before they could be sent.")
STRIPE_RATE_LIMIT_WAIT_SECONDS = Counter(
    "swagstore_stripe_rate_limit_wait_seconds", "Time Stripe calls spent waiting for the shared rate budget.")
WEBSOCKETS_OPENED = Counter("swagstore_websocket_connections_opened", "Live feeds accepted, by feed.", ["feed"])
# livesum: only live processes count (gunicorn.conf.py marks a dead web worker's file).
WEBSOCKETS_OPEN = Gauge("swagstore_websocket_connections_open", "Live feeds open now, by feed.", ["feed"],
                        multiprocess_mode="livesum")


def stripe_outcome(outcome: str) -> str:
    """A recorded call's outcome text (payments/gateway: "ok", "unavailable: …", "error 402: …"; the
    offline gateway's notes) as a label with few values."""
    if outcome == "ok" or outcome.startswith("unavailable"):
        return outcome.split(":", 1)[0]
    if not outcome.startswith("error "):
        return "offline"
    status = outcome.removeprefix("error ").split(":", 1)[0]
    if status == "429":
        return "rate_limited"
    return "server_error" if status.startswith("5") else "rejected"


def stripe_rate_waited(*, seconds: float) -> None:
    STRIPE_RATE_LIMIT_WAITS.inc()
    STRIPE_RATE_LIMIT_WAIT_SECONDS.inc(seconds)


def sales_applied(*, sold: int, oversold: int) -> None:
    SALES_APPLIED.labels(outcome="fulfilled").inc(sold)
    SALES_APPLIED.labels(outcome="oversold").inc(oversold)


def websocket_opened(*, feed: str) -> None:
    WEBSOCKETS_OPENED.labels(feed=feed).inc()
    WEBSOCKETS_OPEN.labels(feed=feed).inc()
