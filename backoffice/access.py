"""Who may open the booth pages: staff (admin login) holding the page's permission; 403 otherwise."""

from functools import wraps

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied


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
