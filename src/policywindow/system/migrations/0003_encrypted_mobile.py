"""Users' mobile numbers encrypted at rest (SM4-GCM), with a blind index for equality search.

Reversible while the data keys are at hand (docs/operations.md, "Personal data keys")."""

import django.core.validators
from django.db import migrations

import policywindow.core.encrypted


class Migration(migrations.Migration):
    dependencies = [
        ("system", "0002_dual_control_second_factor"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="mobile",
            field=policywindow.core.encrypted.EncryptedCharField(
                blank=True,
                kind="phone",
                max_length=11,
                validators=[
                    django.core.validators.RegexValidator(
                        "^1[3-9]\\d{9}$", "请输入正确的11位手机号码"
                    )
                ],
                verbose_name="手机号码",
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="mobile_index",
            field=policywindow.core.encrypted.BlindIndexField(source="mobile"),
        ),
        policywindow.core.encrypted.encrypt_existing("system", "User"),
    ]
