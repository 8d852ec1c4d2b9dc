"""审批管理 pages: who sees a case, deciding through the page, batch approval, transfer, withdraw."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.models import Material
from policywindow.applications.services import intake
from policywindow.core import paging
from policywindow.workflow import selectors
from policywindow.workflow.models import WorkflowTask
from tests.applications.test_intake_factories import (
    all_complete,
    make_case,
    make_enterprise,
    make_member,
    make_version,
)
from tests.pdfs import minimal
from tests.workflow.factories import level, node, publish, users

pytestmark = pytest.mark.django_db

PDF = minimal()


@pytest.fixture
def people(make_department, make_user):
    """科技厅 leads and reviews with 财政厅 in parallel, then a leader; plus outsiders."""
    tech, finance, commerce = (
        make_department("省科技厅"),
        make_department("省财政厅"),
        make_department("省商务厅"),
    )
    return {
        "tech": tech,
        "finance": finance,
        "a": make_user("rev_a", "reviewer", dept=tech, real_name="科技审核员"),
        "a2": make_user("rev_a2", "reviewer", dept=tech, real_name="科技审核员二"),
        "b": make_user("rev_b", "reviewer", dept=finance, real_name="财政审核员"),
        "c": make_user("leader_c", "dept_leader", dept=tech, real_name="分管领导"),
        "outsider": make_user("rev_x", "reviewer", dept=commerce, real_name="商务审核员"),
        "clerk": make_user("clerk", "window_clerk"),
        "applicant": make_user("ent", "enterprise", kind="enterprise"),
    }


def two_level_case(people, *, first=None, amount: str = "320000.00"):
    """A case whose workflow is 并审 (tech, finance) → leader; accepted, so level 1 is open."""
    version = make_version(people["tech"])
    publish(
        version.rule,
        first
        or level(
            node("tech", "科技厅审核", users(people["a"])),
            node("finance", "财政厅审核", users(people["b"]), on_reject="supplement"),
        ),
        level(node("leader", "分管领导审批", users(people["c"]))),
    )
    if "enterprise" not in people:
        people["enterprise"] = make_enterprise()
        make_member(people["applicant"], people["enterprise"])
    case = make_case(version, people["enterprise"], people["applicant"])
    case.requested_amount = Decimal(amount)
    case.save(update_fields=["requested_amount"])
    return intake.accept(people["clerk"], case, all_complete(case), expected_revision=case.revision)


def open_task(user) -> WorkflowTask:
    return WorkflowTask.objects.get(assignee=user, status="open")


def post_decision(client, task: WorkflowTask, *, follow: bool = False, **data):
    return client.post(reverse("applications:review_decide", args=[task.pk]), data, follow=follow)


def case_page(client, case) -> str:
    return client.get(reverse("applications:review_case", args=[case.pk])).content.decode()


def field_errors(response, name: str) -> list[str]:
    html = response.content.decode()
    return re.findall(rf'data-field-error="{name}">([^<]*)<', html)


# --------------------------------------------------------------------------- visibility
def test_case_page_is_for_approvers_of_the_case_and_its_lead_department(people, login):
    case = two_level_case(people)
    url = reverse("applications:review_case", args=[case.pk])
    assert login(people["b"]).get(url).status_code == 200  # finance: has a task
    assert login(people["a2"]).get(url).status_code == 200  # tech: the lead department
    assert login(people["outsider"]).get(url).status_code == 404  # neither: no hint it exists


def test_a_reviewing_departments_chief_opens_the_case_from_the_queue(people, login, make_user):
    case = two_level_case(people)
    chief = make_user("fin_chief", "section_chief", dept=people["finance"])
    assert f'href="{reverse("applications:review_case", args=[case.pk])}"' in (
        login(chief).get(reverse("workflow:queue")).content.decode()
    )
    assert login(chief).get(reverse("applications:review_case", args=[case.pk])).status_code == 200


def test_a_past_task_keeps_the_case_visible(people, login):
    case = two_level_case(people)
    client = login(people["b"])
    post_decision(client, open_task(people["b"]), action="approve", opinion="同意")
    assert client.get(reverse("applications:review_case", args=[case.pk])).status_code == 200


def test_enterprise_users_reach_none_of_the_approval_pages(people, login):
    case = two_level_case(people)
    client = login(people["applicant"])
    task = open_task(people["a"])
    gets = [
        reverse(name)
        for name in ("workflow:todo", "workflow:done", "workflow:queue", "workflow:approvers")
    ] + [reverse("applications:review_stats"), reverse("applications:review_case", args=[case.pk])]
    for url in gets:
        assert client.get(url).status_code == 403, url
    response = post_decision(client, task, action="approve", opinion="同意")
    assert response.status_code == 403
    assert open_task(people["a"]).pk == task.pk


def test_materials_preview_inline_only_for_those_who_see_the_case(people, login):
    case = two_level_case(people)
    material = Material.objects.create(
        enterprise=case.enterprise,
        application=case,
        item_key="audit_report",
        file=SimpleUploadedFile("r.pdf", PDF),
        original_name="研发费用专项审计报告.pdf",
        content_type="application/pdf",
        size=len(PDF),
        sha256=hashlib.sha256(PDF).hexdigest(),
        uploaded_by=people["applicant"],
    )
    url = reverse("applications:review_material", args=[case.pk, material.pk])
    page = case_page(login(people["b"]), case)
    assert f'<iframe src="{url}#navpanes=0&amp;view=FitH"' in page  # object-src is 'none'
    response = login(people["b"]).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert b"".join(response.streaming_content) == PDF
    assert login(people["outsider"]).get(url).status_code == 404


# --------------------------------------------------------------------------- the case page
def test_case_page_shows_form_progress_timeline_and_decision_form(people, login):
    case = two_level_case(people)
    page = case_page(login(people["a"]), case)
    assert "研发项目名称" in page and "高精度数控机床主轴研发" in page  # the form, read-only
    assert 'data-action="review_start"' in page  # the timeline
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page
    assert re.search(r'data-node="tech" data-state="current"', page)
    assert re.search(r'data-node="leader" data-state="pending"', page)
    assert 'data-testid="decision-form"' in page
    assert "退回上一级" not in page  # first level: nowhere to return to
    assert 'data-testid="current-amount">320,000.00 元' in page


@pytest.mark.parametrize(
    ("amount", "note"),
    [
        ("2000000.00", "满足适用条件：申请金额大于 1,000,000 元"),
        ("320000.00", "不满足适用条件（申请金额大于 1,000,000 元），本节点不适用"),
    ],
)
def test_case_page_says_a_nodes_condition_in_words(people, login, amount, note):
    condition = "requested_amount > 1000000 # 申请金额超过 100 万元"
    first = level(node("tech", "科技厅审核", users(people["a"])))
    leader = level(node("leader", "分管领导审批", users(people["c"]), condition=condition))
    version = make_version(people["tech"])
    publish(version.rule, first, leader)
    people.setdefault("enterprise", make_enterprise())
    case = make_case(version, people["enterprise"], people["applicant"])
    case.requested_amount = Decimal(amount)
    case.save(update_fields=["requested_amount"])
    case = intake.accept(people["clerk"], case, all_complete(case), expected_revision=case.revision)
    page = case_page(login(people["a"]), case)
    shown = re.findall(r'data-testid="node-note">.*?</i>([^<]*)</div>', page)
    assert shown == [note]
    assert "requested_amount" not in page


def test_reader_without_a_task_gets_no_decision_form(people, login):
    case = two_level_case(people)
    page = case_page(login(people["a2"]), case)
    assert 'data-testid="decision-form"' not in page
    assert 'data-testid="read-only"' in page


def test_approving_through_the_page_moves_the_case_to_the_next_level(people, login):
    case = two_level_case(people)
    for who in ("a", "b"):
        response = post_decision(
            login(people[who]), open_task(people[who]), action="approve", opinion="同意"
        )
        assert response.status_code == 302 and response.url == reverse("workflow:todo")
    leader = login(people["c"])
    page = case_page(leader, case)
    assert 'data-node="tech" data-state="done"' in page
    assert 'data-node="leader" data-state="current"' in page
    assert "退回上一级" in page
    post_decision(leader, open_task(people["c"]), action="approve", opinion="同意拨付")
    case.refresh_from_db()
    assert case.status == S.APPROVED


def test_reject_without_opinion_is_a_field_error_and_nothing_changes(people, login):
    case = two_level_case(people)
    task = open_task(people["a"])
    response = post_decision(login(people["a"]), task, action="reject", opinion=" ")
    assert response.status_code == 200
    assert field_errors(response, "opinion") == ["请填写审批意见"]
    task.refresh_from_db()
    case.refresh_from_db()
    assert task.status == "open" and case.status == S.IN_REVIEW


def test_the_amount_can_be_lowered_with_a_reason_but_not_raised(people, login):
    case = two_level_case(people)
    client = login(people["a"])
    raised = post_decision(
        client, open_task(people["a"]), action="approve", opinion="同意", approved_amount="400000"
    )
    assert raised.status_code == 200
    assert field_errors(raised, "approved_amount") == ["核定金额不能高于当前金额 320,000.00 元"]
    no_reason = post_decision(
        client, open_task(people["a"]), action="approve", opinion="同意", approved_amount="300000"
    )
    assert field_errors(no_reason, "amount_reason") == ["核减金额时必须填写核减理由"]
    post_decision(
        client,
        open_task(people["a"]),
        action="approve",
        opinion="同意",
        approved_amount="300000",
        amount_reason="部分费用不符合归集口径",
    )
    page = case_page(login(people["b"]), case)
    assert 'data-testid="current-amount">300,000.00 元' in page


def test_a_stale_decision_shows_the_conflict_on_the_refreshed_page(people, login):
    case = two_level_case(people)
    client = login(people["a"])
    task = open_task(people["a"])
    post_decision(client, task, action="approve", opinion="同意")
    response = post_decision(client, task, action="reject", opinion="不同意", follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("applications:review_case", args=[case.pk])
    assert "该任务已处理，不能重复审批" in page
    task.refresh_from_db()
    assert task.status == "approved"


def test_return_to_the_enterprise_lists_each_item_with_its_comment(people, login):
    case = two_level_case(people)
    client = login(people["b"])
    missing = post_decision(
        client,
        open_task(people["b"]),
        action="return_supplement",
        opinion="审计报告缺少公章",
        fix_audit_report="on",
    )
    assert field_errors(missing, "fix_comment_audit_report") == [
        "请写明“研发费用专项审计报告”需要如何补正"
    ]
    post_decision(
        client,
        open_task(people["b"]),
        action="return_supplement",
        opinion="审计报告缺少公章",
        fix_audit_report="on",
        fix_comment_audit_report="请上传加盖公章的审计报告",
    )
    case.refresh_from_db()
    assert case.status == S.SUPPLEMENT_REQUIRED
    notice = case.supplement_notices.get()
    assert [(i["key"], i["comment"]) for i in notice.items] == [
        ("audit_report", "请上传加盖公章的审计报告")
    ]


def test_decision_attachment_is_kept_and_served_to_readers(people, login):
    case = two_level_case(people)
    client = login(people["a"])
    upload = SimpleUploadedFile("核查意见.pdf", PDF, content_type="application/pdf")
    client.post(
        reverse("applications:review_decide", args=[open_task(people["a"]).pk]),
        {"action": "approve", "opinion": "同意", "attachments": [upload]},
    )
    attachment = WorkflowTask.objects.get(assignee=people["a"]).attachments.get()
    url = reverse("applications:review_attachment", args=[attachment.pk])
    assert url in case_page(login(people["b"]), case)
    assert login(people["b"]).get(url).status_code == 200
    assert login(people["outsider"]).get(url).status_code == 404


def test_a_fake_attachment_is_a_field_error(people, login):
    two_level_case(people)
    fake = SimpleUploadedFile("意见.pdf", b"MZ not a pdf", content_type="application/pdf")
    response = login(people["a"]).post(
        reverse("applications:review_decide", args=[open_task(people["a"]).pk]),
        {"action": "approve", "opinion": "同意", "attachments": [fake]},
    )
    assert response.status_code == 200
    assert field_errors(response, "attachments")
    assert open_task(people["a"])


def test_another_users_task_cannot_be_decided_through_the_page(people, login):
    two_level_case(people)
    task = open_task(people["a"])
    response = post_decision(login(people["a2"]), task, action="approve", opinion="同意")
    assert response.status_code == 404
    assert open_task(people["a"]).pk == task.pk


# --------------------------------------------------------------------------- transfer, withdraw
def test_transfer_to_a_colleague_of_the_department(people, login):
    two_level_case(people)
    client = login(people["a"])
    task = open_task(people["a"])
    url = reverse("applications:review_transfer", args=[task.pk])
    wrong = client.post(url, {"to_user": people["b"].pk, "reason": "出差"})
    assert wrong.status_code == 200
    assert field_errors(wrong, "to_user") == ["所选人员不可转办"]
    client.post(url, {"to_user": people["a2"].pk, "reason": "出差，请代为审核"})
    assert open_task(people["a2"]).node_key == "tech"
    task.refresh_from_db()
    assert task.status == "transferred"


def test_withdraw_until_the_next_level_has_acted(people, login):
    case = two_level_case(people)
    client = login(people["a"])
    post_decision(client, open_task(people["a"]), action="approve", opinion="同意")
    mine = WorkflowTask.objects.get(assignee=people["a"], status="approved")
    page = case_page(client, case)
    assert 'data-testid="withdraw-form"' in page
    client.post(reverse("applications:review_withdraw", args=[mine.pk]))
    assert open_task(people["a"]).node_key == "tech"

    post_decision(client, open_task(people["a"]), action="approve", opinion="同意")
    mine = WorkflowTask.objects.get(assignee=people["a"], status="approved")
    post_decision(login(people["b"]), open_task(people["b"]), action="approve", opinion="同意")
    post_decision(login(people["c"]), open_task(people["c"]), action="approve", opinion="同意")
    response = client.post(reverse("applications:review_withdraw", args=[mine.pk]), follow=True)
    assert "不能撤回" in response.content.decode()


# --------------------------------------------------------------------------- lists
def test_todo_is_sorted_by_due_date_with_yellow_and_red_marks(people, login):
    first, second = two_level_case(people), two_level_case(people)
    now = timezone.now()
    WorkflowTask.objects.filter(application=first, assignee=people["a"]).update(
        due_at=now - dt.timedelta(days=3)
    )
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    end_of_today = dt.datetime.combine(
        tomorrow, dt.time.min, tzinfo=timezone.get_current_timezone()
    )
    WorkflowTask.objects.filter(application=second, assignee=people["a"]).update(
        due_at=end_of_today
    )
    page = login(people["a"]).get(reverse("workflow:todo")).content.decode()
    numbers = re.findall(r'data-number="(ZC\d+)"', page)
    assert numbers == [first.number, second.number]
    states = re.findall(r'data-testid="deadline" data-state="(\w+)"', page)
    assert states == ["overdue", "due_soon"]
    overdue_only = login(people["a"]).get(reverse("workflow:todo"), {"overdue": "1"})
    assert re.findall(r'data-number="(ZC\d+)"', overdue_only.content.decode()) == [first.number]


def test_done_lists_my_decisions_newest_first(people, login):
    first, second = two_level_case(people), two_level_case(people)
    client = login(people["a"])
    for case in (first, second):
        task = WorkflowTask.objects.get(application=case, assignee=people["a"])
        post_decision(client, task, action="approve", opinion="同意")
    page = client.get(reverse("workflow:done")).content.decode()
    assert re.findall(r'data-number="(ZC\d+)"', page) == [second.number, first.number]
    assert page.count('data-status="approved"') == 2


def test_batch_approval_reports_each_task(people, login, make_user):
    any_level = level(node("tech", "科技厅审核", users(people["a"], people["a2"])))
    all_level = level(node("tech", "科技厅会审", users(people["a"], people["a2"]), mode="all"))
    one, two = two_level_case(people, first=any_level), two_level_case(people, first=any_level)
    joint = two_level_case(people, first=all_level)
    someone_elses = WorkflowTask.objects.get(application=one, assignee=people["a2"])
    mine = [
        WorkflowTask.objects.get(application=c, assignee=people["a"]) for c in (one, two, joint)
    ]
    client = login(people["a"])

    empty = client.post(reverse("workflow:batch"), {"tasks": [t.pk for t in mine], "opinion": ""})
    assert field_errors(empty, "opinion") == ["请填写批量审批意见"]

    ids = [t.pk for t in mine] + [someone_elses.pk]
    response = client.post(
        reverse("workflow:batch"), {"tasks": ids, "opinion": "同意"}, follow=True
    )
    page = response.content.decode()
    results = dict(re.findall(r'data-task="(\d+)" data-ok="(\d)"', page))
    assert results == {
        str(mine[0].pk): "1",
        str(mine[1].pk): "1",
        str(mine[2].pk): "0",
        str(someone_elses.pk): "0",
    }
    assert "只有或签任务可以批量审批" in page and "审批任务不存在" in page
    assert WorkflowTask.objects.get(pk=someone_elses.pk).status == "cancelled"  # 或签 settled
    assert [WorkflowTask.objects.get(pk=t.pk).status for t in mine] == [
        "approved",
        "approved",
        "open",
    ]


def test_queue_shows_an_any_node_once_with_its_candidates(people, login, make_user):
    chief = make_user("chief", "section_chief", dept=people["tech"], real_name="科长")
    case = two_level_case(
        people,
        first=level(
            node("tech", "科技厅审核", users(people["a"], people["a2"])),
            node("finance", "财政厅审核", users(people["b"])),
        ),
    )
    page = login(chief).get(reverse("workflow:queue")).content.decode()
    rows = re.findall(r'data-number="(ZC\d+)" data-node="(\w+)"', page)
    assert rows == [(case.number, "tech")]  # finance is outside the chief's department
    waiting = re.search(r'data-testid="waiting">(.*?)</td>', page).group(1)
    assert re.sub(r"<[^>]+>", "", waiting) == "科技审核员、科技审核员二"
    leader = make_user("bureau", "bureau_leader", dept=people["tech"])
    everything = login(leader).get(reverse("workflow:queue")).content.decode()
    assert sorted(re.findall(r'data-node="(\w+)"', everything)) == ["finance", "tech"]


def test_todo_pages_continue_in_due_order(people, login, monkeypatch):
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    cases = [two_level_case(people) for _ in range(3)]
    for offset, case in enumerate(cases):  # the last case is the most urgent
        WorkflowTask.objects.filter(application=case, assignee=people["a"]).update(
            due_at=timezone.now() + dt.timedelta(days=10 - offset)
        )
    client = login(people["a"])
    pages = [
        re.findall(
            r'data-number="(ZC\d+)"',
            client.get(reverse("workflow:todo"), {"page": n}).content.decode(),
        )
        for n in (1, 2)
    ]
    assert pages == [[cases[2].number, cases[1].number], [cases[0].number]]


def test_an_hour_limit_past_due_today_is_marked_overdue(people):
    case = two_level_case(people)
    task = WorkflowTask.objects.get(application=case, assignee=people["a"])
    now = timezone.localtime().replace(hour=12, minute=0)
    task.due_at = now - dt.timedelta(minutes=5)
    assert selectors.task_marks([task], now=now)[task.pk].state == "overdue"
    task.due_at = now + dt.timedelta(hours=3)
    assert selectors.task_marks([task], now=now)[task.pk].state == "due_soon"
