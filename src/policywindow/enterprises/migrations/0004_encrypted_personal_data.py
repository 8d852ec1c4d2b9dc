"""Contact phone and bank account encrypted at rest (SM4-GCM), with blind indexes for equality.

Reversible: backwards, the values are decrypted into the plain columns again (the data keys
must still be at hand). See docs/operations.md, "Personal data keys"."""

import django.core.validators
from django.db import migrations

import policywindow.core.encrypted


class Migration(migrations.Migration):
    dependencies = [
        ("enterprises", "0003_reference_data"),
    ]

    operations = [
        migrations.AlterField(
            model_name="enterprise",
            name="bank_account",
            field=policywindow.core.encrypted.EncryptedCharField(
                blank=True,
                kind="account",
                max_length=32,
                validators=[
                    django.core.validators.RegexValidator(
                        "^\\d{8,32}$", "银行账号应为 8 至 32 位数字"
                    )
                ],
                verbose_name="银行账号",
            ),
        ),
        migrations.AlterField(
            model_name="enterprise",
            name="contact_phone",
            field=policywindow.core.encrypted.EncryptedCharField(
                blank=True,
                kind="phone",
                max_length=20,
                validators=[
                    django.core.validators.RegexValidator(
                        "^(1[3-9]\\d{9}|0\\d{2,3}-?\\d{7,8}(-\\d{1,6})?)$",
                        "请输入正确的手机号码或固定电话（如 13812345678 或 024-12345678）",
                    )
                ],
                verbose_name="联系电话",
            ),
        ),
        migrations.AddField(
            model_name="enterprise",
            name="bank_account_index",
            field=policywindow.core.encrypted.BlindIndexField(source="bank_account"),
        ),
        migrations.AddField(
            model_name="enterprise",
            name="contact_phone_index",
            field=policywindow.core.encrypted.BlindIndexField(source="contact_phone"),
        ),
        policywindow.core.encrypted.encrypt_existing("enterprises", "Enterprise"),
    ]
