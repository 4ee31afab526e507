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
    payment_intents.py    create / retrieve / update / confirm (test cards) / capture / cancel
    refunds.py            create / retrieve / list
    payment_links.py      create / retrieve / update / line items, completed-session counts
    checkout_sessions.py  create / retrieve / expire / line items; complete_session, expire_session
    catalogue.py          products and prices (create / retrieve / list; add_product, add_price)
    events.py             the one event builder, and signed delivery
    fixtures.py           the pytest fixtures (stripe_fake, alias stripe_standin)
    __main__.py           python -m tests.fakes.stripe --port 12111

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
