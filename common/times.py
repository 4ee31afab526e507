"""Times as people at the booth read them: in the store's time zone, written the locale's way."""

import zoneinfo
from datetime import datetime

from babel.dates import format_date, format_time

from .money import money_locale


def store_zone(time_zone: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def local_time(moment: datetime | None, time_zone: str) -> str:
    """"2:05 PM" in the store's zone (the locale's clock); "" for no time."""
    if moment is None:
        return ""
    return format_time(moment, "short", tzinfo=store_zone(time_zone), locale=money_locale())


def local_datetime(moment: datetime | None, time_zone: str) -> str:
    """"Dec 6, 2026, 2:05 PM" in the store's zone (minutes, no seconds); "" for no time."""
    if moment is None:
        return ""
    zone, locale = store_zone(time_zone), money_locale()
    return f"{format_date(moment.astimezone(zone), 'medium', locale=locale)}, {local_time(moment, time_zone)}"
