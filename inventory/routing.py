from django.urls import re_path

from .consumers import StockConsumer

websocket_urlpatterns = [
    re_path(r"^ws/stock/(?P<store_id>[\w-]+)/(?:(?P<product_id>[\w-]+)/)?$", StockConsumer.as_asgi()),
]
