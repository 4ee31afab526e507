"""Drop dj-stripe's DEBUG-only secret override header.

With DEBUG on, dj-stripe verifies a webhook against any secret the request names in
X-Djstripe-Webhook-Secret, so anyone who can reach a demo server could forge purchases. We
always verify against the endpoint's own secret instead.
"""


class DropWebhookSecretOverride:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_X_DJSTRIPE_WEBHOOK_SECRET", None)
        return self.get_response(request)
