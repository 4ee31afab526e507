"""The local dj-stripe WebhookEndpoint row whose secret verifies incoming Stripe signatures."""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from djstripe.enums import WebhookEndpointStatus
from djstripe.models import WebhookEndpoint

LOCAL_ENDPOINT_ID = "we_swagstore_local"


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
    return endpoint, created


def webhook_endpoint_local() -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(id=LOCAL_ENDPOINT_ID).first()


def webhook_endpoint_path(endpoint: WebhookEndpoint) -> str:
    """The path Stripe posts this endpoint's events to (unchanged since dj-stripe's own view served it)."""
    return reverse("stripe_webhook", kwargs={"uuid": endpoint.djstripe_uuid})


def webhook_endpoint_for_delivery(*, uuid) -> WebhookEndpoint | None:
    """The endpoint a delivery names, with only what verifying it needs."""
    return WebhookEndpoint.objects.only("secret", "djstripe_tolerance").filter(djstripe_uuid=uuid).first()
