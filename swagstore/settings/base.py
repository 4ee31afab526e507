"""Settings shared by every environment, read from environment variables.

Without any environment the store runs on embedded defaults: a SQLite file, an in-memory
channel layer, Celery tasks run in-process, and Stripe offline (calls are recorded, not sent).
"""

import logging
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# How many proxies in front of us append to X-Forwarded-For (0: clients connect directly). Only the
# entry that many places from the right is trusted as the client address (common/clients.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

INSTALLED_APPS = [
    "daphne",
    # The admin with the store's own sections first and dj-stripe's for superusers only.
    "swagstore.admin_site.SwagstoreAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "djstripe",
    "ninja",
    "axes",
    "csp",
    "inventory",
    "payments",
    "backoffice",
]

MIDDLEWARE = [
    # First: /healthz, /readyz and /metrics answer probes that reach a process by its address, over
    # plain HTTP inside the platform's network (swagstore/health.py).
    "swagstore.health.OperatorEndpoints",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A remembered Payment Link scan is a redirect: the rest has nothing to do for it (a rush's scans).
    "payments.scan.middleware.RememberedLinkScans",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "common.buyers.BuyerCookieMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "payments.middleware.JsonApiSameOrigin",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

# --- Login throttling (django-axes): a client address that fails AXES_FAILURE_LIMIT logins in a row
# is locked out for AXES_COOLOFF_MINUTES. By address, not username, so nobody can lock staff out of
# the admin from elsewhere; the address is the one our trusted proxies saw (common/clients.py).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "common.clients.login_client_ip"

# --- Content-Security-Policy (django-csp): our own scripts and styles only, none inline (page data
# travels in json_script blocks and data- attributes); Stripe.js and its frames on the checkout page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, "https://js.stripe.com"],
        "style-src": [SELF],
        # Product pictures come from Stripe's file links or wherever the catalogue's images are hosted.
        "img-src": [SELF, "data:", "https:"],
        "connect-src": [SELF, "https://api.stripe.com"],  # 'self' includes our own ws:/wss: feeds
        "frame-src": ["https://js.stripe.com", "https://hooks.stripe.com"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

ROOT_URLCONF = "swagstore.urls"
DEFAULT_EXCEPTION_REPORTER_FILTER = "swagstore.error_reports.AlwaysSafeExceptionReporterFilter"
ASGI_APPLICATION = "swagstore.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# A connection pool per process (PostgreSQL only). Under ASGI every request runs in a thread of its
# own, so CONN_MAX_AGE would keep one connection per finished thread and exhaust the server's
# limit; without either, every webhook pays for a new PostgreSQL backend (docs/benchmarks.md).
def database_pool(database: dict) -> None:
    if database["ENGINE"] == "django.db.backends.postgresql":
        database["CONN_MAX_AGE"] = 0
        database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 2, "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=16),
            # A burst (200 phones scanning at once) waits its turn for a connection rather than
            # failing: each request runs in a thread of its own and holds its connection throughout.
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=30.0)}


if env.bool("DATABASE_POOL", default=False):
    database_pool(DATABASES["default"])
# Behind PgBouncer in transaction mode a server-side cursor would outlive the transaction that holds its
# server connection (Django's docs, "Transaction pooling and server-side cursors"): README, "A rush coming".
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("PGBOUNCER_TRANSACTION_MODE", default=False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serialises writers; wait for the lock instead of failing under a burst of webhooks.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Product pictures uploaded in the admin (inventory.Product.image). On a platform whose disk does not
# persist (Heroku), point STORAGES["default"] at object storage instead.
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Redis: broker and channel layer. Absent means a single process does everything. ---
REDIS_URL = env("REDIS_URL", default="")
# Which channels_redis layer carries the live feed (bench/RESULTS.md compares them):
# core = lists and sorted sets (group membership kept in Redis), pubsub = Redis PUBLISH/SUBSCRIBE.
CHANNEL_LAYER_BACKENDS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
CHANNEL_LAYER_BACKEND = env("CHANNEL_LAYER_BACKEND", default="pubsub")
if CHANNEL_LAYER_BACKEND not in CHANNEL_LAYER_BACKENDS:
    raise ImproperlyConfigured(f"CHANNEL_LAYER_BACKEND must be one of {sorted(CHANNEL_LAYER_BACKENDS)}, "
                               f"not {CHANNEL_LAYER_BACKEND!r}.")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": CHANNEL_LAYER_BACKENDS[CHANNEL_LAYER_BACKEND],
            "CONFIG": {
                # redis-py 8 changed two defaults channels_redis 4.3 relies on:
                # - reads time out after 5 s, exactly as long as the core layer's blocking BZPOPMIN
                #   waits, so each idle process's receiving consumer was torn down every ~5 s
                #   (channels_redis#422): reads get longer than that wait;
                # - a pool holds at most 100 connections and refuses the 101st ("Too many
                #   connections"), so a burst of WebSocket handshakes (phones reconnecting after a
                #   restart) failed with HTTP 500 on the core layer: bench/RESULTS.md.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "max_connections": 1000}],
                "prefix": env("CHANNEL_PREFIX", default="swagstore"),
            },
        }
    }
    # Open live feeds per address, counted across web processes (common/websockets.py).
    WEBSOCKETS_COUNT_PREFIX = env("CHANNEL_PREFIX", default="swagstore") + ":ws-open:"
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://localhost/"
    CELERY_TASK_ALWAYS_EAGER = True
SINGLE_PROCESS_MODE = not REDIS_URL

CELERY_TASK_EAGER_PROPAGATES = env.bool("CELERY_TASK_EAGER_PROPAGATES", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Messages are only bells (the work is in PostgreSQL), so an unacknowledged one needs redelivery
# no later than the longest task could still be running: a drain stops claiming after
# DRAIN_SECONDS and then finishes at most one Stripe call (STRIPE_TIMEOUT_SECONDS), so two minutes.
# Redis's default of an hour held a killed worker's messages back for that long.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 120, "socket_connect_timeout": 2, "socket_timeout": 5}
# A webhook must answer at once when Redis is down: no publish retries inside the request.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Remote control's broadcast channels crash the worker ("Unrecoverable error: AttributeError …
# 'hostname'") when Redis drops and comes back (celery/kombu#582); we never use `celery control`.
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="swagstore")
# Bulkheads (README, "Workers"): each kind of work drains from its own queue, named from CELERY_QUEUE,
# so a slow chat webhook, a Stripe outage or a backlog of refunds never delays the next sale. The
# Procfile's `sales` worker takes the sales queue only; the plain CELERY_QUEUE carries the sweeps.
WORK_QUEUES = {role: f"{CELERY_TASK_DEFAULT_QUEUE}-{role}" for role in ("sales", "stripe", "notify")}
# A worker started without -Q takes every queue (a laptop, a test); the Procfile's workers name theirs.
CELERY_TASK_QUEUES = [Queue(name) for name in (CELERY_TASK_DEFAULT_QUEUE, *WORK_QUEUES.values())]
CELERY_TASK_ROUTES = {
    "payments.tasks.fulfilment_wake": {"queue": WORK_QUEUES["sales"]},
    "payments.tasks.settlement_wake": {"queue": WORK_QUEUES["stripe"]},
    "inventory.tasks.*": {"queue": WORK_QUEUES["notify"]},
}

# --- Stripe. No key means offline: the gateway records the calls it would make. ---
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
# Without a key the offline gateway (and its test-card pay pages) stands in: demo and tests only.
STRIPE_OFFLINE_ALLOWED = True
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
STRIPE_LIVE_MODE = env.bool("STRIPE_LIVE_MODE", default=False)
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)
# The API version every request to Stripe names (payments/gateway/live.py), so an SDK upgrade cannot
# change the shapes we parse. Keep the webhook endpoint at Stripe on the same version (README,
# "Stripe API version": how to upgrade both).
STRIPE_API_VERSION = "2024-06-20"
if STRIPE_API_BASE:
    STRIPE_API_HOST = STRIPE_API_BASE
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
# How long a buyer's hold lasts, whichever way they pay (our checkout page, or a QR buyer's held
# checkout before Stripe's page): one idea, one setting, and the words on the pages come from it.
CHECKOUT_HOLD_MINUTES = env.int("CHECKOUT_HOLD_MINUTES", default=10)
# Held checkout (QR buyers, payments/checkout/held.py): the buyer's hold, then Stripe's session,
# which Stripe keeps open at least 30 minutes; the units stay held until the session's deadline
# plus a margin, and are released earlier only once Stripe has expired the session.
HELD_CHECKOUT_SESSION_MINUTES = env.int("HELD_CHECKOUT_SESSION_MINUTES", default=31)
HELD_CHECKOUT_GRACE_MINUTES = env.int("HELD_CHECKOUT_GRACE_MINUTES", default=5)
if not 30 < HELD_CHECKOUT_SESSION_MINUTES <= 24 * 60:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("HELD_CHECKOUT_SESSION_MINUTES must be above 30 (Stripe's minimum, with a margin "
                               "for clock skew) and at most 1440 (Stripe's maximum).")
# Checkout Sessions made ahead for held-mode products (payments/checkout/session_pool.py): at most
# this many per product (never more than its units available), each open this long at Stripe, the
# pools filled by beat this often. 0 turns the pool off (every session is created when asked).
HELD_CHECKOUT_POOL_SIZE = env.int("HELD_CHECKOUT_POOL_SIZE", default=20)
HELD_CHECKOUT_POOL_SESSION_MINUTES = env.int("HELD_CHECKOUT_POOL_SESSION_MINUTES", default=120)
HELD_CHECKOUT_POOL_FILL_SECONDS = env.float("HELD_CHECKOUT_POOL_FILL_SECONDS", default=10.0)
if not HELD_CHECKOUT_SESSION_MINUTES < HELD_CHECKOUT_POOL_SESSION_MINUTES <= 24 * 60:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("HELD_CHECKOUT_POOL_SESSION_MINUTES must be above HELD_CHECKOUT_SESSION_MINUTES (a "
                               "pooled session must still give a buyer a full session) and at most 1440.")
# What a QR scan shows (the product, its units available, other booths) is remembered this long per
# web process (payments/scan/remembered.py): a rush's scans then cost no query.
SCAN_CACHE_SECONDS = env.float("SCAN_CACHE_SECONDS", default=1.0)
# The largest request body the web process reads (common/body_limit.py): 413 beyond, before reading it.
# CSV files and pictures are at most 2 MB each; the rest is room for the form around them.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=3 * 1024 * 1024)
# HTTP requests running in Django at once per web process; the rest wait at the ASGI door
# (common/request_slots.py). 0: no limit.
WEB_REQUEST_SLOTS = env.int("WEB_REQUEST_SLOTS", default=4)
# ... and a request waits for a slot at most this long, then runs anyway (never a queue behind stuck requests).
WEB_REQUEST_SLOT_WAIT_SECONDS = env.float("WEB_REQUEST_SLOT_WAIT_SECONDS", default=1.0)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
# What one buyer (a browser: common/buyers.py) may hold at once, and how fast a buyer and an address
# may start holds: payments/checkout/limits.py, README "Security" (why these defaults).
CHECKOUT_MAX_OPEN_PER_BUYER = env.int("CHECKOUT_MAX_OPEN_PER_BUYER", default=3)
CHECKOUT_MAX_UNITS_PER_PRODUCT = env.int("CHECKOUT_MAX_UNITS_PER_PRODUCT", default=5)
CHECKOUT_MAX_UNITS_PER_BUYER = env.int("CHECKOUT_MAX_UNITS_PER_BUYER", default=10)
CHECKOUT_RATE_WINDOW_SECONDS = env.int("CHECKOUT_RATE_WINDOW_SECONDS", default=60)
CHECKOUT_STARTS_PER_BUYER = env.int("CHECKOUT_STARTS_PER_BUYER", default=4)
# Per address (an IPv4 address or an IPv6 /64): up to the rate freely, then each hold needs a proof
# of work, and past the ceiling none is started; a store's known venue addresses get the venue's.
CHECKOUT_STARTS_PER_ADDRESS = env.int("CHECKOUT_STARTS_PER_ADDRESS", default=60)
CHECKOUT_STARTS_PER_ADDRESS_CEILING = env.int("CHECKOUT_STARTS_PER_ADDRESS_CEILING", default=180)
CHECKOUT_STARTS_PER_VENUE_ADDRESS = env.int("CHECKOUT_STARTS_PER_VENUE_ADDRESS", default=600)
CHECKOUT_STARTS_PER_VENUE_ADDRESS_CEILING = env.int("CHECKOUT_STARTS_PER_VENUE_ADDRESS_CEILING", default=1200)
# The proof of work past an address's free rate (payments/checkout/challenge.py): PBKDF2 iterations
# per try and the key prefix to find (each hex digit multiplies the expected tries by 16; "00": 256).
CHECKOUT_CHALLENGE_COST = env.int("CHECKOUT_CHALLENGE_COST", default=5000)
CHECKOUT_CHALLENGE_KEY_PREFIX = env("CHECKOUT_CHALLENGE_KEY_PREFIX", default="00")
CHECKOUT_CHALLENGE_SECONDS = env.int("CHECKOUT_CHALLENGE_SECONDS", default=300)
WAITLIST_MAX_JOINS_PER_HOUR = env.int("WAITLIST_MAX_JOINS_PER_HOUR", default=5)
WAITLIST_MAX_JOINS_PER_ADDRESS_PER_HOUR = env.int("WAITLIST_MAX_JOINS_PER_ADDRESS_PER_HOUR", default=200)
# Live feeds one address may hold open, counted across web processes (in Redis when there is one):
# a venue's Wi-Fi puts thousands of phones behind one address.
WEBSOCKETS_MAX_PER_ADDRESS = env.int("WEBSOCKETS_MAX_PER_ADDRESS", default=5000)
# Card authorisations lapse after 7 days; the sweeper cancels or captures well before that.
AUTHORISATION_SWEEP_AFTER_HOURS = env.int("AUTHORISATION_SWEEP_AFTER_HOURS", default=6 * 24)
# --- Durable work (payments.models.work): batches, retries, the sweeper, Stripe's rate limit. ---
FULFILMENT_BATCH_SIZE = env.int("FULFILMENT_BATCH_SIZE", default=500)
DRAIN_SECONDS = env.float("DRAIN_SECONDS", default=20.0)
SETTLEMENT_DRAIN_SECONDS = env.float("SETTLEMENT_DRAIN_SECONDS", default=2.0)
DURABLE_SWEEP_SECONDS = env.float("DURABLE_SWEEP_SECONDS", default=5.0)
DURABLE_SWEEP_GRACE_SECONDS = env.float("DURABLE_SWEEP_GRACE_SECONDS", default=2.0)
# All processes together, requests per second; Stripe allows ~25/s in test mode, ~100/s live.
STRIPE_RATE_LIMIT = env.float("STRIPE_RATE_LIMIT", default=20.0)
STRIPE_RETRY_BASE_SECONDS = env.float("STRIPE_RETRY_BASE_SECONDS", default=2.0)
STRIPE_RETRY_MAX_SECONDS = env.float("STRIPE_RETRY_MAX_SECONDS", default=300.0)
STRIPE_RETRY_FAST_ATTEMPTS = env.int("STRIPE_RETRY_FAST_ATTEMPTS", default=9)
# Tries before a piece of work is set aside for staff (common/work.py): nothing retries for ever in
# silence. A Stripe job's 20 tries span about an hour (backoff to STRIPE_RETRY_MAX_SECONDS). (An
# event is set aside at its first failure of its own; a batch lost to the database is redone.)
STRIPE_MAX_ATTEMPTS = env.int("STRIPE_MAX_ATTEMPTS", default=20)
ALERT_MAX_ATTEMPTS = env.int("ALERT_MAX_ATTEMPTS", default=8)
# An alert channel that failed waits 30 s, doubling to an hour, between tries (8 tries: about an hour).
ALERT_RETRY_BASE_SECONDS = env.float("ALERT_RETRY_BASE_SECONDS", default=30.0)
ALERT_RETRY_MAX_SECONDS = env.float("ALERT_RETRY_MAX_SECONDS", default=3600.0)
# Work waiting longer than this (not failed, not done) shows as stuck on the staff dashboard.
WORK_STUCK_SECONDS = env.float("WORK_STUCK_SECONDS", default=300.0)
# --- The booth's day (README): low-stock alerts and the end-of-day report. ---
# Who gets low-stock e-mails; empty: every active user with an address who may count a booth.
LOW_STOCK_ALERT_EMAILS = env.list("LOW_STOCK_ALERT_EMAILS", default=[])
# A chat channel's incoming webhook (POST JSON with a "text" field); empty: e-mail only.
LOW_STOCK_WEBHOOK_URL = env("LOW_STOCK_WEBHOOK_URL", default="")
# A total deadline per send (connect, send, answer), not per read: common/outbound.py.
LOW_STOCK_WEBHOOK_TIMEOUT_SECONDS = env.float("LOW_STOCK_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# The webhook never goes to loopback, private or link-local addresses, unless inside one of these
# networks (CIDR, e.g. 10.1.2.0/24 for a chat bridge on the deploy's own network).
LOW_STOCK_WEBHOOK_ALLOWED_NETWORKS = env.list("LOW_STOCK_WEBHOOK_ALLOWED_NETWORKS", default=[])
# Stripe's fee on a captured card payment, to show what cancelled authorisations saved: amount ×
# percent / 100 (rounded half up) + fixed, in the currency's smallest unit. Stripe's standard US price.
STRIPE_FEE_PERCENT = Decimal(env("STRIPE_FEE_PERCENT", default="2.9"))
STRIPE_FEE_FIXED = env.int("STRIPE_FEE_FIXED", default=30)
CELERY_BEAT_SCHEDULE = {
    "durable-work-sweep": {"task": "payments.tasks.durable_work_sweep", "schedule": DURABLE_SWEEP_SECONDS},
    "checkouts-sweep": {"task": "payments.tasks.checkouts_sweep", "schedule": 30.0},
    "held-session-pools-fill": {"task": "payments.tasks.held_session_pools_fill",
                                "schedule": HELD_CHECKOUT_POOL_FILL_SECONDS},
}
# --- Catch-up (payments/intake/catch_up.py): events whose webhook never came, listed from Stripe. ---
STRIPE_CATCH_UP_SECONDS = env.float("STRIPE_CATCH_UP_SECONDS", default=120.0)
STRIPE_CATCH_UP_OVERLAP_MINUTES = env.int("STRIPE_CATCH_UP_OVERLAP_MINUTES", default=10)
STRIPE_CATCH_UP_GRACE_SECONDS = env.int("STRIPE_CATCH_UP_GRACE_SECONDS", default=60)
STRIPE_CATCH_UP_FIRST_HOURS = env.int("STRIPE_CATCH_UP_FIRST_HOURS", default=24)
CELERY_IMPORTS = ["payments.intake.tasks"]
CELERY_BEAT_SCHEDULE["stripe-catch-up"] = {"task": "payments.intake.tasks.stripe_catch_up_periodic",
                                           "schedule": STRIPE_CATCH_UP_SECONDS,
                                           "options": {"expires": STRIPE_CATCH_UP_SECONDS}}
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="swag@localhost")
PAYMENT_LINK_INACTIVE_MESSAGE = env(
    "PAYMENT_LINK_INACTIVE_MESSAGE", default="Sold out at the booth, sorry! Ask staff about a restock."
)

# --- Running it (README "Running it as a service"): metrics, error reports, logs. ---
# /metrics answers only a scraper sending "Authorization: Bearer <METRICS_TOKEN>"; empty: no endpoint.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Processes sharing this directory (one host) are added up at /metrics (prometheus-client's multiprocess
# mode); empty: each process reports only itself. Start each host with it empty.
PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", default="")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# Sentry (swagstore/sentry.py) when SENTRY_DSN is set: no personal data, no request bodies, no local variables.
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from swagstore.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)
# plain: one readable line per record; json: one JSON object per line, extra fields included (ids, timings).
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOG_FORMATTERS = {
    "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    "json": {"()": "pythonjsonlogger.json.JsonFormatter",
             "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
             "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"}},
}
if LOG_FORMAT not in LOG_FORMATTERS:
    raise ImproperlyConfigured(f"LOG_FORMAT must be one of {sorted(LOG_FORMATTERS)}, not {LOG_FORMAT!r}.")
# Celery's workers then log through the same handler (JSON lines too) instead of their own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "plain"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {LOG_FORMAT: LOG_FORMATTERS[LOG_FORMAT]},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "daphne": {"level": "WARNING"}},
}

if SINGLE_PROCESS_MODE:
    logging.getLogger("swagstore").warning(
        "REDIS_URL is not set: in-memory channel layer and in-process tasks. "
        "Run a single web process only; set REDIS_URL for workers and several processes."
    )
