"""A receipt code on every Order and Checkout (each existing row gets its own), and who collected when;
a held checkout the buyer left ("Back" on Stripe's page) ends as `left`, not as a lapsed hold."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import payments.models.receipts


def codes_for_existing_rows(apps, schema_editor):
    for model_name in ("Order", "Checkout"):
        model = apps.get_model("payments", model_name)
        taken = set()
        for row in model.objects.filter(receipt_code__isnull=True).only("pk").iterator():
            code = payments.models.receipts.new_receipt_code()
            while code in taken:
                code = payments.models.receipts.new_receipt_code()
            taken.add(code)
            model.objects.filter(pk=row.pk).update(receipt_code=code)


def receipt_fields(model_name: str) -> list:
    return [
        migrations.AddField(model_name=model_name, name="receipt_code",
                            field=models.CharField(max_length=16, null=True, editable=False)),
        migrations.AddField(model_name=model_name, name="collected_at",
                            field=models.DateTimeField(blank=True, editable=False, null=True,
                                                       help_text="When staff handed the items over.")),
        migrations.AddField(model_name=model_name, name="collected_by",
                            field=models.ForeignKey(blank=True, editable=False, null=True,
                                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                    to=settings.AUTH_USER_MODEL,
                                                    help_text="Who handed the items over.")),
    ]


def receipt_code_required(model_name: str):
    return migrations.AlterField(
        model_name=model_name, name="receipt_code",
        field=models.CharField(default=payments.models.receipts.new_receipt_code, editable=False, max_length=16,
                               unique=True, help_text="What the buyer shows at the booth to collect."))


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('payments', '0006_catalogue_events'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="order",
            options={"ordering": ["-created_at", "-id"],
                     "permissions": [("hand_over_sale", "Can hand a sale's items over at the booth")]},
        ),
        *receipt_fields("order"),
        *receipt_fields("checkout"),
        migrations.RunPython(codes_for_existing_rows, migrations.RunPython.noop),
        receipt_code_required("order"),
        receipt_code_required("checkout"),
        migrations.AlterField(
            model_name='checkout',
            name='status',
            field=models.CharField(choices=[('reserved', 'Units held, awaiting payment'), ('authorised', 'Sold; capturing the payment'), ('paid', 'Paid'), ('cancelled', 'Cancelled: authorisation released, nothing charged'), ('refunded', 'Refunded'), ('failed', 'Payment failed; units released'), ('expired', 'Hold ran out before payment'), ('left', 'Left the payment page; nothing charged')], default='reserved', max_length=16),
        ),
    ]
