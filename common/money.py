"""Amounts as Stripe keeps them (the currency's smallest unit), shown to people."""

# Currencies with no minor unit: Stripe's amount is already whole units.
ZERO_DECIMAL_CURRENCIES = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx",
                                     "vnd", "vuv", "xaf", "xof", "xpf"})


def money(amount: int | None, currency: str) -> str:
    if amount is None:
        return "—"
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return f"{amount} {currency.upper()}"
    return f"{amount // 100}.{amount % 100:02d} {currency.upper()}"
