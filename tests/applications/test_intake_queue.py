"""Reads behind the intake pages: the queue's order and data scope, the case search,
the enterprise's own applications and the timeline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404

from policywindow.applications import selectors
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import intake
from policywindow.system.models import Role

from .test_intake_factories import (
    make_case,
    make_enterprise,
    make_member,
    make_version,
    shanghai,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(make_department, department):
    return make_department("沈阳市营商局", parent=department)


@pytest.fixture
def applicant(make_user):
    return make_user("qiye", "enterprise", kind="enterprise")


@pytest.fixture
def cases(department, city, applicant):
    """Two province cases and one city case, submitted on different days."""
    version = make_version(department)
    return {
        "province_old": make_case(
            version,
            make_enterprise("辽宁甲公司"),
            applicant,
            submitted_at=shanghai(2026, 11, 2, 9, 0),
        ),
        "province_new": make_case(
            version,
            make_enterprise("辽宁乙公司"),
            applicant,
            submitted_at=shanghai(2026, 11, 5, 9, 0),
        ),
        "city": make_case(
            version,
            make_enterprise("沈阳丙公司"),
            applicant,
            department=city,
            submitted_at=shanghai(2026, 11, 3, 9, 0),
        ),
    }


def test_queue_is_oldest_first_and_only_waiting_cases(make_user, department, cases, applicant):
    clerk = make_user("prov_clerk", "window_clerk", dept=department)
    make_case(make_version(department), make_enterprise(), applicant, status=S.IN_REVIEW)
    make_case(make_version(department), make_enterprise(), applicant, status=S.DRAFT)
    queue = list(selectors.intake_queue(clerk))
    assert queue == [cases["province_old"], cases["city"], cases["province_new"]]


def test_a_city_clerk_sees_only_the_city_queue(make_user, city, cases, narrowed_scope):
    narrowed_scope("window_clerk")
    clerk = make_user("city_clerk", "window_clerk", dept=city)
    assert list(selectors.intake_queue(clerk)) == [cases["city"]]
    with pytest.raises(Http404):
        selectors.staff_case(clerk, cases["province_old"].pk)


def test_a_scope_granting_the_province_widens_the_city_clerks_queue(
    make_user, department, city, cases
):
    clerk = make_user("city_clerk", "window_clerk", dept=city)
    role = Role.objects.create(code="prov_window", name="省级窗口协办", data_scope="custom")
    role.scope_departments.set([department])
    clerk.roles.add(role)
    assert set(selectors.intake_queue(clerk)) == set(cases.values())


def test_staff_without_a_scope_over_the_department_see_nothing(
    make_user, make_department, cases, narrowed_scope
):
    narrowed_scope("window_clerk")
    elsewhere = make_user("dl_clerk", "window_clerk", dept=make_department("大连市营商局"))
    assert list(selectors.intake_queue(elsewhere)) == []


def test_case_search_filters(make_user, department, cases, applicant):
    clerk = make_user("prov_clerk", "window_clerk", dept=department)
    other_rule = make_version(department, title="专精特新奖励")
    refused = make_case(
        other_rule,
        make_enterprise("辽宁丁公司"),
        applicant,
        status=S.NOT_ACCEPTED,
        submitted_at=shanghai(2026, 11, 10, 23, 30),
    )

    def search(**filters):
        return list(selectors.search_cases(clerk, selectors.CaseFilter(**filters)))

    assert search() == [refused, cases["province_new"], cases["city"], cases["province_old"]]
    assert search(number=cases["city"].number[-4:]) == [cases["city"]]
    assert search(enterprise="乙公司") == [cases["province_new"]]
    assert search(rule_id=other_rule.rule_id) == [refused]
    assert search(status=S.NOT_ACCEPTED) == [refused]
    # Dates are Shanghai dates: 23:30 on 11-10 is the 10th, not the 11th (UTC would say 15:30).
    assert search(submitted_from=dt.date(2026, 11, 10)) == [refused]
    assert search(submitted_from=dt.date(2026, 11, 3), submitted_to=dt.date(2026, 11, 5)) == [
        cases["province_new"],
        cases["city"],
    ]


def test_enterprise_sees_only_its_own_applications(make_user, department, cases, applicant):
    mine = cases["province_old"].enterprise
    make_member(applicant, mine)
    assert list(selectors.enterprise_applications(applicant)) == [cases["province_old"]]
    assert selectors.my_application(applicant, cases["province_old"].pk) == cases["province_old"]
    with pytest.raises(Http404):
        selectors.my_application(applicant, cases["city"].pk)
    stranger = make_user("nobody", "enterprise", kind="enterprise")
    assert list(selectors.enterprise_applications(stranger)) == []


def test_timeline_is_labelled_in_chinese(make_user, department, cases):
    clerk = make_user("prov_clerk", "window_clerk", dept=department, real_name="张明")
    case = cases["province_old"]
    intake.request_supplement(
        clerk, case, [{"key": "audit_report", "comment": "缺盖章页"}], "请补正", expected_revision=0
    )
    entries = selectors.timeline(case)
    assert [(e.action_label, e.from_label, e.to_label) for e in entries] == [
        ("提交申报", "草稿", "待受理"),
        ("一次性告知补正", "待受理", "待补正"),
    ]
    assert entries[1].actor == "张明"
    assert entries[1].note == "请补正"
    assert entries[1].items == [
        {"key": "audit_report", "label": "研发费用专项审计报告", "comment": "缺盖章页"}
    ]


def test_answers_are_rendered_by_item_kind(cases):
    rows = {row.key: row for row in selectors.answer_rows(cases["city"])}
    assert rows["project_name"].value == "高精度数控机床主轴研发"
    assert rows["rd_spend"].value == "3,200,000.00 元"
    assert rows["is_high_tech"].value == "是"
    assert rows["field"].value == "人工智能"
    assert rows["audit_report"].value == "" and rows["audit_report"].spec.is_file
