"""Stripe's object shapes: the one loader of its published fixtures (``../shared/stripe/fixtures3.json``).

Every object the fake serves and every event a test builds starts from Stripe's own example of that
resource, so the SDK and the store see the fields Stripe really sends; only ids, amounts, statuses and
the like are overridden. ``STRIPE_FIXTURES`` names another file; without ``../shared`` beside the clone
the verbatim extract the app ships is used (same shapes, fewer kinds).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import secrets
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PUBLISHED = REPO.parent / "shared" / "stripe" / "fixtures3.json"
VENDORED = REPO / "payments" / "offline" / "data" / "stripe_shapes.json"


def fixtures_path() -> Path:
    chosen = os.environ.get("STRIPE_FIXTURES")
    return Path(chosen) if chosen else PUBLISHED if PUBLISHED.exists() else VENDORED


@functools.cache
def _resources(path: Path) -> dict:
    return json.loads(path.read_text())["resources"]


def resources(path: Path | None = None) -> dict:
    """Every example object in the fixture file, by resource name (read once; do not modify)."""
    return _resources(path or fixtures_path())


def shape(resource: str, /, **overrides) -> dict:
    """A fresh copy of Stripe's example ``resource`` object with top-level fields overridden."""
    return {**copy.deepcopy(resources()[resource]), **overrides}


def token(n: int = 14) -> str:
    """Random id material, as in ``re_`` + token(24)."""
    return secrets.token_hex(n)[:n]
