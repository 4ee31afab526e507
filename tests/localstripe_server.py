"""Run localstripe (the PyPI fake Stripe, an aiohttp app) as a subprocess for tests.

localstripe keeps real PaymentIntent state: ``payment_method="pm_card_visa", confirm=True,
capture_method="manual"`` ends in ``requires_capture``; ``pm_card_chargeCustomerFail`` is
declined at confirmation (HTTP 402, which the SDK raises as ``stripe.CardError``).

By default it runs with a few small patches (see ``_patch_localstripe``: in-memory store,
``reason``/``cancellation_reason`` accepted, Stripe's capture/cancel state rules);
``patched=False`` runs the stock ``python -m localstripe`` instead.

    with LocalStripe() as url:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": url})
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalStripe:
    def __init__(self, *, port: int | None = None, patched: bool = True,
                 startup_timeout: float = 20.0, api_key: str = "sk_test_localstripe"):
        self.port = port
        self.patched = patched
        self.startup_timeout = startup_timeout
        self.api_key = api_key
        self.url: str | None = None
        self._process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> str:
        self.port = self.port or _free_port()
        if self.patched:
            # -P: keep this tests/ folder off sys.path so its packages cannot shadow anything.
            command = [sys.executable, "-P", str(Path(__file__).resolve())]
        else:
            command = [sys.executable, "-m", "localstripe"]
        command += ["--port", str(self.port), "--from-scratch"]
        # A file, not a pipe: aiohttp logs every request and a full pipe would block it.
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_until_ready()
        return self.url

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        probe = urllib.request.Request(f"{self.url}/v1/refunds?limit=1",
                                       headers={"Authorization": f"Bearer {self.api_key}"})
        while True:
            if self._process.poll() is not None:
                output = self.output()
                self.stop()
                raise RuntimeError(f"localstripe exited with {self._process.returncode}:\n{output}")
            try:
                with urllib.request.urlopen(probe, timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    output = self.output()
                    self.stop()
                    raise RuntimeError(f"localstripe did not answer on {self.url}:\n{output}")
                time.sleep(0.1)

    def output(self) -> str:
        """What localstripe has logged so far (its access log, tracebacks)."""
        if not self._log:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def flush(self) -> None:
        """Forget every object (localstripe's own ``DELETE /_config/data``)."""
        request = urllib.request.Request(f"{self.url}/_config/data", method="DELETE")
        urllib.request.urlopen(request, timeout=5).close()

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _patch_localstripe() -> None:
    from localstripe import resources
    from localstripe.errors import UserError

    # 1. localstripe pickles its whole store to the fixed path /tmp/localstripe.pickle after
    # every write; parallel instances (and other users' files there) would collide. Keep it in
    # memory.
    resources.Store.dump_to_disk = lambda self: None

    # 2. Stripe accepts refunds[reason] and cancel[cancellation_reason]; localstripe rejects
    # them with 400 "Unexpected ...".
    refund_init = resources.Refund.__init__

    def init_refund(self, *args, reason=None, **kwargs):
        refund_init(self, *args, **kwargs)
        self.reason = reason

    resources.Refund.__init__ = init_refund

    # 3. localstripe captures a canceled PaymentIntent's charge without complaint, and answers
    # wrong-state calls with a bare "Bad request". Check the state first, with Stripe's error.
    PaymentIntent = resources.PaymentIntent
    capture = PaymentIntent._api_capture.__func__
    cancel = PaymentIntent._api_cancel.__func__

    def require_status(id, action, allowed):
        intent = PaymentIntent._api_retrieve(id)
        if intent.status not in allowed:
            raise UserError(400, f"This PaymentIntent could not be {action} because it has a "
                            f"status of {intent.status}. Only a PaymentIntent with one of the "
                            f"following statuses may be {action}: {', '.join(allowed)}.",
                            {"code": "payment_intent_unexpected_state"})

    def capture_intent(cls, id, **kwargs):
        require_status(id, "captured", ["requires_capture"])
        return capture(cls, id, **kwargs)

    def cancel_intent(cls, id, cancellation_reason=None, **kwargs):
        require_status(id, "canceled", ["requires_payment_method", "requires_capture",
                                        "requires_confirmation", "requires_action"])
        intent = cancel(cls, id, **kwargs)
        intent.cancellation_reason = cancellation_reason
        return intent

    PaymentIntent._api_capture = classmethod(capture_intent)
    PaymentIntent._api_cancel = classmethod(cancel_intent)
    # The server builds its routes from extra_apis when imported, so swap the entries there too.
    replaced = {"/v1/payment_intents/{id}/capture": PaymentIntent._api_capture,
                "/v1/payment_intents/{id}/cancel": PaymentIntent._api_cancel}
    resources.extra_apis[:] = [(method, url, replaced.get(url, func))
                               for method, url, func in resources.extra_apis]


if __name__ == "__main__":
    _patch_localstripe()
    from localstripe import server

    server.start()
