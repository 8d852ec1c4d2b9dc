"""Chunks of a batch's forms, the share of the file work a worker claims (issue 16), and the
claim on a batch's last step (its PDF joined from the chunks' parts, and its Excel)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("fundforms", "0004_remake_batch_workbooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="formbatch",
            name="files_claimed_until",
            field=models.DateTimeField(blank=True, null=True, verbose_name="汇总文件生成占用至"),
        ),
        migrations.CreateModel(
            name="FormChunk",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("index", models.PositiveSmallIntegerField(verbose_name="序号")),
                ("first", models.PositiveIntegerField(verbose_name="首份审批表序号")),
                ("last", models.PositiveIntegerField(verbose_name="末份审批表序号")),
                (
                    "claimed_until",
                    models.DateTimeField(blank=True, null=True, verbose_name="占用至"),
                ),
                ("done_at", models.DateTimeField(blank=True, null=True, verbose_name="完成时间")),
                (
                    "part",
                    models.FileField(
                        blank=True, upload_to="fundforms/parts/", verbose_name="排版结果（未签章）"
                    ),
                ),
                (
                    "batch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chunks",
                        to="fundforms.formbatch",
                        verbose_name="批次",
                    ),
                ),
            ],
            options={
                "verbose_name": "审批表排版分组",
                "verbose_name_plural": "审批表排版分组",
                "ordering": ["batch", "index"],
                "constraints": [
                    models.UniqueConstraint(fields=("batch", "index"), name="formchunk_batch_index")
                ],
            },
        ),
    ]
