"""Production: the same code as base, hardened; differs from base only through env vars."""

from .base import *  # noqa: F403
from .base import DATABASES, database_pool, env

DEBUG = False
# One connection pool per process (DATABASE_POOL=false to turn it off): see base.py.
if env.bool("DATABASE_POOL", default=True):
    database_pool(DATABASES["default"])
# Never sell through the offline gateway: no STRIPE_SECRET_KEY fails the checks (payments/checks.py).
STRIPE_OFFLINE_ALLOWED = False
SECRET_KEY = env("SECRET_KEY")
# Behind the platform's router (Daphne --proxy-headers): it appends the address it saw.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
