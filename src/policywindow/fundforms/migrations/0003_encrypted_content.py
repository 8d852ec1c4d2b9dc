"""The fund form's content snapshot (with the enterprise's bank account) encrypted at rest as a
whole; reversible while the keys are at hand."""

from django.db import migrations

import policywindow.core.encrypted


class Migration(migrations.Migration):
    dependencies = [
        ("fundforms", "0002_batch_file_progress"),
    ]

    operations = [
        migrations.AlterField(
            model_name="fundform",
            name="content",
            field=policywindow.core.encrypted.EncryptedJSONField(verbose_name="内容快照"),
        ),
        policywindow.core.encrypted.encrypt_existing("fundforms", "FundForm"),
    ]
