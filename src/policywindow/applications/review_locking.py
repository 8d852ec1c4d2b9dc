"""The applications' fast path of ``workflow.services.locking`` (``Subject.lock_task``): the
one locking read of a step on an approval task (decide, transfer, withdraw): the task, its
instance and its application locked by one statement, with what the step reads of them — the workflow
version's spec, the rule version — and what the API's answer shows of the case
(``selectors.CASE_COLUMNS``).

Hand-written SQL, because every decision runs it and the ORM spends about 3 ms of CPU compiling
it (six tables, a hundred columns), four times what the statement itself costs; on PostgreSQL it
is prepared once per connection (``system.identity.fetch_one``). The rows become model
instances as the ORM would have made them (``Columns``: the same converters), with the relations
the step follows already set, so nothing is loaded lazily. The case's answers, form and
eligibility (JSON no step reads) are left in the database: touching them would load them.

Locked in the order intake and filing lock them: the application, then the instance, then the
task (PostgreSQL locks the rows of ``FOR … OF`` in the order it names them). ``NO KEY UPDATE``,
as filing does: no step changes a key, so rows that reference these (a file, a message) can
still be inserted meanwhile. SQLite has no row locks: its writers already run one at a time.
"""

from __future__ import annotations

from functools import cache

from django.db import connection

from policywindow.enterprises.models import Enterprise
from policywindow.policies.models import RuleVersion
from policywindow.system.identity import Columns, fetch_one
from policywindow.workflow.models import WorkflowDefinition, WorkflowInstance, WorkflowTask

from .models import Application

UNREAD = {"answers", "form_snapshot", "eligibility", "notes"}


def _read(model: type) -> Columns:
    return Columns(model, [f.name for f in model._meta.concrete_fields if f.name not in UNREAD])


MODELS = (WorkflowTask, WorkflowInstance, WorkflowDefinition, Application, RuleVersion)
TASK, INSTANCE, WORKFLOW, APPLICATION, RULE_VERSION = PARTS = tuple(_read(m) for m in MODELS)


@cache
def lock_sql(vendor: str) -> str:
    qn = connection.ops.quote_name

    def on(part: Columns, column: str, other: Columns, other_column: str = "id") -> str:
        return (
            f"INNER JOIN {qn(part.table)} ON {qn(part.table)}.{qn(other_column)} = "
            f"{qn(other.table)}.{qn(column)}"
        )

    enterprise = qn(Enterprise._meta.db_table)
    columns = ", ".join(part.sql() for part in PARTS)
    joins = " ".join(
        [
            on(INSTANCE, "instance_id", TASK),
            on(WORKFLOW, "workflow_id", INSTANCE),
            on(APPLICATION, "application_id", TASK),
            on(RULE_VERSION, "rule_version_id", APPLICATION),
            f"INNER JOIN {enterprise} ON {enterprise}.{qn('id')} = "
            f"{qn(APPLICATION.table)}.{qn('enterprise_id')}",
        ]
    )
    locked = ", ".join(qn(part.table) for part in (APPLICATION, INSTANCE, TASK))
    lock = f" FOR NO KEY UPDATE OF {locked}" if vendor == "postgresql" else ""
    return (
        f"SELECT {columns}, {enterprise}.{qn('name')} FROM {qn(TASK.table)} {joins} "  # noqa: S608 - names from the models, the id a parameter
        f"WHERE {qn(TASK.table)}.{qn('id')} = %s{lock}"
    )


def locked_task(task_id: int) -> WorkflowTask | None:
    """The task with ``instance`` (its ``workflow`` and ``application`` set) and ``application``
    (its ``rule_version`` set; also as ``subject``), locked until the end of the caller's
    transaction; None when there is no such task of an application."""
    row = fetch_one(lock_sql(connection.vendor), [task_id])
    if row is None:
        return None
    task, instance, workflow, application, version = _instances(row)
    WorkflowInstance.workflow.field.set_cached_value(instance, workflow)
    WorkflowInstance.application.field.set_cached_value(instance, application)
    Application.rule_version.field.set_cached_value(application, version)
    WorkflowTask.instance.field.set_cached_value(task, instance)
    WorkflowTask.application.field.set_cached_value(task, application)
    task.subject = application
    task.number, task.rule_title = application.number, version.title
    task.enterprise_name = row[-1]
    return task


def _instances(row: tuple) -> list:
    found, start = [], 0
    for model, part in zip(MODELS, PARTS, strict=True):
        end = start + len(part.fields)
        found.append(model.from_db(connection.alias, part.attnames, part.convert(row[start:end])))
        start = end
    return found
