"""Browser tests: Debian's Chromium, driven by Playwright, against the real ASGI app under Daphne.

The server is a `daphne` subprocess on the test database (so every test here is
`django_db(transaction=True)`: data must be committed to be seen), on the Redis channel layer (so
the test process's broadcasts reach its sockets), with Celery tasks in-process and Stripe offline.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import offline_link, product_create

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url_of_tests() -> str:
    s = connection.settings_dict
    auth = urllib.parse.quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + urllib.parse.quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class DaphneServer:
    """`daphne swagstore.asgi:application` on a fixed port, which it can be killed and restarted on."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        daphne = Path(sys.executable).with_name("daphne")
        self.command = [str(daphne) if daphne.exists() else shutil.which("daphne") or "daphne",
                        "-b", "127.0.0.1", "-p", str(self.port), "swagstore.asgi:application"]
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "swagstore.settings.test",
            "DATABASE_URL": database_url_of_tests(),
            "REDIS_URL": settings.REDIS_URL,
            "CHANNEL_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "asgi"),
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "STRIPE_SECRET_KEY": "",  # offline gateway
            "STRIPE_API_BASE": "",
            "SITE_URL": self.url,
            "DEBUG": "true",  # WhiteNoise serves static files from the finders, no collectstatic needed
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    def start(self, timeout: float = 40) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"daphne did not answer within {timeout}s:\n{self.log()}")

    def kill(self) -> None:
        """As a crash would: no graceful close of the sockets."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""


def missing_tool(reason: str):
    """Skip on a developer's machine without the browser tools; on CI (CI=true) that is a failure."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


class BrowserBypassingCsp:
    """Chromium whose new contexts ignore the pages' Content-Security-Policy unless told otherwise.

    Playwright's wait_for_function evaluates its predicate inside the page, which our policy
    forbids (no 'unsafe-eval'). The tests that use it check behaviour, not the policy;
    test_content_security_policy.py opts back in with bypass_csp=False."""

    def __init__(self, chromium):
        self._chromium = chromium

    def new_context(self, **options):
        return self._chromium.new_context(**{"bypass_csp": True, **options})

    def new_page(self, **options):
        return self._chromium.new_page(**{"bypass_csp": True, **options})

    def __getattr__(self, name):
        return getattr(self._chromium, name)


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Playwright's sync API keeps an event loop running in this
    thread while it is started, and Django refuses ORM calls under a running loop ("async
    context"); the test thread is still the only user of its connection, so the check is lifted
    for as long as Playwright runs, and no longer: other modules keep Django's check."""
    if not os.access(CHROMIUM, os.X_OK):
        missing_tool(f"{CHROMIUM} is missing: bin/test installs it (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_tool("playwright is not installed (pip install -r requirements-dev.txt)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        playwright = sync_playwright().start()
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield BrowserBypassingCsp(chromium)
            finally:
                chromium.close()
        finally:
            playwright.stop()


@pytest.fixture
def server(transactional_db, tmp_path):
    """The real ASGI app with WebSockets, on the test database (committed data only)."""
    daphne = DaphneServer(tmp_path / "daphne.log")
    daphne.start()
    try:
        yield daphne
    finally:
        daphne.stop()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def store(transactional_db, make_store):
    # Unique per test (make_store's ids are): group names (stock.<store>) are shared with anyone else on the same Redis.
    return make_store(name="Hall W")


def screenshot(page_or_locator, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page_or_locator.screenshot(path=str(path))
    return path


def wait_live(page, timeout: float = 10_000) -> None:
    """live-stock.js has connected (it has its snapshot soon after; callers wait for numbers)."""
    page.wait_for_function("document.body.getAttribute('data-live-state') === 'live'", timeout=timeout)


# ---- purchases, as Stripe delivers them ----

WEBHOOK_SECRET = "whsec_test_browser"


@pytest.fixture
def webhook_url(server) -> str:
    """The daphne server's dj-stripe endpoint, verifying with WEBHOOK_SECRET."""
    from payments.endpoints import webhook_endpoint_configure, webhook_endpoint_path

    endpoint, _ = webhook_endpoint_configure(secret=WEBHOOK_SECRET, site_url=server.url)
    return server.url + webhook_endpoint_path(endpoint)


def off_loop(fn, /, *args, **kwargs):
    """Run fn in a thread of its own and return its result.

    For stock changes made by the test itself: their after-commit broadcast uses async_to_sync,
    which refuses to run in a thread with a running event loop (Playwright's, in the test thread).
    """
    from django.db import connection as thread_connection

    def run():
        try:
            return fn(*args, **kwargs)
        finally:
            thread_connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=60)


def stocked_product(store, stock: int, **fields):
    """A product with a Payment Link the offline gateway knows, then its first stock."""
    return off_loop(_stocked_product, store, stock, **fields)


def _stocked_product(store, stock: int, **fields):
    token = uuid.uuid4().hex[:14]
    fields.setdefault("payment_link_url", f"https://buy.stripe.com/test_{token}")
    return product_create(store=store, inventory=stock, link_at=offline_link, **fields)


def buy(product, webhook_url: str, *, quantity: int = 1) -> None:
    """One signed checkout.session.completed for `product`, posted to the server as Stripe would."""
    from payments.offline.simulator import checkout_session_completed, delivery_post

    delivery = checkout_session_completed(product=product, quantity=quantity, capture_method="manual",
                                          secret=WEBHOOK_SECRET)
    status, body = delivery_post(delivery, url=webhook_url)
    assert status == 200, f"webhook answered {status}: {body[:500]}"


def admin_login(page, server, username: str, password: str) -> None:
    """Through the admin's own login form, as staff do."""
    page.goto(server.url + "/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(server.url + "/admin/")
