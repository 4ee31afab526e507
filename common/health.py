"""`/healthz`: the process answers, and nothing else is asked of it.

A load balancer's liveness probe, and the benchmarks' reference request: it passes through the same
server and middleware as every page but reads no database, so a bench that times it beside a scan
shows what the machine allows at that moment (bench/qr_burst.py).
"""

from django.http import HttpResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request):
    return HttpResponse("ok\n", content_type="text/plain")
