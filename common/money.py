"""Amounts as Stripe keeps them (the currency's smallest unit), shown to people: the one definition.

Babel writes them as the reader's locale does ($25.00, 25,00 €, ¥2,500); Stripe's list of
zero-decimal currencies says how many minor units make one.
"""

from decimal import Decimal

from babel.numbers import format_currency
from django.utils.translation import get_language, to_locale

# Currencies with no minor unit: Stripe's amount is already whole units.
ZERO_DECIMAL_CURRENCIES = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx",
                                     "vnd", "vuv", "xaf", "xof", "xpf"})
DEFAULT_LOCALE = "en_US"


def money_locale() -> str:
    """The active language as a Babel locale; plain English reads amounts as the US does."""
    locale = to_locale(get_language() or "en")
    return DEFAULT_LOCALE if locale == "en" else locale


def major_units(amount: int, currency: str) -> Decimal:
    return Decimal(amount) if currency.lower() in ZERO_DECIMAL_CURRENCIES else Decimal(amount).scaleb(-2)


def money(amount: int | None, currency: str) -> str:
    """2500, "usd" → "$25.00"; None → "—"."""
    if amount is None:
        return "—"
    return format_currency(major_units(amount, currency), currency.upper(), locale=money_locale())
