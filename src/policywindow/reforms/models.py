"""改革任务督办: a reform task division table (专项) as items, per-locality tasks and reports.

A programme is one imported table. Each item names its responsible departments and a scope;
each (item, responsible department, locality) is one task with a working-day deadline, where
the localities are the bureau's city departments (全省) or the FTZ areas (自贸试验区及协同区).
Departments file progress reports on their tasks; the bureau accepts or returns them, in one
step or through the 督办审核 workflow it draws (``services.reports``, ``review``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from policywindow.system.models import Department
from policywindow.workflow.services.runtime import STEP_LABELS

# Progress reports as a workflow subject (``review.ReportSubject``): the type its rows carry.
SUBJECT_TYPE = "reform_report"
# The workflow's step wording, where it speaks of an enterprise: here the department files.
REVIEW_STEP_LABELS = {
    **STEP_LABELS,
    "review_return_supplement": "审批退回报送部门修改",
    "review_supplement": "审核中退回修改",
}


class Scope(models.TextChoices):
    # The values of the built-in 推广范围 dictionary (system.bootstrap DICT_SPECS).
    PROVINCE = "province", "全省"
    FTZ = "ftz", "自贸试验区及协同区"


class Programme(models.Model):
    title = models.CharField("专项名称", max_length=200, unique=True)
    bureau = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", verbose_name="督办部门"
    )
    issued_on = models.DateField("下达日期")
    province_days = models.PositiveSmallIntegerField("全省推广事项时限（工作日）")
    ftz_days = models.PositiveSmallIntegerField("自贸试验区事项时限（工作日）")
    source_name = models.CharField("来源文件", max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("导入时间", auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = verbose_name_plural = "改革任务专项"

    def __str__(self) -> str:
        return self.title

    def days_for(self, scope: str) -> int:
        return self.province_days if scope == Scope.PROVINCE else self.ftz_days


class ReformItem(models.Model):
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="items")
    number = models.PositiveSmallIntegerField("序号")
    title = models.CharField("借鉴推广事项", max_length=200)
    content = models.TextField("实施内容")
    category = models.CharField("领域", max_length=50)
    category_order = models.PositiveSmallIntegerField("领域顺序")
    scope = models.CharField("推广范围", max_length=10, choices=Scope.choices)
    departments = models.ManyToManyField(
        Department, through="ItemDepartment", related_name="+", verbose_name="负责部门"
    )

    class Meta:
        ordering = ["programme", "number"]
        verbose_name = verbose_name_plural = "改革事项"
        constraints = [
            models.UniqueConstraint(fields=["programme", "number"], name="reform_item_number")
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"


class ItemDepartment(models.Model):
    """A responsible department of an item, in the table's order (大连海关 before 沈阳海关)."""

    item = models.ForeignKey(ReformItem, on_delete=models.CASCADE, related_name="links")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    order = models.PositiveSmallIntegerField("顺序")

    class Meta:
        ordering = ["item", "order"]
        constraints = [
            models.UniqueConstraint(fields=["item", "department"], name="reform_item_department")
        ]


class TaskStatus(models.TextChoices):
    NOT_STARTED = "not_started", "未启动"
    IN_PROGRESS = "in_progress", "推进中"
    REPORTED = "reported", "已报送"
    ACCEPTED = "accepted", "已完成"


# Shown instead of the stored status when the deadline passed before acceptance.
OVERDUE, OVERDUE_LABEL = "overdue", "已超期"
DISPLAY_STATUSES: tuple[tuple[str, str], ...] = (
    (TaskStatus.NOT_STARTED, TaskStatus.NOT_STARTED.label),
    (TaskStatus.IN_PROGRESS, TaskStatus.IN_PROGRESS.label),
    (TaskStatus.REPORTED, TaskStatus.REPORTED.label),
    (TaskStatus.ACCEPTED, TaskStatus.ACCEPTED.label),
    (OVERDUE, OVERDUE_LABEL),
)


class ReformTask(models.Model):
    item = models.ForeignKey(ReformItem, on_delete=models.CASCADE, related_name="tasks")
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", verbose_name="负责部门"
    )
    locality = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", verbose_name="落实地区"
    )
    due_at = models.DateTimeField("办理期限")
    status = models.CharField(
        "状态", max_length=12, choices=TaskStatus.choices, default=TaskStatus.NOT_STARTED
    )
    percent = models.PositiveSmallIntegerField("完成进度（%）", default=0)
    reported_at = models.DateTimeField("最近报送时间", null=True, blank=True)
    accepted_at = models.DateTimeField("完成时间", null=True, blank=True)
    # Stamped by the reminder sweep (services.reminders) so each message goes out once.
    reminded_at = models.DateTimeField("到期提醒时间", null=True, blank=True, editable=False)
    overdue_notified_at = models.DateTimeField(
        "超期提醒时间", null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["item__number", "department__order", "locality__order", "id"]
        verbose_name = verbose_name_plural = "改革任务"
        constraints = [
            models.UniqueConstraint(
                fields=["item", "department", "locality"], name="reform_task_once"
            )
        ]
        indexes = [
            models.Index(fields=["department", "status"], name="reform_task_department"),
            models.Index(fields=["locality", "status"], name="reform_task_locality"),
        ]

    def __str__(self) -> str:
        return f"{self.item.number}. {self.item.title} · {self.department} · {self.locality}"


class ReportKind(models.TextChoices):
    PROGRESS = "progress", "进展报告"
    COMPLETION = "completion", "完成报告"


class ReportStatus(models.TextChoices):
    SUBMITTED = "submitted", "待审核"
    RETURNED = "returned", "已退回"
    ACCEPTED = "accepted", "已采纳"
    # Final: the workflow's review rejected it; the department files a new report.
    REJECTED = "rejected", "未采纳"


class ProgressReport(models.Model):
    task = models.ForeignKey(ReformTask, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField("报告类型", max_length=12, choices=ReportKind.choices)
    status = models.CharField("审核状态", max_length=10, choices=ReportStatus.choices)
    text = models.TextField("进展情况")
    percent = models.PositiveSmallIntegerField("完成进度（%）")
    # [{"name": "惠及企业", "value": "120", "unit": "家"}, …]; values kept as typed decimals.
    figures = models.JSONField("量化指标", default=list, blank=True)
    revision = models.PositiveSmallIntegerField("报送次数", default=1)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField("报送时间")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    review_comment = models.TextField("审核意见", blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = verbose_name_plural = "进展报告"
        indexes = [models.Index(fields=["status", "submitted_at"], name="reform_report_queue")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.task}"


class Evidence(models.Model):
    """A supporting file of a report, kept outside the web root (DESIGN.md §6)."""

    report = models.ForeignKey(ProgressReport, on_delete=models.CASCADE, related_name="evidence")
    revision = models.PositiveSmallIntegerField("随第几次报送")
    file = models.FileField("文件", upload_to="reforms/%Y/%m/")
    original_name = models.CharField("原文件名", max_length=200)
    content_type = models.CharField("文件类型", max_length=100)
    size = models.PositiveIntegerField("大小（字节）")
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        ordering = ["report", "id"]
        verbose_name = verbose_name_plural = "佐证材料"

    def __str__(self) -> str:
        return self.original_name


class ReportEvent(models.Model):
    """One step of a report's history (报送、退回、再次报送、采纳, and each step of its
    workflow review), shown on the report page."""

    class Action(models.TextChoices):
        SUBMIT = "submit", "报送"
        RESUBMIT = "resubmit", "修改后重新报送"
        RETURN = "return", "退回修改"
        ACCEPT = "accept", "审核采纳"
        REVIEW_START = "review_start", REVIEW_STEP_LABELS["review_start"]
        REVIEW_APPROVE = "review_approve", REVIEW_STEP_LABELS["review_approve"]
        REVIEW_REJECT = "review_reject", REVIEW_STEP_LABELS["review_reject"]
        REVIEW_RETURN_PREVIOUS = (
            "review_return_previous",
            REVIEW_STEP_LABELS["review_return_previous"],
        )
        REVIEW_RETURN_SUPPLEMENT = (
            "review_return_supplement",
            REVIEW_STEP_LABELS["review_return_supplement"],
        )
        REVIEW_TRANSFER = "review_transfer", REVIEW_STEP_LABELS["review_transfer"]
        REVIEW_WITHDRAW = "review_withdraw", REVIEW_STEP_LABELS["review_withdraw"]
        REVIEW_APPROVED = "review_approved", REVIEW_STEP_LABELS["review_approved"]
        REVIEW_REJECTED = "review_rejected", REVIEW_STEP_LABELS["review_rejected"]
        REVIEW_SUPPLEMENT = "review_supplement", REVIEW_STEP_LABELS["review_supplement"]

    report = models.ForeignKey(ProgressReport, on_delete=models.CASCADE, related_name="events")
    action = models.CharField("环节", max_length=32, choices=Action.choices)
    # The workflow node a review step was taken on (empty for the department's own steps).
    node = models.CharField("审批节点", max_length=40, blank=True)
    revision = models.PositiveSmallIntegerField("报送次数")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    comment = models.TextField("意见", blank=True)
    occurred_at = models.DateTimeField("时间")

    class Meta:
        ordering = ["report", "occurred_at", "id"]
        verbose_name = verbose_name_plural = "报告办理记录"
