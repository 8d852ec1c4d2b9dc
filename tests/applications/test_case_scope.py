"""Reading follows the same scope as acting (issue 15): whoever works on filed cases reads them —
pages, receipts, materials and the API — within their data scope; a city's window serves the
enterprises it registered and their cases, not the province's."""

from __future__ import annotations

import pytest

from policywindow.applications import selectors
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import intake
from policywindow.enterprises.selectors import enterprises_visible_to
from policywindow.workflow.models import WorkflowTask
from tests.workflow.factories import level, node, publish, users

from .test_intake_factories import all_complete, make_case, make_enterprise, make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_department, make_user):
    bureau = make_department("省营商局（范围）")
    shenyang = make_department("沈阳市营商局（范围）", parent=bureau)
    dalian = make_department("大连市营商局（范围）", parent=bureau)
    tech = make_department("省科技厅（范围）")
    applicant = make_user("scope_qiye", "enterprise", kind="enterprise")
    version = make_version(tech)
    sy_enterprise = make_enterprise("沈阳范围测试有限公司", department=shenyang)
    dl_enterprise = make_enterprise("大连范围测试有限公司", department=dalian)
    return {
        "sy_case": make_case(version, sy_enterprise, applicant, status=S.DISBURSED),
        "dl_case": make_case(version, dl_enterprise, applicant, status=S.SUBMITTED),
        "sy_enterprise": sy_enterprise,
        "dl_enterprise": dl_enterprise,
        "sy_clerk": make_user("sy_c", "city_window_clerk", dept=shenyang),
        "office": make_user("zc_office", "policy_admin", dept=bureau),
        "payer": make_user("czt_p", "finance_officer", dept=bureau),
        "sysadmin": make_user("sys_s", "sys_admin", dept=bureau),
        "outsider": make_user("rev_o", "reviewer", dept=make_department("省商务厅（范围）")),
    }


@pytest.mark.parametrize("who", ["office", "payer"])
def test_those_who_publish_issue_pay_and_archive_read_the_case(world, login, who):
    client = login(world[who])
    case = world["sy_case"]
    detail = client.get(f"/api/v1/applications/{case.pk}")
    assert detail.status_code == 200 and detail.json()["number"] == case.number
    assert client.get(f"/api/v1/applications/{case.pk}/timeline").status_code == 200
    listed = client.get("/api/v1/applications").json()
    assert {item["number"] for item in listed["items"]} >= {case.number}


def test_without_a_case_job_or_scope_the_case_stays_hidden(world, login):
    for who in ("sysadmin", "outsider"):
        response = login(world[who]).get(f"/api/v1/applications/{world['sy_case'].pk}")
        assert response.status_code == 404, who
        assert response.json()["code"] == "not_found"


def test_an_approver_reads_the_case_they_review_outside_their_scope(world, make_user, login):
    case, outsider = world["dl_case"], world["outsider"]
    publish(case.rule, level(node("review", "审核", users(outsider))))
    intake.accept(
        make_user("win", "window_clerk"), case, all_complete(case), expected_revision=case.revision
    )
    assert WorkflowTask.objects.filter(application=case, assignee=outsider).exists()
    assert login(outsider).get(f"/api/v1/applications/{case.pk}").status_code == 200


def test_a_city_window_serves_its_own_citys_enterprises_and_cases(world, login):
    clerk = world["sy_clerk"]
    assert list(selectors.staff_applications(clerk)) == [world["sy_case"]]
    assert list(selectors.intake_queue(clerk)) == []  # 大连's filing waits at 大连's window
    assert list(enterprises_visible_to(clerk)) == [world["sy_enterprise"]]
    client = login(clerk)
    assert client.get(f"/window/cases/{world['sy_case'].pk}/").status_code == 200
    assert client.get(f"/window/cases/{world['dl_case'].pk}/").status_code == 404
    assert client.get(f"/api/v1/applications/{world['dl_case'].pk}").status_code == 404
