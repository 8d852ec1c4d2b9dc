"""一口受理: accept (受理), one-time 补正 notice (一次性告知), refuse (不予受理).

Every decision locks the application row, is checked against the revision the
clerk's page showed (a stale page gets a ``Conflict``, before its input is checked) and moves the status
through ``transitions.move`` — timeline event and audit event in the same
transaction. Bad input is a ``ValidationFailed`` whose details name the item.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils import timezone

from policywindow.core import clock, provisional
from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.workflow.services import runtime
from policywindow.workflow.subjects import APPLICATION

from .. import transitions
from ..models import Application
from ..models import ApplicationStatus as S
from .supplement import (
    MAX_COMMENT,
    issue_notice,
    items_by_key,
    notice_data,
    validated_supplement_items,
)


class CheckResult(models.TextChoices):
    """Completeness check of one required item at the window."""

    COMPLETE = "complete", "齐全"
    MISSING = "missing", "缺失"
    NONCONFORMING = "nonconforming", "不符合"


def accept(
    actor: Any,
    application: Application,
    checklist: list[dict[str, str]],
    note: str = "",
    *,
    expected_revision: int,
) -> Application:
    """受理: every required item checked 齐全; the review clock starts (due in working days)
    and the rule's published workflow opens its first tasks.

    ``checklist`` holds one ``{"key", "result", "comment"}`` per required item.
    """
    with transaction.atomic():
        locked = _lock_submitted(application, expected_revision)
        checked = _validated_checklist(locked, checklist)
        _check_length("note", note, "受理意见")
        accepted_at = timezone.now()
        due = clock.start(accepted_at, locked.rule_version.review_days)
        moved = transitions.move(
            locked,
            S.IN_REVIEW,
            actor=actor,
            action="accept",
            note=note.strip(),
            data={"checklist": checked},
            expected_revision=expected_revision,
            changes={"accepted_at": accepted_at, "accepted_by": actor, "due_at": due.due_at},
        )
        provisional.remember("due_at", [(moved, due)])
        runtime.start(actor, APPLICATION, moved)  # refused (the accept rolled back) if it cannot
        return moved


def request_supplement(
    actor: Any,
    application: Application,
    items: list[dict[str, str]],
    comment: str = "",
    *,
    expected_revision: int,
) -> Application:
    """补正: one notice naming every item to fix, each with the clerk's comment.

    ``items`` holds ``{"key", "comment"}`` per item to fix (at least one).
    """
    with transaction.atomic():
        locked = _lock_submitted(application, expected_revision)
        notice_items = validated_supplement_items(locked, items)
        _check_length("comment", comment, "总体说明")
        notice = issue_notice(
            locked, notice_items, comment.strip(), actor=actor, now=timezone.now()
        )
        return transitions.move(
            locked,
            S.SUPPLEMENT_REQUIRED,
            actor=actor,
            action="supplement",
            note=comment.strip(),
            data=notice_data(notice),
            expected_revision=expected_revision,
        )


def refuse(
    actor: Any, application: Application, reason: str, *, expected_revision: int
) -> Application:
    """不予受理 with the reason the enterprise will read."""
    with transaction.atomic():
        locked = _lock_submitted(application, expected_revision)
        if not reason.strip():
            message = "请填写不予受理的理由"
            raise ValidationFailed(message, details={"reason": [message]})
        _check_length("reason", reason, "不予受理理由")
        return transitions.move(
            locked,
            S.NOT_ACCEPTED,
            actor=actor,
            action="refuse",
            note=reason.strip(),
            expected_revision=expected_revision,
        )


# ---------------------------------------------------------------- helpers


def _lock_submitted(application: Application, expected_revision: int) -> Application:
    """The locked row; intake acts only on 待受理 applications.

    State before content: a page older than the row (another revision) and a case not at
    intake are refused here, before the decision's input is checked.
    """
    locked = transitions.lock(application.pk)
    if locked.revision != expected_revision:
        raise Conflict(transitions.STALE_MESSAGE, details={"revision": locked.revision})
    if locked.status != S.SUBMITTED:
        raise Conflict(
            f"只有“待受理”的申报可以受理、补正或不予受理，该申报当前为“{S(locked.status).label}”",
            details={"status": locked.status},
        )
    return locked


def _check_length(field: str, text: str, label: str) -> None:
    if len(text.strip()) > MAX_COMMENT:
        message = f"{label}不能超过 {MAX_COMMENT} 个字"
        raise ValidationFailed(message, details={field: [message]})


def _validated_checklist(
    application: Application, checklist: list[dict[str, str]]
) -> list[dict[str, str]]:
    """One check per required item, all 齐全; returns the checklist as recorded."""
    items = items_by_key(application)
    given: dict[str, dict[str, str]] = {}
    errors: dict[str, list[str]] = {}
    for entry in checklist:
        key = str(entry.get("key", ""))
        if key not in items:
            errors.setdefault("checklist", []).append(f"表单中没有要件项“{key}”")
        elif key in given:
            errors[f"checklist.{key}"] = ["同一要件只能核验一次"]
        else:
            given[key] = entry
    recorded = []
    for key, item in items.items():
        entry = given.get(key)
        result = str(entry.get("result", "")) if entry else ""
        comment = str(entry.get("comment", "")).strip() if entry else ""
        if result not in CheckResult.values:
            errors[f"checklist.{key}"] = [f"请核验“{item.label}”是否齐全"]
        elif result != CheckResult.COMPLETE:
            errors[f"checklist.{key}"] = [
                f"“{item.label}”核验为“{CheckResult(result).label}”，"
                "不能受理；请一次性告知补正或不予受理"
            ]
        elif len(comment) > MAX_COMMENT:
            errors[f"checklist.{key}"] = [f"说明不能超过 {MAX_COMMENT} 个字"]
        recorded.append({"key": key, "label": item.label, "result": result})
        if comment:
            recorded[-1]["comment"] = comment
    if errors:
        raise ValidationFailed("要件核验未通过，不能受理", details=errors)
    return recorded
