"""The booth-staff group with its permissions as they were when it was introduced (later changes
to the role live in backoffice/roles.py, which every migrate applies)."""

from django.db import migrations

GROUP = "Booth staff"
PERMISSIONS = {
    "inventory": (
        "view_store", "view_product", "view_stockmovement", "view_reservation", "view_stockimport",
        "view_lowstockalert", "view_lowstockalertdelivery",
        "adjust_stock", "count_stock", "transfer_stock", "receive_stock", "import_stock", "view_day_report",
    ),
    "payments": ("view_order", "view_checkout"),
}


def create_group(apps, schema_editor):
    # Permissions are normally created after the whole migrate run (post_migrate): create the ones
    # the group needs now, from the models as they are at this point of the history.
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    from backoffice.roles import group_permissions_set

    using = schema_editor.connection.alias
    for label in PERMISSIONS:
        create_permissions(global_apps.get_app_config(label), verbosity=0, apps=apps, using=using)
    group_permissions_set(apps=apps, using=using, name=GROUP, permissions=PERMISSIONS)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name=GROUP).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("inventory", "0004_booth_day"),
        ("payments", "0004_durable_work"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
