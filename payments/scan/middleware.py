"""A Payment Link scan this process remembers is redirected before most of the middleware runs.

In Payment Link mode a keynote rush is hundreds of GET /q/<code>/ within a second, each only a 302 to
the link. Sessions, CSRF, authentication, messages, the content-security policy and login throttling
have nothing to do for a redirect to Stripe, yet cost more than the redirect itself; so this sits
right after the security and static-file middleware and answers from the process's memory of the
scan (remembered.py). Anything it does not remember goes on to the view, which reads, decides and
remembers.
"""

from django.http import HttpResponseRedirect
from django.urls import reverse

from .remembered import remembered_link


class RememberedLinkScans:
    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = reverse("payments:scan", args=["code"]).removesuffix("code/")

    def __call__(self, request):
        if request.method == "GET" and request.path_info.startswith(self.prefix):
            code = request.path_info[len(self.prefix):].removesuffix("/")
            if url := remembered_link(code=code):
                return HttpResponseRedirect(url)
        return self.get_response(request)
