"""Existing cases migrate to subjects: every instance and task made before ``0004_subjects``
becomes an application's case, its subject id its application id (the migration's own
UPDATEs, run on the database the suite runs on — PostgreSQL in CI)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.workflow.test_runtime import accept, two_level_case

BEFORE = [("workflow", "0003_instance_withdrawn")]
AFTER = [("workflow", "0004_subjects")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_instances_and_tasks_become_application_subjects(people, clock):
    clock(2026, 11, 26, 10, 0)
    case = accept(people, two_level_case(people))
    try:
        old = migrate(BEFORE)
        Instance = old.get_model("workflow", "WorkflowInstance")
        Task = old.get_model("workflow", "WorkflowTask")
        instance = Instance.objects.get(application_id=case.pk)
        assert Task.objects.filter(application_id=case.pk).count() == 2
        # A case made on the old schema (no subject columns): the migration must fill them.
        Instance.objects.filter(pk=instance.pk).update(started_at=timezone.now())
        new = migrate(AFTER)
    finally:
        migrate(AFTER)
    Instance = new.get_model("workflow", "WorkflowInstance")
    Task = new.get_model("workflow", "WorkflowTask")
    migrated = Instance.objects.get(application_id=case.pk)
    assert (migrated.subject_type, migrated.subject_id) == ("application", case.pk)
    tasks = Task.objects.filter(instance_id=migrated.pk)
    assert {(t.subject_type, t.subject_id, t.application_id) for t in tasks} == {
        ("application", case.pk, case.pk)
    }
    assert tasks.count() == 2
