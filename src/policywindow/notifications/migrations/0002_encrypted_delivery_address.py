"""Delivery addresses (mobile numbers, e-mail) encrypted at rest; reversible while the keys are
at hand."""

from django.db import migrations

import policywindow.core.encrypted


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="delivery",
            name="address",
            field=policywindow.core.encrypted.EncryptedCharField(
                kind="text", max_length=254, verbose_name="地址"
            ),
        ),
        policywindow.core.encrypted.encrypt_existing("notifications", "Delivery"),
    ]
