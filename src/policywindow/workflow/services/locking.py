"""Locking a task for a step on it (decide, transfer, withdraw): the subject's row, the
instance and the task, in that order (the order intake and filing lock them).

A subject on the hot path (applications) locks all three with what the step reads in one
statement (``Subject.lock_task``); any other subject is locked here with the ORM: its type
read from the task, its row locked by the subject, then the instance and the task.
"""

from __future__ import annotations

from django.db import connection

from .. import subjects
from ..models import WorkflowTask


def locked_task(task_id: int) -> WorkflowTask | None:
    """The task with ``instance`` (its ``workflow`` set) and ``subject`` (the subject's row),
    locked until the end of the caller's transaction, and its ``number``, ``rule_title`` and
    ``enterprise_name`` set as lists show them; None when there is no such task."""
    low, high = connection.ops.integer_field_range(WorkflowTask._meta.pk.get_internal_type())
    if not low <= task_id <= high:  # no such row (the ORM answers so too; a parameter would not)
        return None
    for subject in subjects.registered():
        task = subject.lock_task(task_id)
        if task is not None:
            return task
    found = WorkflowTask.objects.filter(pk=task_id).values_list("subject_type", "subject_id")
    if not (found := found.first()):
        return None
    subject = subjects.get(found[0])
    row = subject.lock(found[1])
    task = (
        WorkflowTask.objects.select_for_update(of=("self", "instance"))
        .select_related("instance__workflow")
        .get(pk=task_id)
    )
    label = subject.label_of(row)
    task.subject = row
    task.number, task.rule_title, task.enterprise_name = label.number, label.title, label.party
    return task
