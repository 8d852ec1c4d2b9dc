"""The data board's rollups: applications counted per moment, status, rule, lead department and
city, so the board reads a few thousand rows instead of every application.

``RollupChange`` rows are appended by database triggers in the transaction that changes an
application (``rollups.py``: never an UPDATE of a shared row on the hot path); the worker
folds them into ``Rollup`` every minute. The board reads both in one statement.
"""

from __future__ import annotations

from django.db import models


class Kind(models.TextChoices):
    """What a row counts (the facts of ``rollups.py``)."""

    FILED = "filed", "申报（按提交日期）"
    DECIDED = "decided", "审核决定（按决定日期）"
    OPEN = "open", "审核中（按办结期限）"


class Grain(models.TextChoices):
    DAY = "d", "日"
    MONTH = "m", "月"


class RollupFields(models.Model):
    """The key (a moment, status, rule, department, city) and the sums of one row."""

    kind = models.CharField("口径", max_length=8, choices=Kind.choices)
    # The start (local midnight) of the day or month counted; for open cases the deadline itself.
    at = models.DateTimeField("时刻")
    month = models.DateField("月份")
    status = models.CharField("状态", max_length=20, blank=True)
    # Plain ids, no foreign keys: a trigger's insert takes no lock on the rule or department.
    rule_id = models.BigIntegerField("细则")
    department_id = models.BigIntegerField("牵头部门")
    city = models.CharField("地市代码前四位", max_length=4, blank=True)
    cases = models.BigIntegerField("件数")
    amount = models.DecimalField("核定金额合计（元）", max_digits=20, decimal_places=2)
    on_time = models.BigIntegerField("按期决定件数")
    duration_us = models.BigIntegerField("受理至决定时长合计（微秒）")

    class Meta:
        abstract = True


class Rollup(RollupFields):
    """Compacted sums: one row per key and grain (days, and whole months for long periods)."""

    grain = models.CharField("粒度", max_length=1, choices=Grain.choices)

    class Meta:
        verbose_name = "看板汇总"
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "kind", "at", "status", "rule_id", "department_id", "city"],
                name="dashboard_rollup_key",
            )
        ]
        indexes = [
            # Compaction drops the rows that fell to zero (cases moved on to another key).
            models.Index(fields=["id"], condition=models.Q(cases=0), name="dashboard_rollup_empty")
        ]


class RollupChange(RollupFields):
    """One change appended by a trigger (−1 for what a case stopped counting, +1 for what it
    counts now), until the worker folds it into ``Rollup``."""

    class Meta:
        verbose_name = "看板汇总变更"
