import inventory.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0006_variants'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='waitlistentry',
            options={'ordering': ['created_at'], 'verbose_name_plural': 'waitlist entries'},
        ),
        migrations.AddField(
            model_name='store',
            name='time_zone',
            field=models.CharField(default='UTC', help_text='Where the booth is: times on receipts, staff pages and the day\'s report are shown in it (Europe/Berlin, America/New_York).', max_length=64, validators=[inventory.models.validate_time_zone]),
        ),
    ]
