"""Who may open the booth pages: staff (admin login) holding the page's permission, for the booths
they work at (Store.staff; a superuser: every booth); 403 otherwise."""

from functools import wraps

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied

from common.lookups import or_404
from inventory import selectors


def staff_permission_required(permission: str):
    def decorator(view):
        @staff_member_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(permission):
                raise PermissionDenied(f"You need the {permission!r} permission for this page.")
            return view(request, *args, **kwargs)
        return wrapped
    return decorator


def page_context(request, title: str, **extra) -> dict:
    """What an admin-styled page needs (header, sidebar, user links), plus its own data."""
    return {**admin.site.each_context(request), "title": title, **extra}


def staff_booths(request) -> list:
    return list(selectors.store_list_for_staff(user=request.user))


def staff_booth_or_403(request, store_id: str):
    """The booth, if this staff member works there: 404 for no such booth, 403 for someone else's."""
    store = or_404(selectors.store_get, store_id=store_id)
    if not selectors.store_list_for_staff(user=request.user).filter(pk=store.pk).exists():
        raise PermissionDenied(f"You are not on the staff of {store.name}: ask an administrator to add you.")
    return store
