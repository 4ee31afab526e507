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



def variants(n: int) -> str:
    return ngettext("%(n)d variant", "%(n)d variants", n) % {"n": n}


def payment_links(n: int) -> str:
    return ngettext("%(n)d Payment Link", "%(n)d Payment Links", n) % {"n": n}


def fields(n: int) -> str:
    return ngettext("%(n)d field", "%(n)d fields", n) % {"n": n}


def events(n: int) -> str:
    return ngettext("%(n)d event", "%(n)d events", n) % {"n": n}


def jobs(n: int) -> str:
    return ngettext("%(n)d job", "%(n)d jobs", n) % {"n": n}


def holds(n: int) -> str:
    return ngettext("%(n)d hold", "%(n)d holds", n) % {"n": n}


def sessions(n: int) -> str:
    return ngettext("%(n)d session", "%(n)d sessions", n) % {"n": n}


def checkouts(n: int) -> str:
    return ngettext("%(n)d checkout", "%(n)d checkouts", n) % {"n": n}


def pools(n: int) -> str:
    return ngettext("%(n)d pool", "%(n)d pools", n) % {"n": n}


def mails(n: int) -> str:
    return ngettext("%(n)d mail", "%(n)d mails", n) % {"n": n}


def migrations(n: int) -> str:
    return ngettext("%(n)d migration", "%(n)d migrations", n) % {"n": n}


def purchases(n: int) -> str:
    return ngettext("%(n)d purchase", "%(n)d purchases", n) % {"n": n}


def pieces_of_work(n: int) -> str:
    return ngettext("%(n)d piece of work", "%(n)d pieces of work", n) % {"n": n}


def column_names(names: list[str]) -> str:
    """ "column 'cost'", "columns 'cost', 'price'": the word follows how many are named."""
    return ngettext("column %(names)s", "columns %(names)s", len(names)) % {"names": ", ".join(names)}


def product_ids(ids: list) -> str:
    """ "product id [4]", "product ids [4, 7]"."""
    return ngettext("product id %(ids)s", "product ids %(ids)s", len(ids)) % {"ids": ids}
