from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BackofficeConfig(AppConfig):
    """The booth's day for staff: counts, moves, deliveries, CSV, the end-of-day report, the staff role."""

    name = "backoffice"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Only once apps are loaded: roles reaches the auth models.
        from .roles import booth_staff_group_after_migrate

        # The data migration creates the group; this keeps its permissions as defined in code, also
        # after a flush (tests) re-creates the permission table.
        post_migrate.connect(booth_staff_group_after_migrate, sender=self,
                             dispatch_uid="backoffice.booth_staff_group")
