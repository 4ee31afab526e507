"""The booth-staff role: a group whose members count, move, receive and restock stock, see orders,
the dashboard and the end-of-day report, and nothing else (no prices, no Stripe, no users).

The permission list is defined here, in code: the data migration creates the group from it, and
every migrate (post_migrate) sets the group's permissions back to exactly this list.
"""

import logging

from django.apps import apps as global_apps
from django.contrib.auth import get_user_model
from django.db.models import Q

log = logging.getLogger(__name__)

BOOTH_STAFF_GROUP = "Booth staff"
BOOTH_STAFF_PERMISSIONS = {
    "inventory": (
        "view_store", "view_product", "view_stockmovement", "view_reservation", "view_stockimport",
        "view_lowstockalert", "view_lowstockalertdelivery",
        "adjust_stock", "count_stock", "transfer_stock", "receive_stock", "import_stock", "view_day_report",
    ),
    "payments": ("view_order", "view_checkout", "hand_over_sale"),
}
DEMO_USERNAME, DEMO_PASSWORD, DEMO_EMAIL = "booth", "booth-demo-only", "booth@example.com"


def booth_staff_group_sync(*, apps=global_apps, using: str = "default"):
    """Create the group if needed and give it exactly BOOTH_STAFF_PERMISSIONS; returns the group."""
    return group_permissions_set(apps=apps, using=using, name=BOOTH_STAFF_GROUP, permissions=BOOTH_STAFF_PERMISSIONS)


def group_permissions_set(*, apps, using: str, name: str, permissions: dict[str, tuple[str, ...]],
                          missing_ok: bool = False):
    """Create group `name` if needed and give it exactly `permissions` ({app_label: codenames}).
    Works with a migration's historical `apps` as with the real ones; raises LookupError naming
    any permission that does not exist, unless `missing_ok` (a migration, before later ones add them)."""
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    wanted = Q(pk__in=[])
    for app_label, codenames in permissions.items():
        wanted |= Q(content_type__app_label=app_label, codename__in=codenames)
    found = list(permission_model.objects.using(using).filter(wanted).select_related("content_type"))
    missing = {f"{a}.{c}" for a, cs in permissions.items() for c in cs} - {
        f"{p.content_type.app_label}.{p.codename}" for p in found}
    if missing and not missing_ok:
        raise LookupError(f"Permissions missing for the {name!r} group: {sorted(missing)}")
    group, _ = group_model.objects.using(using).get_or_create(name=name)
    group.permissions.set(found)
    return group


def booth_staff_group_after_migrate(sender, apps=global_apps, using="default", **kwargs):
    try:
        booth_staff_group_sync(apps=apps, using=using)
    except LookupError as exc:  # migrated backwards, before the permissions existed
        log.warning("booth-staff group not synced: %s", exc)


def booth_staff_user_ensure(*, username: str = DEMO_USERNAME, password: str = DEMO_PASSWORD,
                            email: str = DEMO_EMAIL):
    """A staff user (admin login) in the booth-staff group; created once, password set on creation."""
    group = booth_staff_group_sync()
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"email": email, "is_staff": True, "is_active": True})
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    user.groups.add(group)
    return user, created
