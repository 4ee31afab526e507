"""The booth-staff group (backoffice/roles.py), with the permissions that exist at this point of
the history; every migrate then sets it to exactly the list in roles.py (post_migrate)."""

from django.db import migrations


def create_group(apps, schema_editor):
    # Permissions are normally created after the whole migrate run (post_migrate): create the ones
    # the group needs now, from the models as they are at this point of the history.
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    from backoffice.roles import BOOTH_STAFF_GROUP, BOOTH_STAFF_PERMISSIONS, group_permissions_set

    using = schema_editor.connection.alias
    for label in BOOTH_STAFF_PERMISSIONS:
        create_permissions(global_apps.get_app_config(label), verbosity=0, apps=apps, using=using)
    group_permissions_set(apps=apps, using=using, name=BOOTH_STAFF_GROUP, permissions=BOOTH_STAFF_PERMISSIONS,
                          missing_ok=True)


def delete_group(apps, schema_editor):
    from backoffice.roles import BOOTH_STAFF_GROUP

    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(
        name=BOOTH_STAFF_GROUP).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("inventory", "0005_booth_day"),
        ("payments", "0004_durable_work"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
