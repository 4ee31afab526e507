"""Request guards: writes to the JSON API."""

from django.conf import settings
from django.http import JsonResponse


class JsonApiSameOrigin:
    """Our JSON API takes writes only as JSON, and only from our own pages or non-browser clients.

    The API is CSRF-exempt (no cookie session), so a page elsewhere could otherwise make its visitors
    hold our stock: a cross-site `text/plain` POST needs no CORS preflight. Requiring
    `application/json` forces that preflight (which we never grant), and an Origin that is not ours
    is refused outright. Clients that send no Origin (scripts, servers) are not browsers acting for
    someone else, so they pass.
    """

    PREFIX = "/api/"
    UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(self.PREFIX) and request.method in self.UNSAFE:
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def _refusal(self, request):
        # An empty body has nothing to misread (the API answers 400 for it); any other must be JSON.
        if request.content_type != "application/json" and request.body:
            return JsonResponse({"detail": "Send the request body as JSON (Content-Type: application/json)."},
                                status=415)
        if not _same_origin(request):
            return JsonResponse({"detail": "Cross-site requests are not accepted: use the store's own pages."},
                                status=403)
        return None


def _same_origin(request) -> bool:
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    ours = {f"{request.scheme}://{request.get_host()}", settings.SITE_URL, *settings.CSRF_TRUSTED_ORIGINS}
    return origin.rstrip("/") in {o.rstrip("/") for o in ours}
