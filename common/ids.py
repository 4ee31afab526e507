"""Ids that arrive as text from outside (Stripe metadata, URLs)."""

import uuid


def uuid_or_none(value) -> uuid.UUID | None:
    """`value` as a UUID, or None when it is empty or not one."""
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
