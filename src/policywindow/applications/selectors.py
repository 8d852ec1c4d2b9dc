"""Reads of 一口受理 and 办理信息查询: queues, case lists, timelines, the public status.

Data scope is applied here, never in views: staff see applications of the
departments their roles reach (``case_scope_q``), enterprise users only their
own enterprise's applications, and the public page only a status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from policywindow.core import deadlines, ratelimit
from policywindow.core.deadlines import DeadlineMark
from policywindow.core.errors import DomainError, NotFound
from policywindow.core.money import format_yuan
from policywindow.enterprises.selectors import enterprise_of
from policywindow.system.datascope import scope_q

from .models import Application, ApplicationEvent, Material, SupplementNotice
from .models import ApplicationStatus as S
from .transitions import ACTION_LABELS

if TYPE_CHECKING:
    from .forms import ItemSpec

# The jobs that work on filed cases in their data scope — intake, review, publicity and
# objections, fund forms, submission, payment, archiving. Holding any of them lets staff read
# those cases too: reading follows the same scope as acting.
STAFF_CASE_PERMISSIONS = (
    "window:case:list",
    "window:intake:list",
    "approval:task:todo",
    "approval:queue:list",
    "finance:publicity:list",
    "finance:objection:list",
    "finance:form:list",
    "finance:submission:list",
    "finance:disbursement:list",
    "finance:archive:list",
)
PUBLIC_LOOKUP_LIMIT = 20
PUBLIC_LOOKUP_WINDOW_SECONDS = 600
PUBLIC_NOT_FOUND = "未查询到相应的申报，请核对申报编号和统一社会信用代码后重试"

ELIGIBILITY_LABELS = {
    "eligible": "符合申报条件",
    "ineligible": "不符合申报条件",
    "unknown": "资格待核实",
}


# ---------------------------------------------------------------- staff side


def case_scope_q(user) -> Q:
    """Cases in the user's data scope: those whose lead department it reaches, or whose
    enterprise was registered by a window it reaches (a city's window serves its city's
    enterprises whichever province department leads the rule), or that the user filed."""
    by_lead = scope_q(user, dept_field="department", owner_field="applicant")
    by_window = scope_q(user, dept_field="enterprise__department", owner_field=None)
    if not by_lead or not by_window:  # an empty Q is the 全部数据 scope; "|" would drop it
        return Q()
    return by_lead | by_window


def staff_applications(user) -> QuerySet[Application]:
    """Filed applications (drafts excluded) within the user's data scope (``case_scope_q``)."""
    queryset = Application.objects.exclude(status=S.DRAFT).select_related(
        "enterprise", "rule", "rule_version", "department", "applicant"
    )
    return queryset.filter(case_scope_q(user))


def staff_readable(user) -> Q:
    """The applications a staff member may read: those they filed at the counter, those they
    have (or had) a review task on, and — for whoever works on cases — those in their scope."""
    readable = Q(applicant=user, channel=Application.Channel.WINDOW)
    readable |= Q(pk__in=Application.objects.filter(tasks__assignee=user).values("pk"))
    if any(user.has_permission_code(code) for code in STAFF_CASE_PERMISSIONS):
        readable |= Q(pk__in=staff_applications(user).values("pk"))
    return readable


def intake_queue(user) -> QuerySet[Application]:
    """The clerk's queue: submitted applications waiting for intake, oldest first."""
    return staff_applications(user).filter(status=S.SUBMITTED).order_by("submitted_at", "id")


@dataclass(frozen=True)
class CaseFilter:
    number: str = ""
    enterprise: str = ""
    rule_id: int | None = None
    status: str = ""
    submitted_from: dt.date | None = None
    submitted_to: dt.date | None = None


def search_cases(user, filters: CaseFilter) -> QuerySet[Application]:
    """办件查询: every filed application in scope, newest submission first."""
    cases = staff_applications(user)
    if filters.number:
        cases = cases.filter(number__icontains=filters.number.strip())
    if filters.enterprise:
        cases = cases.filter(enterprise__name__icontains=filters.enterprise.strip())
    if filters.rule_id:
        cases = cases.filter(rule_id=filters.rule_id)
    if filters.status:
        cases = cases.filter(status=filters.status)
    if filters.submitted_from:
        cases = cases.filter(submitted_at__date__gte=filters.submitted_from)
    if filters.submitted_to:
        cases = cases.filter(submitted_at__date__lte=filters.submitted_to)
    return cases.order_by("-submitted_at", "-id")


def case_statuses() -> list[tuple[str, str]]:
    """Statuses a filed case can have (for the status filter)."""
    return [(value, label) for value, label in S.choices if value != S.DRAFT]


def staff_case(user, pk: int) -> Application:
    """One filed application in the user's scope, or 404."""
    return get_object_or_404(staff_applications(user), pk=pk)


# ---------------------------------------------------------------- enterprise side


def enterprise_applications(user) -> QuerySet[Application]:
    """The applications of the enterprise the user acts for (none if they act for none)."""
    enterprise = enterprise_of(user)
    if enterprise is None:
        return Application.objects.none()
    return (
        Application.objects.filter(enterprise=enterprise)
        .select_related("enterprise", "rule", "rule_version")
        .order_by("-created_at", "-id")
    )


def my_application(user, pk: int) -> Application:
    """One application of the user's own enterprise; another enterprise's is a 404."""
    return get_object_or_404(enterprise_applications(user), pk=pk)


def open_supplement_notice(application: Application) -> SupplementNotice | None:
    """The 补正 notice the enterprise still has to answer, if any."""
    return (
        application.supplement_notices.filter(resolved_at__isnull=True)
        .select_related("issued_by")
        .first()
    )


def supplement_notices(application: Application) -> list[SupplementNotice]:
    """Every 补正 notice of the application, newest first."""
    return list(application.supplement_notices.select_related("issued_by"))


# ---------------------------------------------------------------- timeline


@dataclass(frozen=True)
class TimelineEntry:
    occurred_at: dt.datetime
    actor: str
    action: str
    action_label: str
    from_label: str
    to_label: str
    note: str
    items: list[dict] = field(default_factory=list)
    node: str = ""  # the review step a workflow decision was made on


def _status_label(value: str) -> str:
    return S(value).label if value in S.values else value


def timeline(application: Application) -> list[TimelineEntry]:
    """Who did what and when, oldest first, with Chinese labels."""
    events = ApplicationEvent.objects.filter(application=application).order_by("occurred_at", "id")
    return [
        TimelineEntry(
            occurred_at=event.occurred_at,
            actor=event.actor_name,
            action=event.action,
            action_label=ACTION_LABELS.get(event.action, event.action),
            from_label=_status_label(event.from_status) if event.from_status else "",
            to_label=_status_label(event.to_status) if event.to_status else "",
            note=event.note,
            items=list(event.data.get("items", [])) if isinstance(event.data, dict) else [],
            node=str(event.data.get("node", "")) if isinstance(event.data, dict) else "",
        )
        for event in events
    ]


# ---------------------------------------------------------------- the filed form


def form_items(application: Application) -> list[ItemSpec]:
    """The required items as filed (the application's own copy of the form)."""
    from .forms import specs_of_snapshot  # forms reads selectors_filing, which reads this module

    return specs_of_snapshot(application.form_snapshot or [])


@dataclass(frozen=True)
class AnswerRow:
    spec: ItemSpec
    value: str
    materials: list[Material]

    @property
    def key(self) -> str:
        return self.spec.key


def answer_rows(application: Application) -> list[AnswerRow]:
    """The filed form, read-only: each answer rendered for its item kind, files listed."""
    specs = form_items(application)
    answers = application.answers or {}
    files = _materials_by_item(application, specs, answers)
    return [
        AnswerRow(spec, display_answer(spec, answers.get(spec.key)), files.get(spec.key, []))
        for spec in specs
    ]


@dataclass(frozen=True)
class AnswerSection:
    title: str
    rows: list[AnswerRow]


def answer_sections(application: Application) -> list[AnswerSection]:
    """The answer rows grouped by form section, sections in order of first appearance."""
    sections: dict[str, list[AnswerRow]] = {}
    for row in answer_rows(application):
        sections.setdefault(row.spec.section_title, []).append(row)
    return [AnswerSection(title, rows) for title, rows in sections.items()]


def _material_ids(answer: Any) -> list[int]:
    values = answer if isinstance(answer, list) else []
    return [int(v) for v in values if str(v).isdigit()]


def _materials_by_item(
    application: Application, specs: list[ItemSpec], answers: dict[str, Any]
) -> dict[str, list[Material]]:
    """Per file item: the files its answer names, else the files attached under its key."""
    named = {spec.key: _material_ids(answers.get(spec.key)) for spec in specs if spec.is_file}
    all_ids = [pk for ids in named.values() for pk in ids]
    rows = Material.objects.filter(Q(pk__in=all_ids) | Q(application=application)).order_by(
        "uploaded_at", "id"
    )
    by_id = {m.pk: m for m in rows}
    result: dict[str, list[Material]] = {}
    for key, ids in named.items():
        if ids:
            result[key] = [by_id[pk] for pk in ids if pk in by_id]
        else:
            result[key] = [
                m for m in rows if m.application_id == application.pk and m.item_key == key
            ]
    return result


def money_text(value: Any) -> str:
    """Yuan with thousands separators and two places, e.g. "3,200,000.00 元" ("" if None)."""
    try:
        return format_yuan(value, empty="")
    except (TypeError, ValueError):
        return str(value)


def display_answer(spec: ItemSpec, value: Any) -> str:
    """One answer as text for its item kind ("" when not filled, and for files)."""
    if value is None or value == "" or value == [] or spec.is_file:
        return ""
    if spec.kind == "boolean":
        return "是" if value in (True, "true", "1", 1) else "否"
    if spec.kind == "money":
        return money_text(value)
    labels = dict(spec.options)
    if spec.kind == "multi_choice":
        values = value if isinstance(value, list) else [value]
        return "、".join(labels.get(str(v), str(v)) for v in values)
    return labels.get(str(value), str(value)) if spec.kind == "choice" else str(value)


@dataclass(frozen=True)
class EligibilityView:
    status: str
    label: str
    failures: list[str]
    unknowns: list[str]


def eligibility_of(application: Application) -> EligibilityView | None:
    """The eligibility pre-check stored when the application was filed."""
    stored = application.eligibility or {}
    status = stored.get("status") if isinstance(stored, dict) else None
    if not status:
        return None
    return EligibilityView(
        status=status,
        label=ELIGIBILITY_LABELS.get(status, status),
        failures=list(stored.get("failures") or []),
        unknowns=list(stored.get("unknowns") or []),
    )


# ---------------------------------------------------------------- public status


class TooManyLookups(DomainError):
    code = "too_many_requests"
    http_status = 429


@dataclass(frozen=True)
class PublicStatus:
    """All the public page may show: no amounts, no names, no answers."""

    number: str
    status: str
    status_label: str
    submitted_on: dt.date | None
    accepted_on: dt.date | None
    due_on: dt.date | None
    due_provisional: bool  # 暂定: past the loaded holiday table (core/calendar.py)


def _local_date(value: dt.datetime | None) -> dt.date | None:
    return timezone.localtime(value).date() if value else None


def _due_date(value: dt.datetime | None) -> dt.date | None:
    return deadlines.last_day(value)


def _count_lookup(client_ip: str) -> None:
    key = f"applications:public-status:{ratelimit.address_key(client_ip)}"
    if ratelimit.over_limit(key, PUBLIC_LOOKUP_LIMIT, PUBLIC_LOOKUP_WINDOW_SECONDS):
        minutes = PUBLIC_LOOKUP_WINDOW_SECONDS // 60
        raise TooManyLookups(
            f"查询过于频繁：每 {minutes} 分钟最多查询 {PUBLIC_LOOKUP_LIMIT} 次，请稍后再试"
        )


def public_status(number: str, credit_code: str, *, client_ip: str) -> PublicStatus:
    """Status by number + credit code; a wrong pair and an unknown number answer alike."""
    _count_lookup(client_ip)
    application = (
        Application.objects.exclude(status=S.DRAFT)
        .filter(
            number=number.strip().upper(),
            enterprise__credit_code=credit_code.strip().upper(),
        )
        .only("number", "status", "submitted_at", "accepted_at", "due_at")
        .first()
    )
    if application is None:
        raise NotFound(PUBLIC_NOT_FOUND)
    return PublicStatus(
        number=application.number,
        status=application.status,
        status_label=S(application.status).label,
        submitted_on=_local_date(application.submitted_at),
        accepted_on=_local_date(application.accepted_at),
        due_on=_due_date(application.due_at),
        due_provisional=deadlines.is_provisional(application.due_at),
    )


def due_date(application: Application) -> dt.date | None:
    """The last working day of the time limit (due_at is the midnight that ends it)."""
    return _due_date(application.due_at)


def deadline_marks(
    applications: Iterable[Application], now: dt.datetime | None = None
) -> dict[int, DeadlineMark]:
    """Marks for the cases under review (one calendar query for the whole page)."""
    return deadlines.marks({a.pk: a.due_at for a in applications if a.status == S.IN_REVIEW}, now)
