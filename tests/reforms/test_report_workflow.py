"""Progress reports reviewed through a drawn 督办审核 workflow (issue 17): filing starts it, each
level's drawn approvers decide on the report page, the outcome moves the report and its task,
a returned report filed again resumes at the node that returned it, a rejected one is final;
the one-step review is refused for such reports and stays for the others."""

from __future__ import annotations

import re
import threading

import pytest
from django.contrib.messages import get_messages
from django.db import close_old_connections, connection
from django.urls import NoReverseMatch, reverse

from policywindow.core.audit import action_label
from policywindow.core.errors import Conflict, PermissionDenied
from policywindow.core.models import AuditEvent
from policywindow.notifications.models import Notification
from policywindow.reforms.models import (
    SUBJECT_TYPE,
    ProgressReport,
    ReformTask,
    ReportEvent,
    ReportStatus,
    TaskStatus,
)
from policywindow.reforms.review import ReportSubject
from policywindow.reforms.services.reports import (
    accept_report,
    resubmit_report,
    return_report,
    submit_report,
)
from policywindow.system.models import Menu, Role, User
from policywindow.workflow import subjects
from policywindow.workflow.models import InstanceStatus, WorkflowInstance, WorkflowTask
from policywindow.workflow.models import TaskStatus as Step
from policywindow.workflow.services import designer, runtime

from .test_reports import completion, progress

pytestmark = pytest.mark.django_db
Action = ReportEvent.Action


# ---------------------------------------------------------------- fixtures


def review_level(key: str, name: str, assignee: dict, **node) -> dict:
    return {
        "name": name,
        "parallel": True,
        "nodes": [
            {
                "key": key,
                "name": name,
                "assignee": assignee,
                "limit": {"value": 5, "unit": "days"},
                **node,
            }
        ],
    }


def publish_review(actor, org, *, lead_role: str = "section_chief", **bureau_node) -> None:
    """Two levels, as the bureau draws them: the lead department's role, then 省营商局's
    改革督办员; published through the designer services."""
    spec = {
        "levels": [
            review_level(
                "lead_review", "牵头部门初审", {"kind": "lead_dept_role", "role_code": lead_role}
            ),
            review_level(
                "bureau_review",
                "省营商局督办复核",
                {"kind": "dept_role", "department_id": org["YSJ"].pk, "role_code": "reform_admin"},
                **bureau_node,
            ),
        ]
    }
    designer.save_draft(actor, SUBJECT_TYPE, spec, "两级督办审核")
    designer.publish(actor, SUBJECT_TYPE)


@pytest.fixture
def dlhg(make_user, org):
    return make_user("dlhg", "reviewer", dept=org["DLHG"], real_name="秦海")


@pytest.fixture
def chief(make_user, org):
    """大连海关's 科长: the first level of the drawn review of its reports."""
    return make_user("dlhg_chief", "section_chief", dept=org["DLHG"], real_name="于洋")


@pytest.fixture
def customs_task(programme, org) -> ReformTask:
    return ReformTask.objects.get(item__number=15, department=org["DLHG"], locality=org["DL-YSJ"])


@pytest.fixture
def drawn(programme, supervisor, chief, org):
    publish_review(supervisor, org)


def open_tasks(report: ProgressReport) -> list[WorkflowTask]:
    return list(
        WorkflowTask.objects.filter(
            subject_type=SUBJECT_TYPE, subject_id=report.pk, status=Step.OPEN
        ).select_related("assignee")
    )


def decide(user, report: ProgressReport, action: str, opinion: str = "同意。"):
    (task,) = [t for t in open_tasks(report) if t.assignee_id == user.pk]
    return runtime.decide(user, task.pk, runtime.Decision(action, opinion))


def refreshed(report: ProgressReport) -> ProgressReport:
    return ProgressReport.objects.select_related("task").get(pk=report.pk)


def steps(report: ProgressReport) -> list[tuple[str, str]]:
    return list(report.events.order_by("id").values_list("action", "node"))


# ---------------------------------------------------------------- the services


def test_reports_are_a_registered_subject_named_in_the_operation_log():
    subject = subjects.get(SUBJECT_TYPE)
    assert isinstance(subject, ReportSubject) and subject.label == "改革任务进展报告"
    assert subject.design_permissions == (
        "reform:workflow:list",
        "reform:workflow:update",
        "reform:workflow:publish",
    )
    assert action_label("reform_report.review_approve") == runtime.STEP_LABELS["review_approve"]
    assert action_label("reform_report.review_approved") == "审核通过"
    # The history speaks of the department that filed the report, never of an enterprise.
    assert "企业" not in "".join(label for _, label in Action.choices)


def test_filing_starts_the_drawn_review_at_the_lead_departments_chief(
    drawn, dlhg, chief, supervisor, customs_task
):
    report = submit_report(dlhg, customs_task, completion())
    report = refreshed(report)
    assert report.status == ReportStatus.SUBMITTED
    assert report.task.status == TaskStatus.REPORTED
    instance = WorkflowInstance.objects.get(subject_type=SUBJECT_TYPE, subject_id=report.pk)
    assert instance.application_id is None and instance.status == InstanceStatus.RUNNING
    assert [(t.assignee, t.node_name) for t in open_tasks(report)] == [(chief, "牵头部门初审")]
    told = Notification.objects.filter(recipient=chief, subject__startswith="新的审批待办")
    assert told.get().link == reverse("reforms:report_detail", args=[report.pk])
    # The one-step reviewers are not asked: the workflow's approvers are.
    assert not Notification.objects.filter(recipient=supervisor, subject__contains="待审核")
    assert steps(report) == [(Action.SUBMIT, ""), (Action.REVIEW_START, "")]
    label = ReportSubject().labels([report.pk])[report.pk]
    assert (label.number, label.party) == ("改革任务 15", "大连海关 · 大连市营商局")
    assert label == ReportSubject().label_of(report)


def test_both_levels_approve_and_the_report_is_adopted(
    drawn, dlhg, chief, supervisor, customs_task
):
    report = submit_report(dlhg, customs_task, completion())
    decide(chief, report, "approve", "初审通过。")
    assert refreshed(report).status == ReportStatus.SUBMITTED
    assert [(t.assignee, t.node_name) for t in open_tasks(report)] == [
        (supervisor, "省营商局督办复核")
    ]

    decide(supervisor, report, "approve", "成效明显，予以采纳。")
    report = refreshed(report)
    assert (report.status, report.reviewed_by, report.review_comment) == (
        ReportStatus.ACCEPTED,
        supervisor,
        "成效明显，予以采纳。",
    )
    # A completion report closes the task, as an acceptance in one step does.
    assert (report.task.status, report.task.percent) == (TaskStatus.ACCEPTED, 100)
    assert report.task.accepted_at is not None
    assert WorkflowInstance.objects.get(subject_id=report.pk).status == InstanceStatus.APPROVED
    assert steps(report)[2:] == [
        (Action.REVIEW_APPROVE, "牵头部门初审"),
        (Action.REVIEW_APPROVE, "省营商局督办复核"),
        (Action.REVIEW_APPROVED, ""),
    ]
    assert Notification.objects.filter(recipient=dlhg, subject__contains="已采纳").exists()
    # One audit event for the last decision, naming what it caused.
    event = AuditEvent.objects.filter(action="reform_report.review_approve").latest("id")
    assert event.after["case"] == {
        "from": ReportStatus.SUBMITTED,
        "to": ReportStatus.ACCEPTED,
        "step": Action.REVIEW_APPROVED,
    }
    assert event.after["reform_task"]["to"]["task_status"] == TaskStatus.ACCEPTED


def test_an_adopted_progress_report_moves_the_task_percent_only(
    drawn, dlhg, chief, supervisor, customs_task
):
    report = submit_report(dlhg, customs_task, progress(40))
    decide(chief, report, "approve")
    decide(supervisor, report, "approve")
    customs_task.refresh_from_db()
    assert (customs_task.status, customs_task.percent) == (TaskStatus.IN_PROGRESS, 40)


def test_returned_for_changes_then_filed_again_resumes_at_the_node(
    drawn, dlhg, chief, supervisor, customs_task
):
    report = submit_report(dlhg, customs_task, completion())
    decide(chief, report, "approve")
    decide(supervisor, report, "return_supplement", "请补充采信检验报告的企业清单。")
    report = refreshed(report)
    assert (report.status, report.review_comment) == (
        ReportStatus.RETURNED,
        "请补充采信检验报告的企业清单。",
    )
    assert report.task.status == TaskStatus.IN_PROGRESS
    assert WorkflowInstance.objects.get(subject_id=report.pk).status == InstanceStatus.SUPPLEMENT
    assert open_tasks(report) == []
    assert Notification.objects.filter(recipient=dlhg, subject__contains="被退回").exists()
    assert runtime.in_review_supplement(SUBJECT_TYPE, report.pk)

    resubmit_report(dlhg, report, completion(text="已补充企业清单。", files=[]))
    report = refreshed(report)
    assert (report.status, report.revision, report.text) == (
        ReportStatus.SUBMITTED,
        2,
        "已补充企业清单。",
    )
    assert (report.reviewed_by, report.review_comment) == (None, "")
    assert report.task.status == TaskStatus.REPORTED
    # Back at the bureau's node that returned it, not at the first level again.
    assert [(t.assignee, t.node_name, t.round) for t in open_tasks(report)] == [
        (supervisor, "省营商局督办复核", 2)
    ]
    assert WorkflowInstance.objects.get(subject_id=report.pk).status == InstanceStatus.RUNNING
    assert steps(report)[-3:] == [
        (Action.REVIEW_RETURN_SUPPLEMENT, "省营商局督办复核"),
        (Action.REVIEW_SUPPLEMENT, ""),
        (Action.RESUBMIT, ""),
    ]
    decide(supervisor, report, "approve")
    assert refreshed(report).status == ReportStatus.ACCEPTED


def test_a_rejected_report_is_final_and_the_department_files_a_new_one(
    drawn, dlhg, chief, supervisor, customs_task, login
):
    report = submit_report(dlhg, customs_task, completion())
    decide(chief, report, "reject", "佐证材料与任务无关，不予采纳。")
    report = refreshed(report)
    assert (report.status, report.get_status_display()) == (ReportStatus.REJECTED, "未采纳")
    assert report.review_comment == "佐证材料与任务无关，不予采纳。"
    assert report.task.status == TaskStatus.IN_PROGRESS
    assert WorkflowInstance.objects.get(subject_id=report.pk).status == InstanceStatus.REJECTED
    with pytest.raises(Conflict, match="未采纳"):
        resubmit_report(dlhg, report, completion())
    page = page_of(login(dlhg), report)
    assert 'data-status="rejected">未采纳<' in page and 'data-testid="report-revise"' not in page
    queue = login(supervisor).get(reverse("reforms:review_queue"), {"status": "rejected"})
    assert f'data-report="{report.pk}"' in queue.content.decode()
    again = submit_report(dlhg, customs_task, completion())
    assert [t.assignee for t in open_tasks(again)] == [chief]


def test_the_second_level_may_send_it_back_a_level(drawn, dlhg, chief, supervisor, customs_task):
    report = submit_report(dlhg, customs_task, completion())
    decide(chief, report, "approve")
    decide(supervisor, report, "return_previous", "请牵头部门再核实数据。")
    assert [(t.assignee, t.round) for t in open_tasks(report)] == [(chief, 2)]
    assert refreshed(report).status == ReportStatus.SUBMITTED


def test_the_one_step_review_is_refused_while_a_workflow_reviews(
    programme, supervisor, chief, dlhg, org, customs_task
):
    earlier_task = ReformTask.objects.get(
        item__number=16, department=org["DLHG"], locality=org["DL-YSJ"]
    )
    earlier = submit_report(dlhg, earlier_task, progress())  # filed before the workflow
    publish_review(supervisor, org)
    report = submit_report(dlhg, customs_task, completion())
    with pytest.raises(Conflict, match="督办审核流程"):
        accept_report(supervisor, report)
    with pytest.raises(Conflict, match="督办审核流程"):
        return_report(supervisor, report, "请补充")
    assert refreshed(report).status == ReportStatus.SUBMITTED
    # A report stays with the review it was filed under.
    assert not WorkflowInstance.objects.filter(subject_id=earlier.pk).exists()
    assert accept_report(supervisor, earlier).status == ReportStatus.ACCEPTED


def test_nothing_is_filed_when_a_level_has_nobody_to_act(
    programme, supervisor, dlhg, org, customs_task
):
    publish_review(supervisor, org)  # 大连海关 has no 科长
    with pytest.raises(Conflict, match=r"牵头部门初审.*没有可办理的审批人"):
        submit_report(dlhg, customs_task, completion())
    assert not ProgressReport.objects.exists()
    customs_task.refresh_from_db()
    assert customs_task.status == TaskStatus.NOT_STARTED


def test_only_the_assigned_approver_decides(drawn, dlhg, chief, supervisor, customs_task):
    report = submit_report(dlhg, customs_task, completion())
    (task,) = open_tasks(report)
    for other in (dlhg, supervisor):
        with pytest.raises(PermissionDenied):
            runtime.decide(other, task.pk, runtime.Decision("approve", "同意"))
    runtime.decide(chief, task.pk, runtime.Decision("approve", "同意"))
    with pytest.raises(Conflict):
        runtime.decide(chief, task.pk, runtime.Decision("approve", "同意"))


def test_a_finished_report_review_cannot_be_reopened(drawn, dlhg, chief, supervisor, customs_task):
    report = submit_report(dlhg, customs_task, progress())
    decide(chief, report, "approve")
    decide(supervisor, report, "approve")
    with pytest.raises(Conflict, match="不能重新审核"):
        runtime.reopen(supervisor, SUBJECT_TYPE, refreshed(report), "异议", action="reopen")


# ---------------------------------------------------------------- the report page


def page_of(client, report: ProgressReport) -> str:
    return client.get(reverse("reforms:report_detail", args=[report.pk])).content.decode()


def post_decision(client, report: ProgressReport, task_id: int, **data):
    url = reverse("reforms:report_decide", args=[report.pk])
    return client.post(url, {"task": task_id, **data})


def test_the_report_page_shows_the_review_and_the_approvers_form(
    drawn, dlhg, chief, supervisor, customs_task, login
):
    report = submit_report(dlhg, customs_task, completion())
    (task,) = open_tasks(report)
    mine = page_of(login(chief), report)
    assert 'data-testid="progress"' in mine and "<svg" in mine
    assert "牵头部门初审" in mine and "省营商局督办复核" in mine and "于洋" in mine
    assert f'data-testid="decision-form" data-task="{task.pk}"' in mine
    assert "驳回（不予采纳）" in mine and "退回修改" in mine
    assert 'value="return_previous"' not in mine  # the first level has no level above
    # The one-step review card is not offered for a workflow-reviewed report.
    bureau = page_of(login(supervisor), report)
    assert 'data-testid="progress"' in bureau
    assert 'data-testid="review-card"' not in bureau and 'data-testid="decision-form"' not in bureau
    department = page_of(login(dlhg), report)
    assert (
        'data-testid="progress"' in department and 'data-testid="decision-form"' not in department
    )


def test_deciding_on_the_report_page(drawn, dlhg, chief, supervisor, customs_task, login):
    report = submit_report(dlhg, customs_task, completion())
    (task,) = open_tasks(report)
    client = login(chief)
    empty = post_decision(client, report, task.pk, action="approve", opinion="")
    assert empty.status_code == 200
    assert re.search(r'data-field-error="opinion">请填写审批意见<', empty.content.decode())
    unchosen = post_decision(client, report, task.pk, opinion="同意")
    assert re.search(r'data-field-error="action">请选择审批结论<', unchosen.content.decode())
    assert open_tasks(report) == [task]

    done = post_decision(client, report, task.pk, action="approve", opinion="初审通过。")
    assert done.status_code == 302 and done.url == reverse(
        "reforms:report_detail", args=[report.pk]
    )
    assert [str(m) for m in get_messages(done.wsgi_request)] == ["已通过：牵头部门初审"]
    # The same task again: already decided, said as a message, never an error page.
    again = post_decision(client, report, task.pk, action="approve", opinion="初审通过。")
    assert again.status_code == 302
    assert "已办理" in str(list(get_messages(again.wsgi_request))[-1])

    (second,) = open_tasks(report)
    bureau_page = page_of(login(supervisor), report)
    assert 'value="return_previous"' in bureau_page
    post_decision(login(supervisor), report, second.pk, action="approve", opinion="采纳。")
    assert refreshed(report).status == ReportStatus.ACCEPTED
    assert "已采纳" in page_of(login(dlhg), report)


def test_a_decision_refused_by_the_runtime_is_a_message(
    drawn, dlhg, chief, supervisor, customs_task, login, monkeypatch
):
    report = submit_report(dlhg, customs_task, completion())
    (task,) = open_tasks(report)

    def conflict(*args, **kwargs):
        raise Conflict("该任务已被他人处理")

    monkeypatch.setattr(runtime, "decide", conflict)
    response = post_decision(login(chief), report, task.pk, action="approve", opinion="同意")
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["该任务已被他人处理"]


def test_deciding_takes_the_approval_permission(drawn, dlhg, chief, customs_task, login, make_user):
    report = submit_report(dlhg, customs_task, completion())
    (task,) = open_tasks(report)
    # A reader of every reform task who is granted no 审批.
    reader_role = Role.objects.create(code="reform_reader", name="改革任务查阅", data_scope="all")
    reader_role.menus.set(Menu.objects.filter(key__in=["reform", "reform.tasks"]))
    reader = make_user("reform_reader", "reform_reader")
    assert 'data-testid="progress"' in page_of(login(reader), report)
    refused = post_decision(login(reader), report, task.pk, action="approve", opinion="同意")
    assert refused.status_code == 403
    # A department's clerk decides tasks, but this one is not his.
    other = post_decision(login(dlhg), report, task.pk, action="approve", opinion="同意")
    assert other.status_code == 302
    assert open_tasks(report) == [task]


def test_an_approver_drawn_from_outside_the_scope_reads_the_report(
    programme, supervisor, dlhg, customs_task, login
):
    outsider = User.objects.get(username="kjt_chief")  # the demo's 省科技厅 科长
    spec = {
        "levels": [review_level("expert", "专家复核", {"kind": "users", "user_ids": [outsider.pk]})]
    }
    designer.save_draft(supervisor, SUBJECT_TYPE, spec)
    designer.publish(supervisor, SUBJECT_TYPE)
    report = submit_report(dlhg, customs_task, completion())
    client = login(outsider)
    assert 'data-testid="decision-form"' in page_of(client, report)
    evidence = report.evidence.get()
    assert client.get(reverse("reforms:evidence", args=[evidence.pk])).status_code == 200
    # Another department's chief without a task still does not.
    stranger = User.objects.get(username="gxt_chief")
    url = reverse("reforms:report_detail", args=[report.pk])
    assert login(stranger).get(url).status_code == 404


def test_the_report_page_reads_a_fixed_number_of_queries(
    drawn, dlhg, chief, supervisor, customs_task, login, django_assert_max_num_queries
):
    report = submit_report(dlhg, customs_task, completion())
    department, bureau = login(dlhg), login(supervisor)

    def counted(client) -> int:
        page_of(client, report)  # warm the session and the caches
        with django_assert_max_num_queries(16) as captured:
            page_of(client, report)
        return len(captured)

    small = counted(department)
    # More decisions, rounds and history lines read no more queries.
    decide(chief, report, "approve")
    decide(supervisor, report, "return_previous", "请再核实")
    decide(chief, report, "approve")
    decide(supervisor, report, "return_supplement", "请补充")
    resubmit_report(dlhg, report, completion(files=[]))
    assert counted(department) == small
    counted(bureau)  # with the approver's decision form


# ---------------------------------------------------------------- menus and permissions


def test_the_bureau_draws_the_review_from_its_menu(supervisor, login):
    menu = Menu.objects.get(key="reform.workflow")
    assert (menu.name, menu.parent.key, menu.permission) == (
        "督办审核流程",
        "reform",
        "reform:workflow:list",
    )
    for code in (*ReportSubject.design_permissions, "approval:task:todo", "approval:task:decide"):
        assert supervisor.has_permission_code(code), code
    client = login(supervisor)
    assert (
        'data-menu="reform.workflow"' in client.get(reverse("reforms:task_list")).content.decode()
    )
    try:
        designer_url = reverse("workflow:type_designer", kwargs={"subject_type": SUBJECT_TYPE})
    except NoReverseMatch:  # the designer page is built beside this work
        pytest.skip("workflow:type_designer is not there yet")
    response = client.get(reverse("reforms:review_workflow"))
    assert response.status_code == 302 and response.url == designer_url
    assert client.get(designer_url).status_code == 200


def test_a_department_cannot_open_the_review_designer(dlhg, login):
    assert login(dlhg).get(reverse("reforms:review_workflow")).status_code == 403


# ---------------------------------------------------------------- concurrency


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_chiefs_approving_at_once_open_the_next_level_once(
    programme, supervisor, dlhg, org, customs_task, make_user
):
    chiefs = [make_user(f"dlhg_chief{n}", "section_chief", dept=org["DLHG"]) for n in range(2)]
    publish_review(supervisor, org)  # 或签 of both chiefs
    report = submit_report(dlhg, customs_task, completion())
    tasks = {t.assignee_id: t.pk for t in open_tasks(report)}
    barrier, results = threading.Barrier(2), []

    def approve(chief) -> None:
        try:
            barrier.wait()
            runtime.decide(chief, tasks[chief.pk], runtime.Decision("approve", "同意"))
            results.append("ok")
        except Conflict as exc:
            results.append(exc.message)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=approve, args=(chief,)) for chief in chiefs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 1 and len(results) == 2
    assert [t.node_name for t in open_tasks(report)] == ["省营商局督办复核"]
    assert ReportEvent.objects.filter(report=report, action=Action.REVIEW_APPROVE).count() == 1
