"""What the buyer's receipt shows: the code large, a QR code of it, the items, the booth, the time."""

from django.conf import settings
from django.urls import reverse
from django.utils.http import urlencode

from inventory.qr import qr_svg

from .sales import Sale


def hand_over_url(sale: Sale) -> str:
    """The booth's hand-over page for this sale: a volunteer's camera (ours or the phone's own) opens it."""
    return f"{settings.SITE_URL}{reverse('backoffice:hand_over')}?{urlencode({'code': sale.receipt_code})}"


def receipt_context(sale: Sale) -> dict:
    return {"sale": sale, "receipt_qr": qr_svg(hand_over_url(sale), scale=5)}
