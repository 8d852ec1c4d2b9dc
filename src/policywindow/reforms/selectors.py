"""Every read of 改革任务督办. Data scope is applied here: a department sees the tasks it is
responsible for and the tasks in its locality; the bureau (data scope 全部) sees them all. An
approver the 督办审核 workflow assigned a report to also sees that report (and its evidence)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, CharField, Count, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from policywindow.core.deadlines import DeadlineMark, marks
from policywindow.core.figures import Figure, registry
from policywindow.system.datascope import scope_q
from policywindow.system.models import Department
from policywindow.workflow import selectors as workflow_selectors
from policywindow.workflow import spec as specs
from policywindow.workflow.models import WorkflowInstance, WorkflowTask
from policywindow.workflow.selectors import CaseProgress

from .models import (
    DISPLAY_STATUSES,
    OVERDUE,
    SUBJECT_TYPE,
    Evidence,
    Programme,
    ProgressReport,
    ReformItem,
    ReformTask,
    ReportStatus,
    TaskStatus,
)

STATUS_LABELS = dict(DISPLAY_STATUSES)
# Stacked bars read from done to late: 已完成, 已报送, 推进中, 未启动, 已超期.
CHART_ORDER = (
    TaskStatus.ACCEPTED,
    TaskStatus.REPORTED,
    TaskStatus.IN_PROGRESS,
    TaskStatus.NOT_STARTED,
    OVERDUE,
)
AS_OF = "以统计时（打开页面时）为准；期限为按节假日日历计算的工作日，期限当日 24 时届满。"
# The overview's headline figures, each defined once (shown beside them; tests recount them).
FIGURES: dict[str, Figure] = registry(
    Figure(
        "tasks",
        "分解任务",
        "本专项中数据范围内、符合筛选条件的任务数：每个改革事项按负责部门 × 落实地区分解。",
        AS_OF,
    ),
    Figure(
        "accepted",
        "已完成销号",
        "完成报告已被督办部门采纳的任务数；完成率 = 已完成 ÷ 分解任务（取整数百分比）。",
        AS_OF,
    ),
    Figure(
        "awaiting_review",
        "已报送待审核",
        "已报送进展或完成报告、等待督办部门审核的任务数，含期限已过的任务；"
        "与“进展报告审核”中待审核的报告一一对应。",
        AS_OF,
    ),
    Figure(
        "overdue",
        "已超期未完成",
        "办理期限已届满、仍未完成销号的任务数，含已报送待审核的任务。",
        AS_OF,
    ),
)
CHINESE_NUMERALS = "一二三四五六七八九十"
POINT = re.compile(r"(?<=[。；;])\s*(?=\d{1,2}[.．、]\s*\S)")


# ---------------------------------------------------------------- scope and status


def visible_tasks(user) -> QuerySet[ReformTask]:
    """Tasks of the user's data scope, matched on the responsible department or the locality."""
    by_department = scope_q(user, dept_field="department", owner_field=None)
    by_locality = scope_q(user, dept_field="locality", owner_field=None)
    if not by_department or not by_locality:  # an empty Q is the 全部数据 scope
        return ReformTask.objects.all()
    return ReformTask.objects.filter(by_department | by_locality)


def with_status(tasks: QuerySet[ReformTask], now: dt.datetime | None = None) -> QuerySet:
    """Annotate ``display_status``: 已超期 once the deadline passed before acceptance."""
    now = now or timezone.now()
    return tasks.annotate(
        display_status=Case(
            When(status=TaskStatus.ACCEPTED, then=Value(TaskStatus.ACCEPTED)),
            When(due_at__lte=now, then=Value(OVERDUE)),
            default=F("status"),
            output_field=CharField(),
        )
    )


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def deadline_marks(tasks: list[ReformTask]) -> dict[int, DeadlineMark]:
    """Red / yellow / plain marks for the open tasks of a page (one calendar query)."""
    return marks({t.pk: t.due_at for t in tasks if t.status != TaskStatus.ACCEPTED})


# ---------------------------------------------------------------- programmes and filters


def programmes() -> QuerySet[Programme]:
    return Programme.objects.select_related("bureau")


def programme_or_latest(pk: Any) -> Programme | None:
    chosen = programmes().filter(pk=pk).first() if str(pk or "").isdigit() else None
    return chosen or programmes().first()


@dataclass(frozen=True)
class TaskFilters:
    category: str = ""
    department: int | None = None
    locality: int | None = None
    status: str = ""
    scope: str = ""
    q: str = ""

    def apply(self, tasks: QuerySet) -> QuerySet:
        """``tasks`` must carry ``display_status`` (see ``with_status``)."""
        if self.category:
            tasks = tasks.filter(item__category=self.category)
        if self.department:
            tasks = tasks.filter(department_id=self.department)
        if self.locality:
            tasks = tasks.filter(locality_id=self.locality)
        if self.status:
            tasks = tasks.filter(display_status=self.status)
        if self.scope:
            tasks = tasks.filter(item__scope=self.scope)
        if self.q:
            by_number = Q(item__number=int(self.q)) if self.q.isdigit() else Q(pk__in=[])
            tasks = tasks.filter(by_number | Q(item__title__icontains=self.q))
        return tasks


@dataclass(frozen=True)
class FilterChoices:
    categories: list[str]
    departments: list[Department]
    localities: list[Department]


def filter_choices(user, programme: Programme) -> FilterChoices:
    """What the filter bar offers: only categories and departments the user can see."""
    tasks = visible_tasks(user).filter(item__programme=programme)
    categories = (
        ReformItem.objects.filter(tasks__in=tasks)
        .order_by("category_order")
        .values_list("category", flat=True)
        .distinct()
    )
    return FilterChoices(
        categories=list(dict.fromkeys(categories)),
        departments=list(
            Department.objects.filter(pk__in=tasks.values("department_id")).order_by("order", "id")
        ),
        localities=list(
            Department.objects.filter(pk__in=tasks.values("locality_id")).order_by("order", "id")
        ),
    )


def scoped_tasks(
    user, programme: Programme, filters: TaskFilters, now: dt.datetime | None = None
) -> QuerySet[ReformTask]:
    tasks = with_status(visible_tasks(user).filter(item__programme=programme), now)
    return filters.apply(tasks)


# ---------------------------------------------------------------- the programme view


@dataclass
class Tally:
    """Task counts by display status (which partition the tasks: 已超期 wins over the stored
    status), and the tasks whose report awaits review whatever their deadline
    (``FIGURES["awaiting_review"]``)."""

    counts: Counter = field(default_factory=Counter)
    awaiting_review: int = 0

    def add(self, display_status: str, stored_status: str, n: int) -> None:
        self.counts[display_status] += n
        if stored_status == TaskStatus.REPORTED:
            self.awaiting_review += n

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.counts + other.counts, self.awaiting_review + other.awaiting_review)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def accepted(self) -> int:
        return self.counts[TaskStatus.ACCEPTED]

    @property
    def rate(self) -> int:
        """Completion rate in whole percent."""
        return round(100 * self.accepted / self.total) if self.total else 0

    @property
    def status(self) -> str:
        """One status for a group of tasks: done only when all are, overdue when any is."""
        c = self.counts
        if self.total and c[TaskStatus.ACCEPTED] == self.total:
            return TaskStatus.ACCEPTED
        for status in (OVERDUE, TaskStatus.REPORTED):
            if c[status]:
                return status
        if c[TaskStatus.IN_PROGRESS] or c[TaskStatus.ACCEPTED]:
            return TaskStatus.IN_PROGRESS
        return TaskStatus.NOT_STARTED

    def segments(self) -> list[tuple[str, str, int, float]]:
        """(status, label, count, percent width) for a stacked progress bar."""
        return [
            (
                status,
                STATUS_LABELS[status],
                self.counts[status],
                100 * self.counts[status] / self.total,
            )
            for status in CHART_ORDER
            if self.counts[status]
        ]


@dataclass
class ItemRow:
    item: ReformItem
    departments: list[str]
    tally: Tally


@dataclass
class CategoryBlock:
    order: int
    name: str
    rows: list[ItemRow]

    @property
    def tally(self) -> Tally:
        return sum((row.tally for row in self.rows), Tally())

    @property
    def heading(self) -> str:
        numeral = CHINESE_NUMERALS[self.order - 1] if self.order <= 10 else str(self.order)
        return f"{numeral}、{self.name}"


@dataclass
class GroupRow:
    department: Department
    tally: Tally

    @property
    def name(self) -> str:
        return self.department.short_name or self.department.name


@dataclass
class ProgrammeSummary:
    programme: Programme
    overall: Tally
    categories: list[CategoryBlock]
    by_department: list[GroupRow]
    by_locality: list[GroupRow]

    @property
    def item_count(self) -> int:
        return sum(len(block.rows) for block in self.categories)

    def chart(self) -> dict[str, Any]:
        """ECharts data: a stacked bar per responsible department, best completion on top."""
        rows = sorted(self.by_department, key=lambda r: (r.tally.rate, r.tally.total))
        return {
            "departments": [r.name for r in rows],
            "rates": [r.tally.rate for r in rows],
            "series": [
                {
                    "status": status,
                    "name": STATUS_LABELS[status],
                    "data": [r.tally.counts[status] for r in rows],
                }
                for status in CHART_ORDER
            ],
        }


def programme_summary(
    user, programme: Programme, filters: TaskFilters, now: dt.datetime | None = None
) -> ProgrammeSummary:
    """Counts by item, department and locality over the tasks the user sees and filtered."""
    tasks = scoped_tasks(user, programme, filters, now)
    by_item: dict[int, Tally] = defaultdict(Tally)
    by_department: dict[int, Tally] = defaultdict(Tally)
    by_locality: dict[int, Tally] = defaultdict(Tally)
    overall = Tally()
    rows = (
        tasks.order_by()
        .values("item_id", "department_id", "locality_id", "display_status", "status")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counted = (row["display_status"], row["status"], row["n"])
        by_item[row["item_id"]].add(*counted)
        by_department[row["department_id"]].add(*counted)
        by_locality[row["locality_id"]].add(*counted)
        overall.add(*counted)
    return ProgrammeSummary(
        programme=programme,
        overall=overall,
        categories=_category_blocks(by_item),
        by_department=_group_rows(by_department),
        by_locality=_group_rows(by_locality),
    )


def _category_blocks(by_item: dict[int, Tally]) -> list[CategoryBlock]:
    items = (
        ReformItem.objects.filter(pk__in=by_item)
        .prefetch_related("links__department")
        .order_by("category_order", "number")
    )
    blocks: dict[int, CategoryBlock] = {}
    for item in items:
        block = blocks.setdefault(
            item.category_order, CategoryBlock(item.category_order, item.category, [])
        )
        names = [link.department.name for link in item.links.all()]
        block.rows.append(ItemRow(item, names, by_item[item.pk]))
    return list(blocks.values())


def _group_rows(tallies: dict[int, Tally]) -> list[GroupRow]:
    departments = Department.objects.filter(pk__in=tallies).order_by("order", "id")
    return [GroupRow(d, tallies[d.pk]) for d in departments]


# ---------------------------------------------------------------- items, tasks, reports


def visible_item(user, pk: int) -> ReformItem:
    item = (
        ReformItem.objects.filter(pk=pk, tasks__in=visible_tasks(user))
        .select_related("programme")
        .prefetch_related("links__department")
        .distinct()
        .first()
    )
    if item is None:
        raise Http404("改革事项不存在或不在您的数据范围内")
    return item


def item_tasks(user, item: ReformItem) -> list[ReformTask]:
    return list(
        with_status(visible_tasks(user).filter(item=item)).select_related("department", "locality")
    )


def task_list(user, programme: Programme, filters: TaskFilters) -> QuerySet[ReformTask]:
    return (
        scoped_tasks(user, programme, filters)
        .select_related("item", "department", "locality")
        .order_by("item__number", "department__order", "locality__order", "pk")
    )


def visible_task(user, pk: int) -> ReformTask:
    task = (
        with_status(visible_tasks(user).filter(pk=pk))
        .select_related("item__programme", "department", "locality")
        .first()
    )
    if task is None:
        raise Http404("改革任务不存在或不在您的数据范围内")
    return task


def reports_of(task: ReformTask) -> list[ProgressReport]:
    return list(task.reports.select_related("submitted_by", "reviewed_by"))


def open_report(task: ReformTask) -> ProgressReport | None:
    return task.reports.filter(status__in=(ReportStatus.SUBMITTED, ReportStatus.RETURNED)).first()


def visible_reports(user) -> QuerySet[ProgressReport]:
    """Reports on the tasks of the user's data scope, and those the user has (or had) a
    workflow task on: an approver drawn from outside the scope still reads what he decides."""
    assigned = WorkflowTask.objects.filter(
        subject_type=SUBJECT_TYPE, subject_id=OuterRef("pk"), assignee=user
    )
    return ProgressReport.objects.filter(Q(task__in=visible_tasks(user)) | Q(Exists(assigned)))


def visible_report(user, pk: int) -> ProgressReport:
    report = (
        visible_reports(user)
        .filter(pk=pk)
        .select_related(
            "task__item__programme",
            "task__department",
            "task__locality",
            "submitted_by",
            "reviewed_by",
        )
        .first()
    )
    if report is None:
        raise Http404("进展报告不存在或不在您的数据范围内")
    return report


def workflow_reviewed(report_pk: int) -> bool:
    """Whether the report is reviewed through the 督办审核 workflow (it started one when filed)."""
    return WorkflowInstance.objects.filter(subject_type=SUBJECT_TYPE, subject_id=report_pk).exists()


@dataclass(frozen=True)
class OpenTask:
    """One of the user's open tasks on a report, with what its decision form offers."""

    task: WorkflowTask
    first_level: bool  # 退回上一级 has nowhere to go
    on_reject: str  # what 驳回 does on its node (``spec.ON_REJECT``)


@dataclass(frozen=True)
class ReportReview:
    """A workflow-reviewed report's review as its page shows it."""

    progress: CaseProgress
    open_tasks: list[OpenTask]


def report_review(user, report: ProgressReport) -> ReportReview | None:
    """The report's workflow — diagram, levels, nodes, approvers — and the user's open tasks on
    it; None for a report reviewed in one step."""
    instance = workflow_selectors.instance_of(SUBJECT_TYPE, report.pk)
    if instance is None:
        return None
    progress = workflow_selectors.case_progress(user, instance, report)
    spec = specs.parse(instance.workflow.spec)
    first = progress.first_level
    return ReportReview(
        progress,
        [
            OpenTask(task, first is None or task.level <= first, spec.node(task.node_key).on_reject)
            for task in progress.my_open
        ],
    )


def report_history(report: ProgressReport) -> list:
    return list(report.events.select_related("actor"))


def report_evidence(report: ProgressReport) -> list[Evidence]:
    return list(report.evidence.all())


def visible_evidence(user, pk: int) -> Evidence:
    evidence = Evidence.objects.filter(pk=pk, report__in=visible_reports(user)).first()
    if evidence is None:
        raise Http404("佐证材料不存在或不在您的数据范围内")
    return evidence


def review_queue(user, status: str) -> QuerySet[ProgressReport]:
    """Reports the user sees by review status, the longest waiting first."""
    reports = visible_reports(user)
    if status:
        reports = reports.filter(status=status)
    return reports.select_related(
        "task__item", "task__department", "task__locality", "submitted_by"
    ).order_by("submitted_at", "pk")


# ---------------------------------------------------------------- presentation helpers


def content_points(content: str) -> list[str]:
    """Implementation content as lines: its own line breaks, and "1. … 2. …" split apart."""
    lines = []
    for line in content.splitlines():
        lines.extend(part.strip() for part in POINT.split(line) if part.strip())
    return lines


def figures_text(figures: list[dict[str, Any]]) -> str:
    """ "惠及企业 120 家；办件量 35 件" for lists and exports."""
    return "；".join(f"{f['name']} {f['value']}{f.get('unit', '')}" for f in figures)
