"""Objectors' phone numbers encrypted at rest (SM4-GCM); reversible while the keys are at hand."""

from django.db import migrations

import policywindow.core.encrypted


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0002_financesubmission_paymentimport_disbursement"),
    ]

    operations = [
        migrations.AlterField(
            model_name="objection",
            name="phone",
            field=policywindow.core.encrypted.EncryptedCharField(
                kind="phone", max_length=20, verbose_name="联系电话"
            ),
        ),
        policywindow.core.encrypted.encrypt_existing("finance", "Objection"),
    ]
