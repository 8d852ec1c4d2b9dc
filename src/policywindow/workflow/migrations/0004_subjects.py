"""Workflow subjects: instances and tasks name their case by (subject type, subject id); a
workflow may belong to a subject type instead of a rule. Every existing row is an application's:
its subject id is its application id (one UPDATE per table, before the columns become NOT NULL).
At a million cases it takes minutes and leaves the task table twice its size until vacuumed:
run VACUUM (ANALYZE) on the two tables afterwards (docs/benchmarks.md).
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F, Q

LINK = Q(subject_type="application", subject_id=F("application")) | (
    ~Q(subject_type="application") & Q(application__isnull=True)
)


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0001_initial"),
        ("policies", "0001_initial"),
        ("workflow", "0003_instance_withdrawn"),
    ]

    operations = [
        migrations.AddField(
            model_name="workflowdefinition",
            name="subject_type",
            field=models.CharField(
                default="application", max_length=20, verbose_name="审批对象类型"
            ),
        ),
        migrations.AlterField(
            model_name="workflowdefinition",
            name="rule",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="workflows",
                to="policies.rule",
            ),
        ),
        migrations.AddField(
            model_name="workflowinstance",
            name="subject_type",
            field=models.CharField(
                default="application", max_length=20, verbose_name="审批对象类型"
            ),
        ),
        migrations.AddField(
            model_name="workflowinstance",
            name="subject_id",
            field=models.PositiveBigIntegerField(null=True, verbose_name="审批对象编号"),
        ),
        migrations.AddField(
            model_name="workflowtask",
            name="subject_type",
            field=models.CharField(
                default="application", max_length=20, verbose_name="审批对象类型"
            ),
        ),
        migrations.AddField(
            model_name="workflowtask",
            name="subject_id",
            field=models.PositiveBigIntegerField(null=True, verbose_name="审批对象编号"),
        ),
        migrations.RunSQL(
            "UPDATE workflow_workflowinstance SET subject_id = application_id",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE workflow_workflowtask SET subject_id = application_id",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="workflowinstance",
            name="subject_id",
            field=models.PositiveBigIntegerField(verbose_name="审批对象编号"),
        ),
        migrations.AlterField(
            model_name="workflowtask",
            name="subject_id",
            field=models.PositiveBigIntegerField(verbose_name="审批对象编号"),
        ),
        migrations.AlterField(
            model_name="workflowinstance",
            name="application",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="workflow",
                to="applications.application",
            ),
        ),
        migrations.AlterField(
            model_name="workflowtask",
            name="application",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="tasks",
                to="applications.application",
            ),
        ),
        migrations.AddConstraint(
            model_name="workflowdefinition",
            constraint=models.UniqueConstraint(
                condition=Q(rule__isnull=True),
                fields=("subject_type", "version"),
                name="workflow_type_version",
            ),
        ),
        migrations.AddConstraint(
            model_name="workflowdefinition",
            constraint=models.UniqueConstraint(
                condition=Q(rule__isnull=True, status="draft"),
                fields=("subject_type",),
                name="workflow_type_one_draft",
            ),
        ),
        migrations.AddConstraint(
            model_name="workflowdefinition",
            constraint=models.UniqueConstraint(
                condition=Q(rule__isnull=True, status="published"),
                fields=("subject_type",),
                name="workflow_type_one_published",
            ),
        ),
        migrations.AddConstraint(
            model_name="workflowdefinition",
            constraint=models.CheckConstraint(
                condition=Q(rule__isnull=False) | ~Q(subject_type="application"),
                name="workflow_application_has_rule",
            ),
        ),
        migrations.AddConstraint(
            model_name="workflowinstance",
            constraint=models.UniqueConstraint(
                fields=("subject_type", "subject_id"), name="workflow_subject"
            ),
        ),
        migrations.AddConstraint(
            model_name="workflowinstance",
            constraint=models.CheckConstraint(condition=LINK, name="workflow_instance_link"),
        ),
        migrations.AddConstraint(
            model_name="workflowtask",
            constraint=models.CheckConstraint(condition=LINK, name="workflow_task_link"),
        ),
    ]
