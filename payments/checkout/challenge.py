"""A proof of work for an address past its free rate of checkouts (ALTCHA, self-hosted).

When one address starts more checkouts in a window than a venue would (payments/checkout/limits.py),
the next ones need a solved challenge instead of being refused: the buyer's browser spends a moment
finding a PBKDF2 key with a given prefix (the ALTCHA widget, static/vendor/altcha, in web workers),
which is nothing for one person and a real cost for a script holding stock in a loop. The challenge
is signed with a key derived from SECRET_KEY and expires after CHECKOUT_CHALLENGE_SECONDS; a solved
challenge is spent once (ChallengeSpent, unique by its signature), so one solution cannot be replayed.
"""

import hashlib
import json
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from altcha import v2
from django.conf import settings
from django.db import IntegrityError, transaction

from ..models import ChallengeSpent

ALGORITHM = "PBKDF2/SHA-256"


def challenge_new() -> str:
    """A fresh challenge, as the JSON the widget takes in its `challenge` attribute."""
    challenge = v2.create_challenge(
        ALGORITHM, settings.CHECKOUT_CHALLENGE_COST, key_prefix=settings.CHECKOUT_CHALLENGE_KEY_PREFIX,
        expires_at=int(time.time()) + settings.CHECKOUT_CHALLENGE_SECONDS, hmac_secret=_secret())
    return json.dumps(challenge.to_dict())


def challenge_spend(*, payload: str) -> bool:
    """True once for a correctly solved, unexpired challenge of ours; False for anything else (a
    wrong, forged, expired or already spent solution)."""
    try:
        result = v2.verify_solution(payload, _secret())
        signature = v2.Payload.from_base64(payload).challenge.signature
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    if not result.verified or not signature:
        return False
    now = datetime.now(tz=dt_timezone.utc)
    ChallengeSpent.objects.filter(expires_at__lt=now).delete()  # spent ones that expired need no keeping
    expires = now + timedelta(seconds=settings.CHECKOUT_CHALLENGE_SECONDS)
    try:
        with transaction.atomic():
            ChallengeSpent.objects.create(signature=signature[:128], expires_at=expires)
    except IntegrityError:
        return False
    return True


def _secret() -> str:
    return hashlib.sha256(f"swagstore.checkout-challenge:{settings.SECRET_KEY}".encode()).hexdigest()
