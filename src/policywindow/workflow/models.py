"""Workflow definitions per rule (versioned) and the runtime rows of each case."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .subjects import APPLICATION


class WorkflowDefinition(models.Model):
    """One version of a workflow. Published versions are frozen; cases keep theirs.

    A workflow belongs to a rule (the applications of that rule run it) or, for subjects that
    have no rule (``subjects``), to its subject type alone: one workflow per type.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        PUBLISHED = "published", "已发布"
        RETIRED = "retired", "已停用"

    subject_type = models.CharField("审批对象类型", max_length=20, default=APPLICATION)
    rule = models.ForeignKey(
        "policies.Rule", null=True, blank=True, on_delete=models.PROTECT, related_name="workflows"
    )
    version = models.PositiveIntegerField("版本号")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    spec = models.JSONField("流程定义", default=dict)
    note = models.CharField("版本说明", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField("发布时间", null=True, blank=True)

    class Meta:
        ordering = ["rule", "-version"]
        verbose_name = verbose_name_plural = "审批工作流"
        constraints = [
            models.UniqueConstraint(fields=["rule", "version"], name="workflow_rule_version"),
            models.UniqueConstraint(
                fields=["rule"], condition=Q(status="draft"), name="workflow_one_draft"
            ),
            models.UniqueConstraint(
                fields=["rule"], condition=Q(status="published"), name="workflow_one_published"
            ),
            # A subject type's own workflow (no rule): the same three rules per type.
            models.UniqueConstraint(
                fields=["subject_type", "version"],
                condition=Q(rule__isnull=True),
                name="workflow_type_version",
            ),
            models.UniqueConstraint(
                fields=["subject_type"],
                condition=Q(rule__isnull=True, status="draft"),
                name="workflow_type_one_draft",
            ),
            models.UniqueConstraint(
                fields=["subject_type"],
                condition=Q(rule__isnull=True, status="published"),
                name="workflow_type_one_published",
            ),
            models.CheckConstraint(
                condition=Q(rule__isnull=False) | ~Q(subject_type=APPLICATION),
                name="workflow_application_has_rule",
            ),
        ]

    def __str__(self) -> str:
        owner = self.rule.code if self.rule_id else self.subject_type
        return f"{owner} 工作流 v{self.version}"


class InstanceStatus(models.TextChoices):
    RUNNING = "running", "审核中"
    SUPPLEMENT = "supplement", "待企业补正"
    APPROVED = "approved", "审核通过"
    REJECTED = "rejected", "审核不通过"
    WITHDRAWN = "withdrawn", "已撤销"


# An application's case links its application (the subject id), any other subject's none.
APPLICATION_LINK = Q(subject_type=APPLICATION, subject_id=F("application")) | (
    ~Q(subject_type=APPLICATION) & Q(application__isnull=True)
)


class WorkflowInstance(models.Model):
    """One running workflow per case (a subject: ``subject_type`` and ``subject_id``, see
    ``subjects``); ``state`` is the engine's state, the source of truth.

    ``application`` repeats ``subject_id`` for cases that are applications: the to-do lists,
    the case page and the board join through it (a foreign key keeps their plans); other
    subjects leave it empty.

    ``definition`` holds the engine definition as prepared when the case started (candidates
    resolved, conditions evaluated). Every decision locks this row and bumps ``version``.
    """

    subject_type = models.CharField("审批对象类型", max_length=20, default=APPLICATION)
    subject_id = models.PositiveBigIntegerField("审批对象编号")
    application = models.OneToOneField(
        "applications.Application",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="workflow",
    )
    workflow = models.ForeignKey(
        WorkflowDefinition, on_delete=models.PROTECT, related_name="instances"
    )
    definition = models.JSONField("运行定义")
    notes = models.JSONField("节点说明", default=dict, blank=True)
    state = models.JSONField("流程状态")
    status = models.CharField(
        "状态", max_length=12, choices=InstanceStatus.choices, default=InstanceStatus.RUNNING
    )
    current_level = models.PositiveSmallIntegerField("当前层级", null=True, blank=True)
    started_at = models.DateTimeField("启动时间")
    finished_at = models.DateTimeField("办结时间", null=True, blank=True)
    # 补正 stops the clock: working days left when it paused, restored on resubmission.
    paused_at = models.DateTimeField("暂停时间", null=True, blank=True)
    remaining_days = models.PositiveSmallIntegerField("剩余工作日", null=True, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = verbose_name_plural = "流程实例"
        constraints = [
            models.UniqueConstraint(fields=["subject_type", "subject_id"], name="workflow_subject"),
            models.CheckConstraint(condition=APPLICATION_LINK, name="workflow_instance_link"),
        ]

    def __str__(self) -> str:
        return f"{self.subject_type} #{self.subject_id} 流程"


class TaskStatus(models.TextChoices):
    OPEN = "open", "待办"
    APPROVED = "approved", "通过"
    REJECTED = "rejected", "驳回"
    RETURNED = "returned", "退回"
    CANCELLED = "cancelled", "已取消"
    WITHDRAWN = "withdrawn", "已撤回"
    TRANSFERRED = "transferred", "已转办"


# What 我的已办 lists: the tasks a person acted on (not the open or cancelled ones).
DONE_STATUSES = (
    TaskStatus.APPROVED,
    TaskStatus.REJECTED,
    TaskStatus.RETURNED,
    TaskStatus.TRANSFERRED,
    TaskStatus.WITHDRAWN,
)


class WorkflowTask(models.Model):
    """A person's task on one node of one case: the to-do lists are queries over these rows."""

    instance = models.ForeignKey(WorkflowInstance, on_delete=models.CASCADE, related_name="tasks")
    # The instance's subject, repeated so that lists label a task without joining its instance.
    subject_type = models.CharField("审批对象类型", max_length=20, default=APPLICATION)
    subject_id = models.PositiveBigIntegerField("审批对象编号")
    application = models.ForeignKey(
        "applications.Application",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    key = models.CharField("任务标识", max_length=120)
    node_key = models.CharField("节点标识", max_length=32)
    node_name = models.CharField("节点", max_length=40)
    level = models.PositiveSmallIntegerField("层级")
    round = models.PositiveSmallIntegerField("轮次")
    mode = models.CharField("审批方式", max_length=10)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="workflow_tasks"
    )
    department = models.ForeignKey(
        "system.Department",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="办理部门",
    )
    status = models.CharField(
        "状态", max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    opened_at = models.DateTimeField("到达时间")
    due_at = models.DateTimeField("办理期限")
    decided_at = models.DateTimeField("办理时间", null=True, blank=True)
    opinion = models.TextField("审批意见", blank=True)
    reason = models.CharField("说明", max_length=300, blank=True)
    approved_amount = models.DecimalField(
        "核定金额（元）", max_digits=16, decimal_places=2, null=True, blank=True
    )
    amount_reason = models.CharField("核减理由", max_length=300, blank=True)
    reminded_at = models.DateTimeField("提醒时间", null=True, blank=True)
    overdue_at = models.DateTimeField("超期标记时间", null=True, blank=True)
    escalated_at = models.DateTimeField("上报时间", null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = verbose_name_plural = "审批任务"
        constraints = [
            models.UniqueConstraint(fields=["instance", "key"], name="workflow_task_key"),
            models.CheckConstraint(condition=APPLICATION_LINK, name="workflow_task_link"),
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="task_todo"),
            # Serves 我的已办 in its order, newest first (bench: 0.1 ms instead of 9 ms a page).
            models.Index(
                fields=["assignee", "-decided_at", "-id"],
                name="task_done",
                condition=Q(status__in=[str(status) for status in DONE_STATUSES]),
            ),
            models.Index(fields=["department", "status", "due_at"], name="task_dept_queue"),
            models.Index(fields=["status", "due_at"], name="task_sweep"),
        ]

    def __str__(self) -> str:
        return f"{self.subject_type} #{self.subject_id} {self.node_name} {self.assignee}"


class TaskAttachment(models.Model):
    """A file an approver attached to a decision (checked like every upload)."""

    task = models.ForeignKey(WorkflowTask, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField("文件", upload_to="opinions/%Y/%m/")
    original_name = models.CharField("原文件名", max_length=200)
    content_type = models.CharField("文件类型", max_length=100)
    size = models.PositiveIntegerField("大小（字节）")
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "审批附件"

    def __str__(self) -> str:
        return self.original_name
