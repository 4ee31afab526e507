"""Counts as people read them ("1 product", "3 products"): plurals through ngettext, one per noun."""

from django.utils.translation import ngettext


def units(n: int) -> str:
    return ngettext("%(n)d unit", "%(n)d units", n) % {"n": n}


def products(n: int) -> str:
    return ngettext("%(n)d product", "%(n)d products", n) % {"n": n}


def rows(n: int) -> str:
    return ngettext("%(n)d row", "%(n)d rows", n) % {"n": n}


def problems(n: int) -> str:
    return ngettext("%(n)d problem", "%(n)d problems", n) % {"n": n}

