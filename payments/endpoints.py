"""The local dj-stripe WebhookEndpoint row whose secret verifies incoming Stripe signatures."""

import time
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from djstripe.enums import WebhookEndpointStatus
from djstripe.models import WebhookEndpoint

LOCAL_ENDPOINT_ID = "we_swagstore_local"
# How long a web process verifies with the secret it read (a rotated secret is read again at once when
# a signature does not match, so the new one works immediately; the old one for at most this long).
SECRET_KEPT_SECONDS = 30.0


def webhook_endpoint_configure(*, secret: str, site_url: str) -> tuple[WebhookEndpoint, bool]:
    """Create the endpoint row, or update its secret; its UUID (and so its URL) never changes."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(id=LOCAL_ENDPOINT_ID).first()
        created = endpoint is None
        if created:
            endpoint = WebhookEndpoint(id=LOCAL_ENDPOINT_ID, livemode=False, created=timezone.now(),
                                       enabled_events=["checkout.session.completed"],
                                       status=WebhookEndpointStatus.enabled, stripe_data={})
        endpoint.secret = secret
        endpoint.save()
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=f"{site_url}{webhook_endpoint_path(endpoint)}")
    _secrets.clear()
    return endpoint, created


def webhook_endpoint_local() -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(id=LOCAL_ENDPOINT_ID).first()


def webhook_endpoint_path(endpoint: WebhookEndpoint) -> str:
    """The path Stripe posts this endpoint's events to (unchanged since dj-stripe's own view served it)."""
    return reverse("stripe_webhook", kwargs={"uuid": endpoint.djstripe_uuid})


@dataclass(frozen=True)
class EndpointSecret:
    secret: str
    tolerance: int
    read_at: float  # time.monotonic()


_secrets: dict[str, EndpointSecret] = {}


def webhook_endpoint_secret(*, uuid, fresh: bool = False) -> EndpointSecret | None:
    """What verifies a delivery to the endpoint `uuid` (None: no such endpoint), read at most every
    SECRET_KEPT_SECONDS per process, or now when `fresh`: one SELECT saved on almost every webhook."""
    kept = _secrets.get(str(uuid))
    if kept and not fresh and time.monotonic() - kept.read_at < SECRET_KEPT_SECONDS:
        return kept
    row = WebhookEndpoint.objects.filter(djstripe_uuid=uuid).values_list("secret", "djstripe_tolerance").first()
    if row is None:
        _secrets.pop(str(uuid), None)
        return None
    kept = _secrets[str(uuid)] = EndpointSecret(secret=row[0], tolerance=row[1], read_at=time.monotonic())
    return kept
