"""Lookups by id: selectors raise NotFound (a domain error, not a model's DoesNotExist), views or_404."""

from django.http import Http404


class NotFound(LookupError):
    """No record by that id; the message names what was looked for and is fit to show."""


def or_404(selector, /, **lookup):
    """The selector's result, or a 404 with its message: get_object_or_404 for selectors."""
    try:
        return selector(**lookup)
    except NotFound as missing:
        raise Http404(str(missing)) from missing
