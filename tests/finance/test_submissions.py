"""报送财政: submit, sign for (签收) and return (退回) a fund-form batch."""

from __future__ import annotations

import pytest

from policywindow.applications.models import Application, ApplicationEvent
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.finance.models import FinanceSubmission
from policywindow.finance.services import submissions
from policywindow.notifications.models import Notification
from policywindow.system.models import Menu, Role
from tests.finance.factories import make_budget, make_rule
from tests.finance.payments import issued, passed

pytestmark = pytest.mark.django_db
St = FinanceSubmission.Status


@pytest.fixture
def batch(people):
    version = make_rule(people)
    make_budget(version, "2000000")
    return issued(people, [passed(people, version, "300000.00"), passed(people, version)])


def statuses(batch) -> set[str]:
    return set(Application.objects.filter(fund_form__batch=batch).values_list("status", flat=True))


def test_submitting_moves_every_case_to_in_finance_and_tells_finance(people, batch):
    submission = submissions.submit(people.admin, batch.pk)
    assert (submission.status, submission.rounds, submission.submitted_by) == (
        St.SUBMITTED,
        1,
        people.admin,
    )
    assert statuses(batch) == {S.IN_FINANCE}
    lines = ApplicationEvent.objects.filter(action="finance_submit")
    assert lines.count() == 2
    assert f"汇总表 {batch.number} 报送财政" in lines.first().note
    assert AuditEvent.objects.filter(action="finance.submit", object_id=str(submission.pk)).exists()
    told = Notification.objects.get(recipient=people.finance, kind="finance_submitted")
    assert batch.number in told.subject and "2 件" in told.subject


def test_a_batch_is_submitted_once(people, batch):
    submissions.submit(people.admin, batch.pk)
    with pytest.raises(Conflict, match="已报送财政（待签收），不能重复报送"):
        submissions.submit(people.admin, batch.pk)


def test_only_the_policy_office_submits_and_only_finance_signs(people, batch):
    with pytest.raises(PermissionDenied):
        submissions.submit(people.finance, batch.pk)
    submission = submissions.submit(people.admin, batch.pk)
    with pytest.raises(PermissionDenied):
        submissions.receive(people.admin, submission.pk)
    with pytest.raises(PermissionDenied):
        submissions.send_back(people.bureau, submission.pk, "材料不全")


def test_receiving_records_who_and_when_and_tells_the_submitter(people, batch):
    submission = submissions.submit(people.admin, batch.pk)
    submission = submissions.receive(people.finance, submission.pk)
    assert (submission.status, submission.received_by) == (St.RECEIVED, people.finance)
    assert statuses(batch) == {S.IN_FINANCE}
    assert ApplicationEvent.objects.filter(action="finance_receive").count() == 2
    assert Notification.objects.filter(recipient=people.admin, kind="finance_received").exists()
    with pytest.raises(Conflict, match="只有待签收的批次可以签收或退回"):
        submissions.receive(people.finance, submission.pk)


def test_a_returned_batch_goes_back_and_can_be_submitted_again(people, batch):
    submission = submissions.submit(people.admin, batch.pk)
    with pytest.raises(ValidationFailed) as caught:
        submissions.send_back(people.finance, submission.pk, " ")
    assert "退回原因" in caught.value.details["reason"][0]
    submission = submissions.send_back(
        people.finance, submission.pk, "第2份审批表开户银行与账号不符"
    )
    assert (submission.status, submission.return_reason) == (
        St.RETURNED,
        "第2份审批表开户银行与账号不符",
    )
    assert statuses(batch) == {S.PUBLICITY_PASSED}
    back = ApplicationEvent.objects.filter(action="finance_return").first()
    assert "开户银行与账号不符" in back.note and back.to_status == S.PUBLICITY_PASSED
    told = Notification.objects.get(recipient=people.admin, kind="finance_returned")
    assert batch.number in told.subject
    again = submissions.submit(people.admin, batch.pk)
    assert (again.pk, again.status, again.rounds) == (submission.pk, St.SUBMITTED, 2)
    assert again.return_reason == "第2份审批表开户银行与账号不符"  # still readable
    assert statuses(batch) == {S.IN_FINANCE}


def test_a_received_batch_cannot_be_returned(people, batch):
    submission = submissions.submit(people.admin, batch.pk)
    submissions.receive(people.finance, submission.pk)
    with pytest.raises(Conflict, match="当前为“已签收”"):
        submissions.send_back(people.finance, submission.pk, "误签收")


def test_a_batch_outside_the_data_scope_is_not_found(people, batch, make_user):
    role = Role.objects.create(code="dept_submitter", name="部门报送员", data_scope="dept")
    role.menus.set(Menu.objects.filter(permission="finance:submission:submit"))
    stranger = make_user("sw_sub", "dept_submitter", dept=people.trade)
    with pytest.raises(NotFound):
        submissions.submit(stranger, batch.pk)
    assert not FinanceSubmission.objects.exists()
    assert statuses(batch) == {S.PUBLICITY_PASSED}
