"""Every event carries its entry MAC (filled by 0006); a copied row cannot be inserted twice."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0006_keyed_audit_chain")]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="entry_mac",
            field=models.CharField(max_length=64, unique=True, verbose_name="条目 MAC"),
        ),
    ]
