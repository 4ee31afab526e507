from urllib.parse import quote

from django.urls import re_path

from .consumers import StockConsumer

websocket_urlpatterns = [
    re_path(r"^ws/stock/(?P<store_id>[\w-]+)/(?:(?P<product_id>[\w-]+)/)?$", StockConsumer.as_asgi()),
]


def stock_feed_path(store_id: str, stripe_product_id: str | None = None) -> str:
    """The path of a store's feed, or of one product's: pages hand it to static/js/live-feed.js."""
    path = f"/ws/stock/{quote(store_id, safe='')}/"
    return f"{path}{quote(stripe_product_id, safe='')}/" if stripe_product_id else path
