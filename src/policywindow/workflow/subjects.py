"""Workflow subjects: the kinds of thing a level workflow reviews.

The engine (``engine``) and the runtime (``services.runtime``) know a case only as a subject
type and an id, and ask the type's ``Subject`` everything else: how to lock its row, which facts
a node condition may read, who leads it and where it is (for the candidates of a node), how it
is named and linked in lists and messages, and what happens when its review finishes, asks for
补正, resumes or is reopened. Each app with cases registers its subject in its ``ready()``:
applications (``applications.review``) and reform-task progress reports (``reforms.review``).
Nothing here imports those apps; they import this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from policywindow.core.calendar import Deadline

    from .models import WorkflowTask
    from .services.runtime import Case, Decision

APPLICATION = "application"  # the first subject; rows made before subjects existed are of it


@dataclass(frozen=True)
class CaseContext:
    """What resolving a node's candidates needs of a case: its lead department (牵头部门) and
    the region code of whoever it concerns (the applicant's 属地)."""

    lead_department_id: int | None
    region_code: str | None


@dataclass(frozen=True)
class Label:
    """How lists, messages and the timeline name a case and where its page is."""

    number: str
    title: str
    party: str  # whom it concerns (the enterprise …); ``label_of`` may leave it empty
    link: str
    tag: str = ""  # a short code shown before the title (the rule's code …)


class Subject:
    """One kind of case. Subclasses set ``type`` and ``label`` and implement the hooks; the
    defaults are what a subject without money or 补正 notices needs."""

    type: ClassVar[str]
    label: ClassVar[str]
    # Whether approvers may set an amount on their decision (the form shows the field).
    has_amount: ClassVar[bool] = False
    # Who may see, draw and publish the subject type's own workflow (a type whose workflows
    # belong to rules, as applications', is drawn on the rules' designer pages instead).
    design_permissions: ClassVar[tuple[str, str, str]] = (
        "policy:workflow:list",
        "policy:workflow:update",
        "policy:workflow:publish",
    )

    # --- reading and locking -------------------------------------------------------------
    def lock(self, pk: int) -> Any:
        """The subject's row, locked for the caller's transaction (before its instance)."""
        raise NotImplementedError

    def lock_task(self, task_id: int) -> WorkflowTask | None:
        """A fast path for the hot one: the task with its instance, workflow and subject row
        (``task.subject``) locked by one statement in the subject's order, or None when the
        task is not of this subject. ``services.locking`` tries these, then locks generically."""
        return None

    def workflow_owner(self, row: Any) -> int | None:
        """The rule whose workflow a case runs; None: the subject type's own workflow."""
        return None

    def no_workflow(self, row: Any) -> str:
        """Why a case cannot start when there is no published workflow for it."""
        return f"“{self.label}”尚未发布审批工作流，请联系管理员发布后再办理"

    def facts(self, row: Any) -> Mapping[str, Any]:
        """What node conditions of this case may read."""
        return {}

    def fact_labels(self, row: Any = None) -> dict[str, str]:
        """Names a node condition may use, with their Chinese labels: of any case of this type,
        or of the case ``row`` (whose own facts may add to them)."""
        return {}

    def context(self, row: Any) -> CaseContext:
        return CaseContext(None, None)

    def label_of(self, row: Any) -> Label:
        raise NotImplementedError

    def labels(self, ids: Iterable[int]) -> dict[int, Label]:
        """Labels of many cases for a list page, in one query."""
        raise NotImplementedError

    def review_days(self, row: Any) -> int:
        """Working days a reopened review gets."""
        raise NotImplementedError

    def due_at(self, row: Any) -> dt.datetime | None:
        """When the case's own time limit ends (the clock a 补正 pause stops)."""
        return None

    # --- what happens ----------------------------------------------------------------------
    def check_amount(self, case: Case, decision: Decision) -> tuple[Decimal | None, str]:
        """The amount a decision sets and the reason for lowering it, checked (or a field
        error); subjects without money ignore it."""
        return None, ""

    def check_supplement(
        self, case: Case, items: tuple[dict[str, str], ...]
    ) -> tuple[dict[str, str], ...]:
        """The items a 补正 asks for, checked (or a field error)."""
        return items

    def record(self, case: Case, actor: Any, action: str, note: str, data: dict) -> None:
        """One line of the case's history (timeline)."""
        raise NotImplementedError

    def audit_target(self, row: Any) -> Any:
        return row

    def started(self, case: Case, actor: Any) -> None:
        """The review began (the row is the subject's, locked)."""

    def finished(self, case: Case, status: str, actor: Any) -> None:
        """The review ended approved or rejected."""
        raise NotImplementedError

    def supplement_requested(
        self, case: Case, actor: Any, reason: str, items: tuple[dict[str, str], ...]
    ) -> None:
        """A reviewer sent the case back to whoever filed it; the clock has stopped."""
        raise NotImplementedError

    def resumed(self, case: Case, actor: Any, due: Deadline, **move: Any) -> None:
        """Whoever filed it resubmitted after a review 补正; ``due`` is the restored limit."""
        raise NotImplementedError

    def reopened(self, case: Case, actor: Any, due: Deadline, reason: str, *, action: str) -> None:
        """A finished case goes back to review (``due``: its fresh limit)."""
        raise NotImplementedError


_REGISTRY: dict[str, Subject] = {}


def register(subject: Subject) -> None:
    """Make a subject type known (from its app's ``ready()``); registering it again replaces it."""
    _REGISTRY[subject.type] = subject


def unregister(subject_type: str) -> None:
    """Forget a subject type (tests register subjects of their own and take them away after)."""
    _REGISTRY.pop(subject_type, None)


def get(subject_type: str) -> Subject:
    try:
        return _REGISTRY[subject_type]
    except KeyError:
        raise LookupError(f"未注册的审批对象类型：{subject_type}") from None


def registered() -> list[Subject]:
    return list(_REGISTRY.values())


def choices() -> list[tuple[str, str]]:
    return [(subject.type, subject.label) for subject in _REGISTRY.values()]
