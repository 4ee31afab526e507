"""Django's ASGI handler with the middleware chain run as one synchronous call.

Django's own ASGI handler builds the chain for async and adapts each synchronous piece to it: our
middleware and Django's own MiddlewareMixin ones each cross between the event loop and a worker
thread (a request took six such crossings here: the outer sync middleware, back to async for
django-axes, django-csp's process_request and process_response, the view, and the 4xx log line).
Every view we serve is synchronous, so nothing is gained by the async chain; each crossing costs a
trip through the event loop, which in a keynote rush is busy with hundreds of other requests.

Here the chain is built as under WSGI (all synchronous, the view called directly) and run in one
thread-sensitive call per request: one crossing in, and Django's own after the response
(response.close). Everything else (reading the body, request_started, sending the response,
disconnects) is Django's ASGIHandler unchanged.
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self):
        BaseHandler.__init__(self)  # not ASGIHandler's: that one loads the chain for async
        self.load_middleware(is_async=False)

    async def get_response_async(self, request):
        # BaseHandler.get_response: the URLconf, the whole chain, the closers and the 4xx/5xx log line.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
