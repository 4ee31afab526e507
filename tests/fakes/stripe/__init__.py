"""A fake Stripe for tests: an HTTP server the real ``stripe`` SDK (and so the store's live gateway)
talks to, serving Stripe's API from memory.

Every request is checked against Stripe's official OpenAPI description (``spec.py``); a request Stripe
would refuse is answered as Stripe answers it and recorded in ``fake.violations``, and the test that
sent it fails (``fixtures.py``). Objects are Stripe's published example shapes with the test's values
(``shapes.py``, the one loader of ``../shared/stripe/fixtures3.json``).

Layout, by resource:

    server.py             HTTP, routing by the spec's paths, API key, faults (fail_next, stall_next),
                          Idempotency-Key replay / mismatch / in-flight, the request log, violations
    spec.py               the request check against spec3.json (read once per process, lazily)
    forms.py              the SDK's form encoding (a[b][c]=v, a[0][b]=v, expand[]=v)
    objects.py            what resources share: stored objects, metadata updates, list pages
    errors.py             Stripe-shaped errors
    pacing.py             latency per request and the 429 rate limit (off by default; pace() sets both)
    payment_intents.py    create / retrieve / update / confirm (test cards) / capture / cancel
    refunds.py            create / retrieve / list
    payment_links.py      create / retrieve / list / update / line items, completed-session counts
    checkout_sessions.py  create / retrieve / expire / line items; complete_session, expire_session
    catalogue.py          products and prices (create / retrieve / list; add_product, add_price)
    stripe_events.py      events: list (types, created range, pages) / retrieve; add_event
    events.py             the one event builder, and signed delivery
    fixtures.py           the pytest fixtures (stripe_fake, alias stripe_standin)
    __main__.py           python -m tests.fakes.stripe --port 12111 [--create-latency MS --rate-limit N]

For tests, on the fake (``stripe_fake`` fixture, or ``StripeFake()`` as a context manager):

    sdk_client(timeout=, max_network_retries=)   base_url   reset()   get(kind, id)
    add_product(id, name=)   add_price(id, product=, unit_amount=, currency="usd")
    add_payment_link(id, price=, limit=, completed_count=, capture_method=, ...)
    add_payment_intent(id, amount=, status=, capture_method=, metadata=)
    add_checkout_session(id, payment_intent=, line_items=[{price, product, quantity, unit_amount}], ...)
    add_event(event)                                               (Stripe keeps it; GET /v1/events lists it)
    next_sessions_without_url(count=1)                            (the spec allows url: null)
    complete_session(session_id, capture_method=None) -> session   (the buyer pays)
    expire_session(session_id) -> session                          (expires_at passes)
    fail_next(method, path_regex, status=, times=, code=, message=)   stall_next(..., seconds=)   clear_faults()
    add_latency(method, path_regex, seconds=, jitter=)   limit_rate(per_second, burst=)   (both off by default)
    requests   calls(method, path_regex)   violations   expect_violation(param=None)

localstripe (the PyPI fake) is no longer used. The suite ran it as a subprocess behind the earlier
stand-in for PaymentIntents and refunds, with three run-time patches to make it keep Stripe's state
rules and accept Stripe's parameters; so patched, it proved nothing independent of us. PaymentIntents
are implemented here, and what an independent implementation was meant to guard (that we send what
Stripe accepts) is now checked against Stripe's own API description on every request.
"""

from .events import event, signed
from .server import StripeFake
from .shapes import shape

__all__ = ["StripeFake", "event", "shape", "signed"]
