from __future__ import annotations

from django.conf import settings
from django.db import models


class CalendarDay(models.Model):
    """One row per date: the holiday table that all working-day arithmetic uses."""

    date = models.DateField("日期", primary_key=True)
    is_working_day = models.BooleanField("是否工作日")
    note = models.CharField("说明", max_length=64, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = verbose_name_plural = "节假日日历"

    def __str__(self) -> str:
        return f"{self.date} {'工作日' if self.is_working_day else '休息日'}"


class AuditEvent(models.Model):
    """Append-only operation log (操作日志), keyed and chained (core/audit.py).

    ``record`` inserts the content with ``entry_mac``, an HMAC-SM3 over the content and a random
    ``nonce`` under a key outside the database, in the caller's transaction and without any
    global lock. The sealer then fills the seal columns exactly once, after commit: ``seq`` (the
    position in the chain, gap-free, in the order sealed), ``prev_hash`` and ``hash`` (the chain
    MAC over the previous link, ``entry_mac`` and ``rejected``). ``rejected`` marks an event whose
    entry MAC was wrong when it was sealed (written without the key): chained as evidence, never
    taken for a real operation. ``policywindow verify-audit`` checks all of it.
    """

    class Result(models.TextChoices):
        SUCCESS = "success", "成功"
        FAILURE = "failure", "失败"

    seq = models.BigIntegerField("序号", unique=True, null=True, blank=True)
    occurred_at = models.DateTimeField("时间", db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField("操作人", max_length=150, blank=True)
    action = models.CharField("操作", max_length=64, db_index=True)
    object_type = models.CharField("对象类型", max_length=64, blank=True)
    object_id = models.CharField("对象标识", max_length=64, blank=True)
    object_repr = models.CharField("对象", max_length=200, blank=True)
    before = models.JSONField("变更前", null=True, blank=True)
    after = models.JSONField("变更后", null=True, blank=True)
    ip = models.CharField("IP", max_length=45, blank=True)
    result = models.CharField("结果", max_length=8, choices=Result.choices, default=Result.SUCCESS)
    message = models.CharField("说明", max_length=500, blank=True)
    nonce = models.CharField(max_length=32)
    # Unique: a copied row (same content, nonce and MAC) cannot be inserted a second time.
    entry_mac = models.CharField("条目 MAC", max_length=64, unique=True)
    prev_hash = models.CharField("前序 MAC", max_length=64, blank=True)
    hash = models.CharField("链 MAC", max_length=64, blank=True)
    rejected = models.BooleanField("封存时拒绝", default=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = verbose_name_plural = "操作日志"
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            # What the sealer looks for every few seconds: empty, hence cheap, when all is sealed.
            models.Index(
                fields=["id"], condition=models.Q(seq__isnull=True), name="core_auditevent_unsealed"
            ),
        ]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("操作日志只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("操作日志不能删除")

    @property
    def action_label(self) -> str:
        from .audit import action_label

        return action_label(self.action, self.object_type)

    @property
    def object_type_label(self) -> str:
        from .audit import object_type_label

        return object_type_label(self.object_type)


class AuditChainHead(models.Model):
    """The chain's one head row, locked by the sealer only (never inside a request).

    ``chain_id`` names the chain (its genesis link and its checkpoint file); ``checkpoint_*``
    say when the last checkpoint was written outside the database.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    chain_id = models.CharField(max_length=32)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    checkpoint_seq = models.BigIntegerField(default=0)
    checkpoint_at = models.DateTimeField(null=True, blank=True)


class PeriodicJob(models.Model):
    """When each periodic job was last put on the task queue (one row per job)."""

    name = models.CharField("任务", max_length=100, primary_key=True)
    last_enqueued_at = models.DateTimeField("上次入队时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "定时任务"

    def __str__(self) -> str:
        return self.name


class WorkerHeartbeat(models.Model):
    """When each background worker process last finished a round (core/heartbeat.py)."""

    worker = models.CharField("后台任务进程", max_length=100, primary_key=True)  # host:pid
    started_at = models.DateTimeField("启动时间")
    beat_at = models.DateTimeField("最近一次运行", db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "后台任务心跳"

    def __str__(self) -> str:
        return f"{self.worker} {self.beat_at:%Y-%m-%d %H:%M:%S}"


class RateCounter(models.Model):
    """Events counted under one key in one fixed window, shared by all processes (ratelimit.py)."""

    key = models.CharField("键", max_length=200)
    window_start = models.BigIntegerField("窗口起点（Unix 秒）")
    hits = models.PositiveIntegerField("次数", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "频率计数"
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="core_ratecounter_window")
        ]

    def __str__(self) -> str:
        return f"{self.key} @{self.window_start}: {self.hits}"


class ProvisionalDeadline(models.Model):
    """A deadline worked out past the loaded holiday table (weekends only, 暂定), with what it
    was computed from, so that loading the year computes it again (core/deadlines.py)."""

    target = models.CharField("期限字段", max_length=100)  # "app_label.model.field"
    object_id = models.BigIntegerField("对象")
    start = models.DateTimeField("起算时间")
    days = models.PositiveIntegerField("工作日数")
    due_at = models.DateTimeField("暂定期限")
    computed_at = models.DateTimeField("计算时间")

    class Meta:
        verbose_name = verbose_name_plural = "暂定期限"
        constraints = [
            models.UniqueConstraint(fields=["target", "object_id"], name="core_provisional_once")
        ]
        indexes = [models.Index(fields=["computed_at"], name="core_provisional_computed")]

    def __str__(self) -> str:
        return f"{self.target}#{self.object_id} {self.due_at:%Y-%m-%d}"
