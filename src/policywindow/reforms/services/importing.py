"""Importing a task division table: items, their departments and the per-locality tasks.

One transaction: either the whole table lands or nothing does. Items are matched by
programme + number + title, tasks by (item, responsible department, locality), so importing
the same file again changes nothing, and importing it after a city was added only adds that
city's tasks. A preview is the same import rolled back, so it reports exactly what would
happen — deadlines, new departments and all.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.urls import reverse

from policywindow.core import audit, clock, provisional
from policywindow.core.calendar import SHANGHAI, Deadline
from policywindow.core.errors import ValidationFailed
from policywindow.notifications.services import notify
from policywindow.system.models import Department, Status, User
from policywindow.system.selectors import users_with_permission
from policywindow.system.services.departments import save_department

from .. import table
from ..models import ItemDepartment, Programme, ReformItem, ReformTask, Scope
from ..table import LineProblem, ParsedItem, ParsedTable, TableRejected

MAX_DAYS = 500
REPORT_PERMISSION = "reform:task:report"
# The three areas of the China (Liaoning) Pilot Free Trade Zone, created under the bureau when
# the system has no 自贸片区 departments yet: (code, name, short name, region code).
FTZ_AREAS = (
    ("FTZ-SY", "中国（辽宁）自由贸易试验区沈阳片区", "沈阳片区", "210100"),
    ("FTZ-DL", "中国（辽宁）自由贸易试验区大连片区", "大连片区", "210200"),
    ("FTZ-YK", "中国（辽宁）自由贸易试验区营口片区", "营口片区", "210800"),
)


@dataclass(frozen=True)
class ImportOptions:
    """What a new programme needs; an existing programme keeps its own."""

    bureau: Department
    issued_on: dt.date
    province_days: int
    ftz_days: int
    title: str = ""


@dataclass
class ImportReport:
    title: str
    source_name: str
    programme_id: int | None = None
    programme_created: bool = False
    issued_on: dt.date | None = None
    due: dict[str, dt.date] = field(default_factory=dict)  # scope label -> last working day
    # Scope labels whose deadline lies past the loaded holiday table (暂定, core/calendar.py).
    provisional: list[str] = field(default_factory=list)
    categories: list[tuple[str, int]] = field(default_factory=list)
    scopes: list[tuple[str, int]] = field(default_factory=list)
    items_total: int = 0
    items_created: list[int] = field(default_factory=list)
    items_updated: list[int] = field(default_factory=list)
    tasks_created: int = 0
    tasks_total: int = 0
    tasks_kept: int = 0  # tasks no longer named by the table; kept with their history
    departments_created: list[str] = field(default_factory=list)
    localities: dict[str, list[str]] = field(default_factory=dict)  # scope label -> names
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(
            self.programme_created
            or self.items_created
            or self.items_updated
            or self.tasks_created
            or self.departments_created
        )

    def lines(self) -> list[str]:
        """The report in words, for the command line."""
        head = "预览（未写入）" if self.dry_run else "导入完成"
        lines = [
            f"{head}：《{self.title}》（{self.source_name}，用时 {self.seconds:.2f} 秒）",
            f"事项 {self.items_total} 项，分 {len(self.categories)} 个领域："
            + "、".join(f"{name} {n} 项" for name, n in self.categories),
            "推广范围：" + "、".join(f"{label} {n} 项" for label, n in self.scopes),
            f"新增事项 {len(self.items_created)} 项，更新 {len(self.items_updated)} 项，"
            f"未变 {self.items_total - len(self.items_created) - len(self.items_updated)} 项",
            f"新下达任务 {self.tasks_created} 个，专项共有任务 {self.tasks_total} 个",
        ]
        lines += [
            f"{label}落实地区：{'、'.join(names)}" for label, names in self.localities.items()
        ]
        lines += [
            f"{label}事项办理期限：{day}"
            + (
                "（暂定：该年度节假日安排尚未导入，按周末推算）"
                if label in self.provisional
                else ""
            )
            for label, day in self.due.items()
        ]
        if self.departments_created:
            lines.append("新建部门：" + "、".join(self.departments_created))
        if self.tasks_kept:
            lines.append(f"表中已不再列出、保留原记录的任务 {self.tasks_kept} 个")
        if not self.changed:
            lines.append("与已导入的内容完全一致，没有任何变化")
        return lines


def import_table(
    actor: User,
    data: bytes,
    *,
    source_name: str,
    options: ImportOptions,
    dry_run: bool = False,
) -> ImportReport:
    """Import (or, with ``dry_run``, preview) a table; ``TableRejected`` lists bad lines."""
    started = time.monotonic()
    parsed = table.parse_table(table.decode(data))
    title = options.title.strip() or parsed.title
    if not title:
        message = "文件中没有标题行，请填写专项名称"
        raise ValidationFailed(message, details={"title": [message]})
    report = ImportReport(title=title, source_name=source_name, dry_run=dry_run)
    with transaction.atomic():
        _Importer(actor, parsed, report, options).run()
        if dry_run:
            transaction.set_rollback(True)
    report.seconds = time.monotonic() - started
    return report


class _Importer:
    def __init__(
        self, actor: User, parsed: ParsedTable, report: ImportReport, options: ImportOptions
    ):
        self.actor, self.parsed, self.report, self.options = actor, parsed, report, options
        self.problems: list[LineProblem] = []

    def run(self) -> None:
        programme = self._programme()
        departments = self._departments()
        localities = self._localities(programme)
        dues = self._deadlines(programme)
        self._check_problems()
        items = self._items(programme, departments)
        self._check_problems()
        new_tasks = self._tasks(items, departments, localities, dues)
        self._summarise(programme, dues, localities)
        if self.report.changed:
            self._record(programme)
            _notify_departments(programme, new_tasks)

    def _check_problems(self) -> None:
        if self.problems:
            raise TableRejected(sorted(self.problems, key=lambda p: p.line))

    # -------------------------------------------------------------- programme

    def _programme(self) -> Programme:
        existing = Programme.objects.select_for_update().filter(title=self.report.title).first()
        if existing is not None:
            return existing
        _check_options(self.options)
        programme = Programme.objects.create(
            title=self.report.title,
            bureau=self.options.bureau,
            issued_on=self.options.issued_on,
            province_days=self.options.province_days,
            ftz_days=self.options.ftz_days,
            source_name=self.report.source_name[:200],
            created_by=self.actor,
        )
        self.report.programme_created = True
        return programme

    # -------------------------------------------------------------- departments

    def _departments(self) -> dict[str, Department]:
        """Each department name of the table as a Department; missing ones are created."""
        first_line: dict[str, int] = {}
        for item in self.parsed.items:
            for name in item.departments:
                first_line.setdefault(name, item.line)
        found: dict[str, Department] = {}
        for name, line in first_line.items():
            department = self._department(name, line)
            if department is not None:
                found[name] = department
        return found

    def _department(self, name: str, line: int) -> Department | None:
        matches = list(Department.objects.filter(name=name))
        enabled = [d for d in matches if d.status == Status.ENABLED]
        if len(enabled) > 1:
            self.problems.append(
                LineProblem(line, f"负责部门“{name}”对应多个同名部门，请先在部门管理中区分名称")
            )
            return None
        if enabled:
            return enabled[0]
        if matches:
            self.problems.append(LineProblem(line, f"负责部门“{name}”已停用，请先在部门管理中启用"))
            return None
        self.report.departments_created.append(name)
        return save_department(
            self.actor,
            Department(),
            name=name,
            code=_free_code(),
            kind=Department.Kind.PROVINCE if name.startswith("省") else Department.Kind.OTHER,
            order=900,
        )

    def _localities(self, programme: Programme) -> dict[str, list[Department]]:
        scopes = {item.scope for item in self.parsed.items}
        localities: dict[str, list[Department]] = {}
        if Scope.PROVINCE in scopes:
            localities[Scope.PROVINCE] = list(cities_of(programme.bureau))
            if not localities[Scope.PROVINCE]:
                self.problems.append(
                    LineProblem(
                        0,
                        f"督办部门“{programme.bureau.name}”下没有启用的市级部门，"
                        "无法把全省推广事项分解到各市，请先在部门管理中建立各市营商局",
                    )
                )
        if Scope.FTZ in scopes:
            localities[Scope.FTZ] = list(ftz_areas()) or self._create_ftz_areas(programme)
        return localities

    def _create_ftz_areas(self, programme: Programme) -> list[Department]:
        areas = []
        for order, (code, name, short_name, region) in enumerate(FTZ_AREAS, start=1):
            areas.append(
                save_department(
                    self.actor,
                    Department(),
                    name=name,
                    short_name=short_name,
                    code=code,
                    kind=Department.Kind.AREA,
                    region_code=region,
                    parent=programme.bureau,
                    order=800 + order,
                )
            )
            self.report.departments_created.append(name)
        return areas

    def _deadlines(self, programme: Programme) -> dict[str, Deadline]:
        start = dt.datetime.combine(programme.issued_on, dt.time(12), tzinfo=SHANGHAI)
        scopes = {item.scope for item in self.parsed.items}
        return {
            scope: clock.start(start, programme.days_for(scope))
            for scope in Scope.values
            if scope in scopes
        }

    # -------------------------------------------------------------- items and tasks

    def _items(
        self, programme: Programme, departments: dict[str, Department]
    ) -> list[tuple[ParsedItem, ReformItem]]:
        existing = {item.number: item for item in programme.items.prefetch_related("links")}
        result = []
        for parsed in self.parsed.items:
            item = existing.get(parsed.number)
            if item is not None and item.title != parsed.title:
                self.problems.append(
                    LineProblem(
                        parsed.line,
                        f"序号 {parsed.number} 已导入为“{item.title}”，与本行事项名称"
                        f"“{parsed.title}”不同；事项按序号和名称对应，请核对序号",
                    )
                )
                continue
            ids = [departments[name].pk for name in parsed.departments]
            if item is None:
                item = self._create_item(programme, parsed, ids)
            elif _differs(item, parsed, ids):
                self._update_item(item, parsed, ids)
            result.append((parsed, item))
        return result

    def _create_item(self, programme: Programme, parsed: ParsedItem, ids: list[int]) -> ReformItem:
        item = ReformItem.objects.create(programme=programme, **_item_fields(parsed))
        _link(item, ids)
        self.report.items_created.append(parsed.number)
        return item

    def _update_item(self, item: ReformItem, parsed: ParsedItem, ids: list[int]) -> None:
        for name, value in _item_fields(parsed).items():
            setattr(item, name, value)
        item.save()
        item.links.all().delete()
        _link(item, ids)
        self.report.items_updated.append(parsed.number)

    def _tasks(
        self,
        items: list[tuple[ParsedItem, ReformItem]],
        departments: dict[str, Department],
        localities: dict[str, list[Department]],
        dues: dict[str, Deadline],
    ) -> list[ReformTask]:
        have = set(
            ReformTask.objects.filter(item__in=[item for _, item in items]).values_list(
                "item_id", "department_id", "locality_id"
            )
        )
        wanted: list[tuple[ReformTask, Deadline]] = []
        for parsed, item in items:
            for name in parsed.departments:
                for locality in localities[parsed.scope]:
                    key = (item.pk, departments[name].pk, locality.pk)
                    if key in have:
                        have.discard(key)
                        continue
                    due = dues[parsed.scope]
                    task = ReformTask(
                        item=item,
                        department=departments[name],
                        locality=locality,
                        due_at=due.due_at,
                    )
                    wanted.append((task, due))
        self.report.tasks_kept = len(have)
        self.report.tasks_created = len(wanted)
        ReformTask.objects.bulk_create([task for task, _ in wanted])
        provisional.remember("due_at", wanted)
        return [task for task, _ in wanted]

    # -------------------------------------------------------------- report, audit, notices

    def _summarise(
        self,
        programme: Programme,
        dues: dict[str, Deadline],
        localities: dict[str, list[Department]],
    ) -> None:
        report, items = self.report, self.parsed.items
        report.programme_id, report.issued_on = programme.pk, programme.issued_on
        labels = dict(Scope.choices)
        report.due = {labels[s]: due.last_day for s, due in dues.items()}
        report.provisional = [labels[s] for s, due in dues.items() if due.provisional]
        report.categories = list(Counter(i.category for i in items).items())
        report.scopes = [(labels[s], n) for s, n in Counter(i.scope for i in items).items()]
        report.items_total = len(items)
        report.tasks_total = ReformTask.objects.filter(item__programme=programme).count()
        report.localities = {
            labels[scope]: [d.short_name or d.name for d in departments]
            for scope, departments in localities.items()
        }

    def _record(self, programme: Programme) -> None:
        report = self.report
        audit.record(
            "reform.import",
            actor=self.actor,
            target=programme,
            after={
                "source": report.source_name,
                "items_created": report.items_created,
                "items_updated": report.items_updated,
                "tasks_created": report.tasks_created,
                "departments_created": report.departments_created,
            },
        )


def cities_of(bureau: Department):
    """The bureau's enabled city departments (沈阳市营商局 …): the localities of 全省 items."""
    return Department.objects.filter(
        parent=bureau, kind=Department.Kind.CITY, status=Status.ENABLED
    ).order_by("order", "id")


def ftz_areas():
    """The enabled FTZ area departments: the localities of 自贸试验区及协同区 items."""
    return Department.objects.filter(kind=Department.Kind.AREA, status=Status.ENABLED).order_by(
        "order", "id"
    )


def _check_options(options: ImportOptions) -> None:
    errors = {}
    for name, label in (("province_days", "全省推广事项时限"), ("ftz_days", "自贸试验区事项时限")):
        value = getattr(options, name)
        if not 1 <= value <= MAX_DAYS:
            errors[name] = [f"{label}应为 1–{MAX_DAYS} 个工作日"]
    if errors:
        raise ValidationFailed("办理时限有误", details=errors)


def _free_code() -> str:
    taken = set(
        Department.objects.filter(code__startswith="REFORM-").values_list("code", flat=True)
    )
    n = 1
    while f"REFORM-{n:03d}" in taken:
        n += 1
    return f"REFORM-{n:03d}"


def _item_fields(parsed: ParsedItem) -> dict[str, object]:
    return {
        "number": parsed.number,
        "title": parsed.title,
        "content": parsed.content,
        "category": parsed.category,
        "category_order": parsed.category_order,
        "scope": parsed.scope,
    }


def _differs(item: ReformItem, parsed: ParsedItem, ids: list[int]) -> bool:
    fields = _item_fields(parsed)
    current = [link.department_id for link in item.links.all()]
    return current != ids or any(getattr(item, k) != v for k, v in fields.items())


def _link(item: ReformItem, ids: list[int]) -> None:
    ItemDepartment.objects.bulk_create(
        ItemDepartment(item=item, department_id=pk, order=order) for order, pk in enumerate(ids)
    )


def _notify_departments(programme: Programme, tasks: list[ReformTask]) -> None:
    """One inbox message per department that got new tasks, to its people who report."""
    counts: Counter[int] = Counter()
    for task in tasks:
        counts[task.department_id] += 1
        if task.locality_id != task.department_id:
            counts[task.locality_id] += 1
    if not counts:
        return
    batch = min(task.pk for task in tasks)
    for department_id, n in sorted(counts.items()):
        notify(
            users_with_permission(REPORT_PERMISSION, department_id=department_id),
            kind="task_assigned",
            subject=f"改革任务下达：《{programme.title}》涉及本部门 {n} 项任务",
            body="请在“改革任务督办 · 任务进展填报”中查看任务并按期报送进展。",
            link=f"{reverse('reforms:task_list')}?programme={programme.pk}",
            dedupe_key=f"reform-tasks:{programme.pk}:{batch}:{department_id}",
        )
