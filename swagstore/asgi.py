import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swagstore.settings.base")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from swagstore.http_handler import SyncChainASGIHandler  # noqa: E402

django_asgi_app = SyncChainASGIHandler()


def _load_before_serving() -> None:
    """What every process's first requests would otherwise load while the others queue behind them
    (a rush right after a deploy or a daily restart): the URLconf with every view module it names,
    and the template engine with its tag libraries."""
    # Imported here, not at the top: Django's apps must be set up (django.setup() above) first.
    from django.template import engines
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports the URLconf)
    engines.all()


_load_before_serving()

from payments.checks import refuse_to_start_misconfigured  # noqa: E402

refuse_to_start_misconfigured()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from inventory.routing import websocket_urlpatterns as inventory_websockets  # noqa: E402
from payments.checkout.routing import websocket_urlpatterns as payments_websockets  # noqa: E402
from common.body_limit import RequestBodyLimit  # noqa: E402
from common.request_slots import RequestSlots  # noqa: E402
from common.websockets import NoSuchFeedConsumer  # noqa: E402

# The catch-all comes last: a path that names no feed is refused at the handshake, not a 500.
websockets = inventory_websockets + payments_websockets + [re_path(r"", NoSuchFeedConsumer.as_asgi())]

application = ProtocolTypeRouter(
    {
        "http": RequestSlots(RequestBodyLimit(django_asgi_app)),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websockets))),
    }
)
