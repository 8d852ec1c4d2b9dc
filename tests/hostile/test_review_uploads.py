"""Hostile files through the approver's decision attachments (审批附件) and the departments'
reform evidence (改革佐证材料): refused on the field, nothing stored, nothing decided or filed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from policywindow.reforms.models import ProgressReport, ReformTask
from policywindow.reforms.services.reports import EVIDENCE_MB
from policywindow.workflow.models import TaskAttachment
from policywindow.workflow.services.runtime import ATTACHMENT_MB
from tests.applications.test_intake_factories import make_enterprise, make_member
from tests.reforms import conftest as reform_fixtures
from tests.workflow.test_runtime import accept, open_task, two_level_case

from .payloads import HOSTILE, PDF_AND_IMAGES_ONLY, field_errors, stored_files

# The reform programme's fixtures: the demo organisation and the imported reform table.
org, department, options = reform_fixtures.org, reform_fixtures.department, reform_fixtures.options
supervisor, programme = reform_fixtures.supervisor, reform_fixtures.programme
real_table = reform_fixtures.real_table

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(org, make_department, make_user):
    """Two departments reviewing in parallel, then a leader (as in the workflow tests)."""
    tech, finance = make_department("测试科技厅"), make_department("测试财政厅")
    applicant = make_user("hostile_ent", "enterprise", kind="enterprise")
    enterprise = make_enterprise()
    make_member(applicant, enterprise)
    return {
        "enterprise": enterprise,
        "tech": tech,
        "finance": finance,
        "a": make_user("hostile_rev_a", "reviewer", dept=tech),
        "b": make_user("hostile_rev_b", "reviewer", dept=finance),
        "c": make_user("hostile_leader", "dept_leader", dept=tech),
        "clerk": make_user("hostile_clerk", "window_clerk"),
        "applicant": applicant,
    }


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.id)
def test_a_decision_attachment_is_refused_on_the_field(hostile, people, login):
    accept(people, two_level_case(people))
    task = open_task(people["a"])
    response = login(people["a"]).post(
        reverse("applications:review_decide", args=[task.pk]),
        {"action": "approve", "opinion": "同意", "attachments": [hostile.upload(ATTACHMENT_MB)]},
    )
    assert response.status_code == 200
    reason = PDF_AND_IMAGES_ONLY.get(hostile.id, hostile.reason)
    errors = field_errors(response.content.decode(), "attachments")
    assert any(reason in error for error in errors), errors
    assert open_task(people["a"]).pk == task.pk  # not decided
    assert stored_files() == [] and not TaskAttachment.objects.exists()


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.id)
def test_reform_evidence_is_refused_on_the_field(hostile, programme, make_user, org, login):
    task = ReformTask.objects.get(item__number=16, department=org["DLHG"], locality=org["DL-YSJ"])
    reporter = make_user("hostile_dlhg", "reviewer", dept=org["DLHG"])
    response = login(reporter).post(
        reverse("reforms:report_create", args=[task.pk]),
        {
            "kind": "progress",
            "percent": "50",
            "text": "已完成方案制定。",
            "files": [hostile.upload(EVIDENCE_MB)],
        },
    )
    assert response.status_code == 200
    errors = field_errors(response.content.decode(), "files")
    assert any(hostile.reason in error for error in errors), errors
    assert stored_files() == [] and not ProgressReport.objects.filter(task=task).exists()
