"""Application answers (rules ask for phone and other personal numbers) encrypted at rest as a
whole; reversible while the keys are at hand."""

from django.db import migrations

import policywindow.core.encrypted


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0006_one_draft_per_filing"),
    ]

    operations = [
        migrations.AlterField(
            model_name="application",
            name="answers",
            field=policywindow.core.encrypted.EncryptedJSONField(
                default=dict, verbose_name="填报内容"
            ),
        ),
        policywindow.core.encrypted.encrypt_existing("applications", "Application"),
    ]
