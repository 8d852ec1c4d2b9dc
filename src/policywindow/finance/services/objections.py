"""异议: anyone files an objection on a published case; the rule's lead department decides it.

Filing moves the case to 异议处理中 and tells the lead department's section chiefs and
leaders. Upholding sends the case back to review at its last level and gives its budget
amount back; dismissing returns it to 公示中 while the period runs, else to 公示通过. A case
with several open objections stays in 异议处理中 until the last one is decided.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from policywindow.applications import transitions
from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core import audit, ratelimit
from policywindow.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from policywindow.notifications.services import notify
from policywindow.system.models import Status, User
from policywindow.workflow.services import runtime
from policywindow.workflow.subjects import APPLICATION

from .. import selectors
from ..models import Objection, PublicityEntry
from . import budgets

FILING_LIMIT = 5
FILING_WINDOW_SECONDS = 3600
MAX_CONTENT = 1000
MAX_NOTE = 500
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
# Who in the lead department hears of an objection and decides it.
DECIDING_ROLES = ("section_chief", "dept_leader")


class TooManyObjections(DomainError):
    code = "too_many_requests"
    http_status = 429


@dataclass(frozen=True)
class ObjectionInput:
    name: str
    phone: str
    content: str


# --------------------------------------------------------------------------- filing
def file_objection(entry_id: int, data: ObjectionInput, *, client_ip: str) -> Objection:
    """A member of the public objects to a published case (rate-limited per address)."""
    _count_filing(client_ip)
    data = _checked(data)
    with transaction.atomic():
        entry = PublicityEntry.objects.select_related("batch").filter(pk=entry_id).first()
        if entry is None:
            raise NotFound("公示信息不存在")
        application = transitions.lock(entry.application_id)
        live = entry.withdrawn_at is None and entry.batch.running
        if not live or application.status not in (S.IN_PUBLICITY, S.OBJECTION):
            raise Conflict("该公示已结束，不能再提出异议")
        objection = Objection.objects.create(
            entry=entry,
            name=data.name,
            phone=data.phone,
            content=data.content,
            ip=client_ip or None,
            filed_at=timezone.now(),
        )
        note = "公示期间收到异议，牵头部门核查中"
        if application.status == S.IN_PUBLICITY:
            transitions.move(application, S.OBJECTION, actor=None, action="objection", note=note)
        else:
            transitions.record_event(application, actor=None, action="objection", note=note)
        # No contact data in the log: the objector's name and phone stay on the objection.
        audit.record("objection.file", target=objection, after={"application": application.number})
        _tell_lead_department(application, objection)
    return objection


def _count_filing(client_ip: str) -> None:
    key = f"finance:objection:{ratelimit.address_key(client_ip)}"
    if ratelimit.over_limit(key, FILING_LIMIT, FILING_WINDOW_SECONDS):
        minutes = FILING_WINDOW_SECONDS // 60
        raise TooManyObjections(
            f"提交过于频繁：每 {minutes} 分钟最多提交 {FILING_LIMIT} 次异议，请稍后再试"
        )


def _checked(data: ObjectionInput) -> ObjectionInput:
    name, phone, content = data.name.strip(), data.phone.strip(), data.content.strip()
    problems: dict[str, list[str]] = {}
    if not 2 <= len(name) <= 50:
        problems["name"] = ["请填写真实姓名（2 至 50 个字）"]
    if not PHONE.match(phone):
        problems["phone"] = ["请填写正确的手机号码或固定电话（如 024-12345678）"]
    if not 10 <= len(content) <= MAX_CONTENT:
        problems["content"] = [f"请写明异议事实和理由（10 至 {MAX_CONTENT} 个字）"]
    if problems:
        raise ValidationFailed("提交的内容有误", details=problems)
    return ObjectionInput(name, phone, content)


def _tell_lead_department(application: Application, objection: Objection) -> None:
    department = application.department
    people = list(
        User.objects.filter(
            department=department,
            is_active=True,
            roles__code__in=DECIDING_ROLES,
            roles__status=Status.ENABLED,
        ).distinct()
    )
    if department.leader_id and department.leader.is_active:
        people.append(department.leader)
    notify(
        people,
        kind="objection_filed",
        subject=f"公示异议待处理：{application.number} {objection.entry.enterprise_name}",
        body=f"“{objection.entry.rule_title}”在公示期间收到异议，请及时核查处理。",
        link=reverse("finance:objection_detail", args=[objection.pk]),
        dedupe_key=f"objection:{objection.pk}:filed",
        sms=True,
    )


# --------------------------------------------------------------------------- deciding
def uphold(actor: User, objection_id: int, note: str) -> Objection:
    """The objection stands: the case goes back to review at its last level, its budget
    amount is given back, and it leaves the publicity list."""
    note = _checked_note(note, "异议成立的理由")
    with transaction.atomic():
        application, objection = _lock(actor, objection_id)
        now = timezone.now()
        _close(objection, actor, Objection.Status.UPHELD, note, now)
        others = Objection.objects.filter(entry=objection.entry, status=Objection.Status.OPEN)
        others.update(
            status=Objection.Status.CLOSED,
            decided_at=now,
            decided_by=actor,
            decision_note="同一申报的其他异议已成立，本异议随案办结",
        )
        PublicityEntry.objects.filter(pk=objection.entry_id).update(withdrawn_at=now)
        # Reopen first: it records the move in the audit chain, which approvals hold before
        # they touch a budget, so the budget row is taken in the same order as there.
        runtime.reopen(
            actor, APPLICATION, application, f"公示异议成立：{note}", action="objection_upheld"
        )
        budgets.release(actor, application)
        audit.record("objection.uphold", actor=actor, target=objection, after={"note": note})
    return objection


def dismiss(actor: User, objection_id: int, note: str) -> Objection:
    """The objection does not stand: with no other open objection the case returns to 公示中
    while the period runs, else it has passed publicity."""
    note = _checked_note(note, "异议不成立的理由")
    with transaction.atomic():
        application, objection = _lock(actor, objection_id)
        now = timezone.now()
        _close(objection, actor, Objection.Status.DISMISSED, note, now)
        still_open = Objection.objects.filter(entry=objection.entry, status=Objection.Status.OPEN)
        text = f"异议不成立：{note}"
        if still_open.exists():
            transitions.record_event(
                application, actor=actor, action="objection_dismissed", note=text
            )
        else:
            transitions.move(
                application,
                S.IN_PUBLICITY if objection.entry.batch.running else S.PUBLICITY_PASSED,
                actor=actor,
                action="objection_dismissed",
                note=text,
            )
        audit.record("objection.dismiss", actor=actor, target=objection, after={"note": note})
    return objection


def _lock(actor: User, objection_id: int) -> tuple[Application, Objection]:
    """The case row, then the objection row, both locked; only objections in the actor's
    data scope (the case's lead department) can be decided."""
    application_id = (
        selectors.objections(actor)
        .filter(pk=objection_id)
        .values_list("entry__application_id", flat=True)
        .first()
    )
    if application_id is None:
        raise NotFound("异议不存在或不在您的数据范围内")
    application = transitions.lock(application_id)
    objection = (
        Objection.objects.select_for_update(of=("self",))
        .select_related("entry__batch")
        .get(pk=objection_id)
    )
    if objection.status != Objection.Status.OPEN:
        raise Conflict(f"该异议已处理（{objection.get_status_display()}），不能重复处理")
    return application, objection


def _close(objection: Objection, actor: User, status: str, note: str, now) -> None:
    objection.status, objection.decided_at = status, now
    objection.decided_by, objection.decision_note = actor, note
    objection.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])


def _checked_note(text: str, label: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(f"请填写{label}", details={"note": [f"请填写{label}"]})
    if len(text) > MAX_NOTE:
        message = f"{label}不能超过 {MAX_NOTE} 个字"
        raise ValidationFailed(message, details={"note": [message]})
    return text
