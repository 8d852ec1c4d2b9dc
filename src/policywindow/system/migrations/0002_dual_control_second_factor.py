import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("system", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="must_bind_totp",
            field=models.BooleanField(
                db_default=False, default=False, verbose_name="下次登录须绑定动态口令"
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="roles_changed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="user",
            name="totp_last_step",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.CreateModel(
            name="AdminAccountRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("reset_password", "重置密码与动态口令"),
                            ("disable", "停用账号"),
                            ("enable", "启用账号"),
                        ],
                        max_length=16,
                        verbose_name="申请事项",
                    ),
                ),
                ("reason", models.CharField(max_length=200, verbose_name="申请理由")),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("pending", "待审批"),
                            ("approved", "已批准"),
                            ("rejected", "已驳回"),
                            ("cancelled", "已撤回"),
                        ],
                        default="pending",
                        max_length=10,
                        verbose_name="状态",
                    ),
                ),
                (
                    "requested_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="申请时间"
                    ),
                ),
                (
                    "decided_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="审批时间"),
                ),
                (
                    "decision_note",
                    models.CharField(blank=True, max_length=200, verbose_name="审批意见"),
                ),
                ("first_half_hash", models.CharField(blank=True, editable=False, max_length=128)),
                ("second_half_hash", models.CharField(blank=True, editable=False, max_length=128)),
                (
                    "redeem_before",
                    models.DateTimeField(blank=True, null=True, verbose_name="一次性密码有效期至"),
                ),
                (
                    "redeemed_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="一次性密码使用时间"),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="审批人",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="申请人",
                    ),
                ),
                (
                    "target",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="三员账号",
                    ),
                ),
            ],
            options={
                "verbose_name": "三员账号双人审批",
                "verbose_name_plural": "三员账号双人审批",
                "ordering": ["-requested_at", "-id"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("state", "pending")),
                        fields=("target",),
                        name="uniq_pending_admin_request",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="RecoveryCode",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code_hash", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="recovery_codes",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "恢复码",
                "verbose_name_plural": "恢复码",
                "ordering": ["id"],
                "constraints": [
                    models.UniqueConstraint(fields=("user", "code_hash"), name="uniq_recovery_code")
                ],
            },
        ),
    ]
