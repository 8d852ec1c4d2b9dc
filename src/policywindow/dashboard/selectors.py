"""Reads of the 数据看板: applications counted by status, rule, department, city and month,
amounts against the budgets, the 一周办结 figures per department and the oldest open cases.

The counts come from the rollups (``rollups.py``: maintained by the database as cases change,
exact at every moment) in one statement, summed here into the tables — the figures as
``figures.FIGURES`` defines them, over the applications filed (submitted) in the period and in
the user's data scope (``system.datascope``: a department sees its own cases, the bureau all of
them), months cut at Asia/Shanghai. Budgets and the oldest open cases are read directly. The
page therefore costs the same few queries however many applications there are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.selectors import deadline_marks
from policywindow.core.deadlines import DeadlineMark, last_day
from policywindow.core.money import percent_of
from policywindow.enterprises.models import Region
from policywindow.finance.models import Budget
from policywindow.policies.models import Rule
from policywindow.system.datascope import scope_q
from policywindow.system.models import Department
from policywindow.workflow.models import WorkflowInstance
from policywindow.workflow.selectors import Period, TimelinessRow

from . import rollups
from .models import Kind

ZERO = Decimal("0")
OLDEST_OPEN = 10
EMPTY_LABEL = "未设置"


@dataclass(frozen=True)
class Stage:
    """A group of statuses the charts stack (disjoint; together every filed status)."""

    key: str
    label: str
    statuses: tuple[str, ...]


STAGES: tuple[Stage, ...] = (
    Stage("intake", "受理中", (S.SUBMITTED, S.SUPPLEMENT_REQUIRED)),
    Stage("review", "审核中", (S.IN_REVIEW,)),
    Stage(
        "passed",
        "已通过待拨付",
        (S.APPROVED, S.IN_PUBLICITY, S.PUBLICITY_PASSED, S.OBJECTION, S.IN_FINANCE),
    ),
    Stage("paid", "已拨付", (S.DISBURSED, S.ARCHIVED)),
    Stage("closed", "未通过或终止", (S.REJECTED, S.NOT_ACCEPTED, S.WITHDRAWN)),
)
STAGE_OF = {status: stage.key for stage in STAGES for status in stage.statuses}
PAID = (S.DISBURSED, S.ARCHIVED)
APPROVED = (*STAGES[2].statuses, *PAID)
# Cases the government still holds (a case waiting for the enterprise's 补正 is the
# enterprise's: its clock is stopped).
OPEN = (S.SUBMITTED, S.IN_REVIEW, *STAGES[2].statuses)


# --------------------------------------------------------------------------- rows
@dataclass(frozen=True)
class Tally:
    """One row of a table: applications per stage and the amounts approved and paid."""

    key: Any
    label: str
    total: int
    stages: dict[str, int]
    approved_amount: Decimal
    paid_amount: Decimal

    @property
    def approved(self) -> int:
        return self.stages["passed"] + self.stages["paid"]

    @property
    def decided(self) -> int:
        return self.approved + self.stages["closed"]

    @property
    def approval_rate(self) -> float | None:
        """Approved among the cases that reached an end or a pass (in %, one place)."""
        return round(self.approved * 100 / self.decided, 1) if self.decided else None

    @property
    def stage_list(self) -> list[int]:
        return [self.stages[stage.key] for stage in STAGES]


class _Sums:
    """The stages and amounts of one table row, summed from rollup counts."""

    def __init__(self) -> None:
        self.stages = {stage.key: 0 for stage in STAGES}
        self.approved = ZERO
        self.paid = ZERO

    def add(self, count: rollups.Count) -> None:
        self.stages[STAGE_OF[count.status]] += count.cases
        if count.status in APPROVED:
            self.approved += count.amount
        if count.status in PAID:
            self.paid += count.amount

    def tally(self, key: Any, label: str) -> Tally:
        return Tally(
            key=key,
            label=label or EMPTY_LABEL,
            total=sum(self.stages.values()),
            stages=self.stages,
            approved_amount=self.approved,
            paid_amount=self.paid,
        )


def total_of(rows: Iterable[Tally], label: str = "合计") -> Tally:
    rows = list(rows)
    return Tally(
        key=None,
        label=label,
        total=sum(row.total for row in rows),
        stages={stage.key: sum(row.stages[stage.key] for row in rows) for stage in STAGES},
        approved_amount=sum((row.approved_amount for row in rows), ZERO),
        paid_amount=sum((row.paid_amount for row in rows), ZERO),
    )


@dataclass(frozen=True)
class StatusRow:
    status: str
    label: str
    stage: str
    count: int
    approved_amount: Decimal


@dataclass(frozen=True)
class BudgetRow:
    budget: Budget

    @property
    def label(self) -> str:
        rule = self.budget.rule
        title = rule.current.title if rule.current_id else ""
        return f"{title or rule.code}（{self.budget.year}）"

    @property
    def committed_percent(self) -> Decimal:
        return percent_of(self.budget.committed, self.budget.total) or ZERO

    @property
    def disbursed_percent(self) -> Decimal:
        return percent_of(self.budget.disbursed, self.budget.total) or ZERO

    @property
    def pending_percent(self) -> Decimal:
        """Committed but not yet paid, in % of the total (the bar's second segment)."""
        return self.committed_percent - self.disbursed_percent


@dataclass(frozen=True)
class OpenCase:
    application: Application
    days_open: int
    due_on: dt.date | None
    mark: DeadlineMark | None
    has_workflow: bool

    @property
    def stage(self) -> str:
        return STAGE_OF[self.application.status]


@dataclass
class Board:
    period: Period
    scope_label: str
    by_status: list[StatusRow]
    by_rule: list[Tally]
    by_department: list[Tally]
    by_city: list[Tally]
    by_month: list[Tally]
    budgets: list[BudgetRow]
    timeliness: list[TimelinessRow]
    timeliness_total: TimelinessRow
    oldest_open: list[OpenCase]
    total: Tally = field(init=False)

    def __post_init__(self) -> None:
        self.total = total_of(self.by_department)

    @property
    def budget_total(self) -> Decimal:
        return sum((row.budget.total for row in self.budgets), ZERO)

    @property
    def budget_committed(self) -> Decimal:
        return sum((row.budget.committed for row in self.budgets), ZERO)

    @property
    def budget_disbursed(self) -> Decimal:
        return sum((row.budget.disbursed for row in self.budgets), ZERO)

    @property
    def budget_percent(self) -> Decimal | None:
        return percent_of(self.budget_committed, self.budget_total)


# --------------------------------------------------------------------------- queries
@dataclass(frozen=True)
class Reach:
    """The departments the user's data scope reaches (``None``: every department), looked up
    once, so each aggregate filters on a plain list of ids."""

    department_ids: tuple[int, ...] | None
    names: tuple[str, ...] = ()

    def q(self, dept_field: str) -> Q:
        if self.department_ids is None:
            return Q()
        return Q(**{f"{dept_field}__in": self.department_ids})

    @property
    def label(self) -> str:
        """The data scope in words, for the page and the export."""
        if self.department_ids is None:
            return "全省（全部部门）"
        return "、".join(self.names) or "无"


def reach_of(user: Any) -> Reach:
    scope = scope_q(user, dept_field="pk", owner_field=None)
    if not scope:
        return Reach(None)
    rows = Department.objects.filter(scope).order_by("path", "order", "pk")
    found = list(rows.values_list("pk", "name"))
    return Reach(tuple(pk for pk, _ in found), tuple(name for _, name in found))


@dataclass(frozen=True)
class Names:
    """What the counted ids are called: rules, departments (with their place in the tree, for
    the order) and cities. Three queries, whatever the number of rows."""

    rules: dict[int, str]
    departments: dict[int, tuple[str, str]]  # id → (tree path, name)
    cities: dict[str, str]  # the first four digits of a region code → the city's name

    @classmethod
    def of(cls, tables: dict[str, list[rollups.Count]]) -> Names:
        def keys(table: str) -> set[Any]:
            return {count.key for count in tables[table]}

        rules = Rule.objects.filter(pk__in=keys("rule"))
        departments = Department.objects.filter(pk__in=keys("department"))
        regions = Region.objects.filter(code__in=[f"{city}00" for city in keys("city") if city])
        return cls(
            rules={
                pk: title or code
                for pk, code, title in rules.values_list("pk", "code", "current__title")
            },
            departments={
                pk: (path, name) for pk, path, name in departments.values_list("pk", "path", "name")
            },
            cities={code[:4]: name for code, name in regions.values_list("code", "name")},
        )

    def tree_order(self, department_id: int) -> tuple[str, int]:
        return self.departments[department_id][0], department_id


def _summed(filed: Iterable[rollups.Count]) -> dict[Any, _Sums]:
    """The stages and amounts of each row of a table, from its counts per status."""
    found: dict[Any, _Sums] = {}
    for count in filed:
        if count.key not in found:
            found[count.key] = _Sums()
        found[count.key].add(count)
    return found


def by_status(filed: list[rollups.Count]) -> list[StatusRow]:
    """Every filed status (zero when none), in the order a case moves through them; the
    amount only for the statuses that count as approved. From any one table's counts."""
    cases = dict.fromkeys(STAGE_OF, 0)
    amounts = dict.fromkeys(STAGE_OF, ZERO)
    for count in filed:
        cases[count.status] += count.cases
        amounts[count.status] += count.amount
    return [
        StatusRow(
            value,
            label,
            STAGE_OF[value],
            cases[value],
            amounts[value] if value in APPROVED else ZERO,
        )
        for value, label in S.choices
        if value != S.DRAFT
    ]


def by_rule(filed: list[rollups.Count], names: Names) -> list[Tally]:
    """Most applications first."""
    found = [sums.tally(pk, names.rules.get(pk, "")) for pk, sums in _summed(filed).items()]
    return sorted((row for row in found if row.total), key=lambda row: (-row.total, row.label))


def by_department(filed: list[rollups.Count], names: Names) -> list[Tally]:
    """In the order of the department tree."""
    found = [sums.tally(pk, names.departments[pk][1]) for pk, sums in _summed(filed).items()]
    return sorted((row for row in found if row.total), key=lambda row: names.tree_order(row.key))


def by_city(filed: list[rollups.Count], names: Names) -> list[Tally]:
    """By the city (地级市) of the enterprise's region: the first four digits of its code."""
    found = [
        sums.tally(city or None, names.cities.get(city, ""))
        for city, sums in _summed(filed).items()
    ]
    return sorted((row for row in found if row.total), key=lambda row: (row.key is None, row.key))


def by_month(filed: list[rollups.Count], period: Period) -> list[Tally]:
    """Every month of the period (zero rows for months without applications)."""
    found = _summed(filed)
    return [found.get(month, _Sums()).tally(month, f"{month:%Y-%m}") for month in months_of(period)]


def _timeliness_row(label: str, decided: list[int], overdue: int) -> TimelinessRow:
    """From [cases decided, on time, microseconds from acceptance to decision] and the cases
    overdue; the average stays exact here (rounded only where shown, in days)."""
    cases, on_time, micros = decided
    hours = micros / cases / 3_600_000_000 if cases else None
    return TimelinessRow(label, "", cases + overdue, on_time, hours, overdue)


def timeliness(
    counts: list[rollups.Count], names: Names
) -> tuple[list[TimelinessRow], TimelinessRow]:
    """``CASE_ON_TIME`` and ``CASE_AVERAGE`` per lead department and in all, from the counts
    per department: the cases decided in the period (by their deadline or not, and how long
    from acceptance) and the cases still in review whose deadline passed in it by now."""
    decided: dict[int, list[int]] = {}  # department → [cases, on time, microseconds]
    lapsed: dict[int, int] = {}
    for count in counts:
        if count.kind == Kind.DECIDED:
            sums = decided.setdefault(count.key, [0, 0, 0])
            sums[0] += count.cases
            sums[1] += count.on_time
            sums[2] += count.duration_us
        elif count.kind == Kind.OPEN:
            lapsed[count.key] = lapsed.get(count.key, 0) + count.cases
    departments = [
        pk
        for pk in sorted(decided.keys() | lapsed.keys(), key=names.tree_order)
        if decided.get(pk, [0])[0] + lapsed.get(pk, 0)
    ]
    rows = [
        _timeliness_row(names.departments[pk][1], decided.get(pk, [0, 0, 0]), lapsed.get(pk, 0))
        for pk in departments
    ]
    all_decided = [sum(decided.get(pk, [0, 0, 0])[i] for pk in departments) for i in range(3)]
    return rows, _timeliness_row("合计", all_decided, sum(row.open_overdue for row in rows))


def months_of(period: Period) -> list[dt.date]:
    """The first day of each month the period touches."""
    months, month = [], period.start.replace(day=1)
    while month <= period.end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def budgets(reach: Reach, period: Period) -> list[BudgetRow]:
    """Budgets of the period's years for the rules whose lead department the scope reaches."""
    rows = (
        Budget.objects.filter(
            reach.q("rule__current__lead_department"),
            year__gte=period.start.year,
            year__lte=period.end.year,
        )
        .select_related("rule__current")
        .order_by("year", "rule__code")
    )
    return [BudgetRow(budget) for budget in rows]


def oldest_open(reach: Reach, now: dt.datetime | None = None) -> list[OpenCase]:
    """The cases open longest (whatever the period), with their deadline marks."""
    now = now or timezone.now()
    cases = list(
        Application.objects.filter(reach.q("department"), status__in=OPEN)
        .annotate(has_workflow=Exists(WorkflowInstance.objects.filter(application=OuterRef("pk"))))
        .select_related("enterprise", "rule__current", "department")
        .order_by("submitted_at", "id")[:OLDEST_OPEN]
    )
    marks = deadline_marks(cases, now)
    today = timezone.localdate(now)
    return [
        OpenCase(
            application=case,
            days_open=(today - timezone.localdate(case.submitted_at)).days,
            due_on=last_day(case.due_at),
            mark=marks.get(case.pk),
            has_workflow=case.has_workflow,
        )
        for case in cases
    ]


def board(user: Any, period: Period, now: dt.datetime | None = None) -> Board:
    """Everything the data board shows, for the applications filed in ``period`` and, for the
    time-limit figures, the cases due in it (each headline as ``figures.FIGURES`` defines it)."""
    now = now or timezone.now()
    reach = reach_of(user)
    tables: dict[str, list[rollups.Count]] = {table: [] for table, _, _ in rollups.TABLES}
    for count in rollups.counts(reach.department_ids, period, now):
        tables[count.table].append(count)
    names = Names.of(tables)
    filed = {
        table: [count for count in counts if count.kind == Kind.FILED]
        for table, counts in tables.items()
    }
    rows, total = timeliness(tables["department"], names)
    return Board(
        period=period,
        scope_label=reach.label,
        by_status=by_status(filed["rule"]),
        by_rule=by_rule(filed["rule"], names),
        by_department=by_department(filed["department"], names),
        by_city=by_city(filed["city"], names),
        by_month=by_month(filed["month"], period),
        budgets=budgets(reach, period),
        timeliness=rows,
        timeliness_total=total,
        oldest_open=oldest_open(reach, now),
    )
