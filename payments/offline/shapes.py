"""Stripe's real object shapes (its published fixtures), to build objects with the fields Stripe sends.

payments/offline/data/stripe_shapes.json is a verbatim extract of Stripe's fixtures3.json (MIT); a test
checks it still equals ../shared/stripe/fixtures3.json.
"""

import copy
import json
from functools import lru_cache
from pathlib import Path

SHAPES_FILE = Path(__file__).resolve().parent / "data" / "stripe_shapes.json"


@lru_cache(maxsize=1)
def _resources() -> dict:
    return json.loads(SHAPES_FILE.read_text())["resources"]


def stripe_shape(name: str, **overrides) -> dict:
    """A deep copy of Stripe's example `name` object with top-level fields overridden."""
    return {**copy.deepcopy(_resources()[name]), **overrides}
