from django.urls import re_path

from .consumers import CheckoutConsumer

websocket_urlpatterns = [
    re_path(r"^ws/checkout/(?P<checkout_id>[0-9a-fA-F-]{32,36})/$", CheckoutConsumer.as_asgi()),
]


def checkout_feed_path(checkout_id) -> str:
    """The path of a checkout's feed: its page hands it to static/js/live-feed.js."""
    return f"/ws/checkout/{checkout_id}/"
