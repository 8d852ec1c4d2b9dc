"""The one table of allowed status moves (DESIGN.md §2), and the one function that makes them.

Every move locks the application row, checks the table and the caller's
revision, bumps the revision, writes a timeline event and an audit event —
all in the caller's transaction. Any other move is refused with a clear error.
Each timeline line is announced to the enterprise through the one table of
``notices`` (which steps it is told of, and which it deliberately is not).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from policywindow.core import audit
from policywindow.core.errors import Conflict
from policywindow.core.labels import add_labels

from . import notices
from .models import Application, ApplicationEvent
from .models import ApplicationStatus as S

ALLOWED: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset({S.IN_REVIEW, S.SUPPLEMENT_REQUIRED, S.NOT_ACCEPTED, S.WITHDRAWN}),
    S.SUPPLEMENT_REQUIRED: frozenset({S.SUBMITTED, S.IN_REVIEW, S.WITHDRAWN}),
    # Withdrawn in review only when an enterprise declines a 免申即享 case (matching.grants).
    S.IN_REVIEW: frozenset({S.APPROVED, S.REJECTED, S.SUPPLEMENT_REQUIRED, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.IN_PUBLICITY, S.IN_FINANCE}),
    S.IN_PUBLICITY: frozenset({S.PUBLICITY_PASSED, S.OBJECTION}),
    # Back to 公示中 when an objection is dismissed while the period still runs.
    S.OBJECTION: frozenset({S.IN_PUBLICITY, S.PUBLICITY_PASSED, S.IN_REVIEW}),
    S.PUBLICITY_PASSED: frozenset({S.IN_FINANCE}),
    # Back to 公示通过 when finance returns the batch it was submitted in (退回, resubmitted later).
    S.IN_FINANCE: frozenset({S.DISBURSED, S.PUBLICITY_PASSED}),
    S.DISBURSED: frozenset({S.ARCHIVED}),
    S.NOT_ACCEPTED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.REJECTED: frozenset(),
    S.ARCHIVED: frozenset(),
}

# Timeline wording of the application's own steps, shown to enterprises and staff.
APPLICATION_STEP_LABELS: dict[str, str] = {
    "create": "创建申报",
    "save_draft": "保存草稿",
    "submit": "提交申报",
    "resubmit": "补正后重新提交",
    "accept": "窗口受理",
    "supplement": "一次性告知补正",
    "refuse": "不予受理",
    "withdraw": "撤回申报",
}
# Every step's wording: these and the steps other apps register (register_step_labels).
ACTION_LABELS: dict[str, str] = {}


# A page older than the row it acts on: someone else moved the case meanwhile.
STALE_MESSAGE = "该申报已被他人处理，请刷新页面后查看最新状态"


def register_step_labels(labels: Mapping[str, str]) -> None:
    """Name case steps on the timeline (called from an ``AppConfig.ready``). ``move`` logs each
    step as ``application.<step>``, so the operation log names it the same."""
    add_labels(ACTION_LABELS, labels, what="timeline steps")
    audit.register_action_labels({f"application.{step}": label for step, label in labels.items()})


# Writes the moved row: (application, changed fields, the timeline event).
Persist = Callable[[Application, list[str], ApplicationEvent], Any]


def _save(application: Application, fields: list[str], event: ApplicationEvent) -> None:
    application.save(update_fields=fields)


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED.get(from_status, frozenset())


def lock(application_id: int) -> Application:
    """The application row, locked until the end of the caller's transaction."""
    return Application.objects.select_for_update().get(pk=application_id)


def move(
    application: Application,
    to_status: str,
    *,
    actor: Any,
    action: str,
    note: str = "",
    data: dict | None = None,
    expected_revision: int | None = None,
    changes: dict[str, Any] | None = None,
    audited: bool = True,
    persist: Persist = _save,
) -> Application:
    """Move a *locked* application to ``to_status``; refuse anything the table does not allow.

    ``expected_revision`` is the revision the actor's page showed: a decision made on a
    stale page (someone else acted meanwhile) is refused instead of silently applied.
    ``changes`` are further fields set in the same save (accepted_at, due_at, ...).
    ``audited=False`` when the caller's own audit event records the move (an approver's
    decision logs itself and the move it caused as one event).
    The row itself is written last, by ``persist`` (a plain save by default), after the
    timeline and audit events: a submission's numbering write must be its last statement.
    The audit event names the application as it was when the move began.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("move() must run inside the caller's transaction")
    from_status, shown = application.status, str(application)
    if expected_revision is not None and expected_revision != application.revision:
        raise Conflict(STALE_MESSAGE, details={"revision": application.revision})
    if not can_move(from_status, to_status):
        raise Conflict(
            f"当前状态“{S(from_status).label}”不能变为“{S(to_status).label}”",
            details={"from": from_status, "to": to_status},
        )
    application.status = to_status
    application.revision += 1
    fields = ["status", "revision", "updated_at"]
    for name, value in (changes or {}).items():
        setattr(application, name, value)
        fields.append(name)
    event = record_event(
        application,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        data=data,
    )
    if audited:
        audit.record(
            f"application.{action}",
            actor=actor,
            target=application,
            object_repr=shown,
            before={"status": from_status},
            after={"status": to_status, **({"note": note} if note else {})},
        )
    persist(application, fields, event)
    return application


def record_event(
    application: Application,
    *,
    actor: Any,
    action: str,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    data: dict | None = None,
) -> ApplicationEvent:
    """A timeline line without a status change (e.g. a saved draft, an uploaded file)."""
    name = ""
    if actor is not None and getattr(actor, "is_authenticated", False):
        name = actor.real_name or actor.username
    event = ApplicationEvent.objects.create(
        application=application,
        occurred_at=timezone.now(),
        actor=actor if name else None,
        actor_name=name or "系统",
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        data=data or {},
    )
    notices.announce(event)  # the enterprise is told of the steps that matter to it
    return event
