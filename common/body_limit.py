"""Refuse a request body over REQUEST_BODY_MAX_BYTES before it is read, at the ASGI door.

Django's ASGI handler reads the whole body (into memory, then a temporary file) before any view
runs, so a view's size check came after a 300 MB upload had been received and stored. This wraps
the HTTP app: a Content-Length over the limit is answered 413 at once, without reading a byte of the
body; a body without one (chunked) is counted as it arrives and cut off at the limit. Nothing we
accept comes near it: CSV files and pictures are at most 2 MB, webhooks a few KB.
"""

from django.conf import settings

_MESSAGE = b"Request body too large: at most %d bytes are accepted.\n"


class BodyTooLarge(Exception):
    pass


class RequestBodyLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = settings.REQUEST_BODY_MAX_BYTES
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.strip().isdigit() and int(declared) > limit:
            return await _too_large(send, limit)
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted_receive, send)
        except BodyTooLarge:
            await _too_large(send, limit)


async def _too_large(send, limit: int) -> None:
    body = _MESSAGE % limit
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
