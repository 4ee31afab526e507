"""The admin site: the store's own sections first, dj-stripe's models for superusers only.

Installed in place of django.contrib.admin (INSTALLED_APPS), so every `@admin.register` — ours and
dj-stripe's — lands here. Booth staff (backoffice.roles) get their sections at the top, and never
the dozens of dj-stripe models, whatever permissions a user was given on them.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

# The store's own apps, in this order, before everything else (then alphabetical, as Django does).
OWN_APPS = ("inventory", "payments", "backoffice")
SUPERUSER_ONLY_APPS = ("djstripe",)


class SuperuserOnlyAdmin:
    """Mixed into a registered ModelAdmin: only superusers see, add, change or delete."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args, **kwargs):
        return request.user.is_superuser and super().has_add_permission(request, *args, **kwargs)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class SwagstoreAdminSite(admin.AdminSite):
    site_header = "Swag store"
    site_title = "Swag store admin"

    def register(self, model_or_iterable, admin_class=None, **options):
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else list(model_or_iterable)
        for model in models:
            chosen = admin_class or admin.ModelAdmin
            if model._meta.app_label in SUPERUSER_ONLY_APPS:
                chosen = type(f"SuperuserOnly{chosen.__name__}", (SuperuserOnlyAdmin, chosen), {})
            super().register(model, chosen, **options)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        rank = {label: i for i, label in enumerate(OWN_APPS)}
        return sorted(apps, key=lambda app: (rank.get(app["app_label"], len(rank)), app["name"].lower()))


class SwagstoreAdminConfig(AdminConfig):
    default_site = "swagstore.admin_site.SwagstoreAdminSite"
