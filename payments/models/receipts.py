"""The receipt a buyer shows at the booth: a short code per paid sale, and whether it was collected.

Both kinds of sale carry it (an Order from a Payment Link, a Checkout held first), so the fields are
defined once here. The code is made when the row is, so no path that records a sale can forget it.
"""

import secrets

from django.conf import settings
from django.db import models

# Read aloud and typed from a phone screen: no 0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V look-alikes.
RECEIPT_CODE_ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
RECEIPT_CODE_LENGTH = 8  # 23**8 ≈ 7.8e10: a booth's few thousand sales a day never meet twice


def new_receipt_code() -> str:
    return "".join(secrets.choice(RECEIPT_CODE_ALPHABET) for _ in range(RECEIPT_CODE_LENGTH))


def receipt_code_display(code: str) -> str:
    """K7MQ4QXP → K7MQ-4QXP: two short groups are easier to read out and to compare."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}" if code else ""


class Receipted(models.Model):
    receipt_code = models.CharField(max_length=16, unique=True, default=new_receipt_code, editable=False,
                                    help_text="What the buyer shows at the booth to collect.")
    collected_at = models.DateTimeField(null=True, blank=True, editable=False,
                                        help_text="When staff handed the items over.")
    collected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, editable=False,
                                     on_delete=models.PROTECT, related_name="+",
                                     help_text="Who handed the items over.")

    class Meta:
        abstract = True

    @property
    def receipt_code_display(self) -> str:
        return receipt_code_display(self.receipt_code)
