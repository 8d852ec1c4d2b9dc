"""一表申请 services: drafts, pre-fill, refusals, numbering, 补正 resubmission."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from policywindow.applications.models import Application, ApplicationEvent, SupplementNotice
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import filing
from policywindow.core.errors import Conflict, PermissionDenied, ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.system.models import User

from .test_filing_factories import (
    CONTACT,
    LICENSE,
    RD_AMOUNT,
    link,
    make_enterprise,
    make_rule,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def enterprise():
    return make_enterprise("沈阳新松测试科技有限公司")


@pytest.fixture
def member(make_user, enterprise) -> User:
    user = make_user("qiye_a", "enterprise", kind=User.Kind.ENTERPRISE, real_name="企业经办人甲")
    link(user, enterprise)
    return user


@pytest.fixture
def rule(department):
    return make_rule(department, code="RD-001", items=(LICENSE, RD_AMOUNT, CONTACT))


def _filled(member, enterprise, rule) -> Application:
    application = filing.start_application(member, enterprise, rule)
    return filing.save_answers(
        member,
        application,
        {"rd_amount": "4200000.00", "contact": "李四"},
        {"license": [upload()]},
    )


def test_start_snapshots_the_items_and_prefills_from_the_enterprise(member, enterprise, rule):
    application = filing.start_application(member, enterprise, rule)
    assert application.status == S.DRAFT and application.number is None
    assert [item["key"] for item in application.form_snapshot] == [
        "license",
        "rd_amount",
        "contact",
    ]
    assert application.answers == {"contact": "李四"}
    assert application.department == rule.current.lead_department
    assert application.year == timezone.localdate().year
    assert ApplicationEvent.objects.filter(application=application, action="create").exists()


def test_start_reopens_the_open_draft(member, enterprise, rule):
    first = filing.start_application(member, enterprise, rule)
    assert filing.start_application(member, enterprise, rule).pk == first.pk
    assert Application.objects.count() == 1


def test_only_members_file_for_their_enterprise(make_user, enterprise, rule):
    stranger = make_user("qiye_b", "enterprise", kind=User.Kind.ENTERPRISE)
    link(stranger, make_enterprise("另一家企业"))
    with pytest.raises(PermissionDenied):
        filing.start_application(stranger, enterprise, rule)


def test_a_draft_saves_partial_answers_without_required_fields(member, enterprise, rule):
    application = filing.start_application(member, enterprise, rule)
    saved = filing.save_answers(member, application, {"rd_amount": "1234.5"})
    assert saved.status == S.DRAFT
    assert saved.answers == {"rd_amount": "1234.50"}  # the whole form: contact was cleared


def test_a_draft_still_refuses_bad_values(member, enterprise, rule):
    application = filing.start_application(member, enterprise, rule)
    with pytest.raises(ValidationFailed) as refused:
        filing.save_answers(member, application, {"rd_amount": "-5"})
    assert refused.value.details["rd_amount"] == ["研发费用专项审计金额不能为负数"]


def test_submit_numbers_the_application_and_stores_the_assessment(member, enterprise, rule):
    application = filing.submit(member, _filled(member, enterprise, rule))
    year = timezone.localdate().year
    assert application.status == S.SUBMITTED
    assert application.number == f"ZC{year}000001"
    assert application.eligibility["status"] == "eligible"
    assert application.requested_amount == Decimal("400000.00")  # 10% of rd_spend
    assert application.submitted_at is not None
    assert AuditEvent.objects.filter(action="application.submit").count() == 1


def test_an_answer_keyed_like_a_fact_overrides_the_record(member, enterprise, department):
    declared = {
        "key": "rd_spend",
        "label": "上年研发费用",
        "kind": "money",
        "prefill_source": "rd_spend",
    }
    rule = make_rule(department, items=(declared,))
    application = filing.start_application(member, enterprise, rule)
    assert application.answers == {"rd_spend": "4000000.00"}
    filing.save_answers(member, application, {"rd_spend": "4500000"})
    assert filing.submit(member, application).requested_amount == Decimal("450000.00")


def test_submit_requires_the_required_items(member, enterprise, rule):
    application = filing.start_application(member, enterprise, rule)
    with pytest.raises(ValidationFailed) as refused:
        filing.submit(member, application)
    assert refused.value.details["license"] == ["请上传营业执照"]
    assert refused.value.details["rd_amount"] == ["请填写研发费用专项审计金额"]
    application.refresh_from_db()
    assert application.status == S.DRAFT and application.number is None


def test_submit_outside_the_window_says_the_dates(member, enterprise, department):
    today = timezone.localdate()
    rule = make_rule(
        department,
        items=(),
        opens_on=today - dt.timedelta(days=60),
        closes_on=today - dt.timedelta(days=1),
    )
    application = filing.start_application(member, enterprise, rule)
    with pytest.raises(ValidationFailed) as refused:
        filing.submit(member, application)
    closes = today - dt.timedelta(days=1)
    assert refused.value.code == "outside_window"
    assert f"{closes.year}年{closes.month}月{closes.day}日" in refused.value.message
    assert "不在申报期内" in refused.value.message


def test_a_second_application_in_the_year_is_refused(member, enterprise, rule):
    first = filing.submit(member, _filled(member, enterprise, rule))
    with pytest.raises(Conflict) as refused:
        filing.start_application(member, enterprise, rule)
    assert first.number in refused.value.message and "每年限申报一次" in refused.value.message


def test_a_refused_or_withdrawn_application_does_not_block(member, enterprise, rule):
    first = filing.submit(member, _filled(member, enterprise, rule))
    Application.objects.filter(pk=first.pk).update(status=S.NOT_ACCEPTED)
    second = filing.submit(member, _filled(member, enterprise, rule))
    assert second.number.endswith("000002")


def test_duplicate_is_checked_again_at_submit(member, enterprise, rule, make_user):
    colleague = make_user("qiye_c", "enterprise", kind=User.Kind.ENTERPRISE)
    link(colleague, enterprise)
    draft = _filled(member, enterprise, rule)
    other = Application.objects.create(
        rule=rule,
        rule_version=rule.current,
        enterprise=enterprise,
        applicant=colleague,
        year=draft.year,
        status=S.IN_REVIEW,
        number="ZC2026999999",
        department=rule.current.lead_department,
    )
    with pytest.raises(Conflict) as refused:
        filing.submit(member, draft)
    assert other.number in refused.value.message


def test_once_per_year_off_allows_a_second_application(member, enterprise, department):
    rule = make_rule(department, items=(), once_per_year=False)
    filing.submit(member, filing.start_application(member, enterprise, rule))
    second = filing.submit(member, filing.start_application(member, enterprise, rule))
    assert second.status == S.SUBMITTED


def test_an_ineligible_enterprise_is_refused_with_the_reason(member, department, make_user):
    poor = make_enterprise("研发投入不足的企业", rd_spend=Decimal("2400000"))
    user = make_user("qiye_d", "enterprise", kind=User.Kind.ENTERPRISE)
    link(user, poor)
    rule = make_rule(department, items=())
    application = filing.start_application(user, poor, rule)
    with pytest.raises(ValidationFailed) as refused:
        filing.submit(user, application)
    assert refused.value.code == "ineligible"
    assert "上年研发费用 2,400,000.00 元，低于要求的 3,000,000.00 元" in refused.value.message
    assert not Application.objects.exclude(number=None).exists()


def test_an_unknown_attribute_is_refused_with_the_reason(department, make_user):
    unknown = make_enterprise("研发费用未填报的企业", rd_spend=None)
    user = make_user("qiye_e", "enterprise", kind=User.Kind.ENTERPRISE)
    link(user, unknown)
    application = filing.start_application(user, unknown, make_rule(department, items=()))
    with pytest.raises(ValidationFailed) as refused:
        filing.submit(user, application)
    assert refused.value.code == "eligibility_unknown"
    assert "缺少属性：上年研发费用" in refused.value.message


def test_a_failed_submit_leaves_no_gap_in_the_numbers(member, enterprise, department, make_user):
    rule = make_rule(department, items=())
    poor = make_enterprise("不符合条件的企业", rd_spend=Decimal("100"))
    poor_user = make_user("qiye_f", "enterprise", kind=User.Kind.ENTERPRISE)
    link(poor_user, poor)
    with pytest.raises(ValidationFailed):
        filing.submit(poor_user, filing.start_application(poor_user, poor, rule))
    numbered = filing.submit(member, filing.start_application(member, enterprise, rule))
    assert numbered.number.endswith("000001")


def test_counter_filing_is_recorded_as_window(make_user, enterprise, rule):
    clerk = make_user("chuangkou", "window_clerk", real_name="窗口人员")
    application = filing.start_application(clerk, enterprise, rule, channel="window")
    filing.save_answers(
        clerk, application, {"rd_amount": "4000000", "contact": "李四"}, {"license": [upload()]}
    )
    submitted = filing.submit(clerk, application)
    assert submitted.channel == "window" and submitted.applicant == clerk
    notes = set(submitted.events.values_list("note", flat=True))
    assert "窗口代办" in notes


def test_staff_without_the_counter_permission_cannot_file(make_user, enterprise, rule):
    with pytest.raises(PermissionDenied):
        filing.start_application(make_user("audit1", "audit_admin"), enterprise, rule, "window")


def test_resubmit_changes_only_the_noticed_items(member, enterprise, rule, make_user):
    application = filing.submit(member, _filled(member, enterprise, rule))
    clerk = make_user("chuangkou2", "window_clerk")
    Application.objects.filter(pk=application.pk).update(status=S.SUPPLEMENT_REQUIRED)
    notice = SupplementNotice.objects.create(
        application=application,
        items=[
            {"key": "rd_amount", "label": "研发费用专项审计金额", "comment": "与审计报告不一致"}
        ],
        issued_by=clerk,
        issued_at=timezone.now(),
    )
    resubmitted = filing.resubmit_supplement(
        member, application, {"rd_amount": "3900000", "contact": "改不了"}
    )
    notice.refresh_from_db()
    assert resubmitted.status == S.SUBMITTED and notice.resolved_at is not None
    assert resubmitted.answers["rd_amount"] == "3900000.00"
    assert resubmitted.answers["contact"] == "李四"
    assert resubmitted.eligibility["status"] == "eligible"
    assert resubmitted.number == application.number


def test_resubmit_validates_the_noticed_items(member, enterprise, rule, make_user):
    application = filing.submit(member, _filled(member, enterprise, rule))
    Application.objects.filter(pk=application.pk).update(status=S.SUPPLEMENT_REQUIRED)
    SupplementNotice.objects.create(
        application=application,
        items=[{"key": "rd_amount", "label": "研发费用专项审计金额", "comment": "请填写"}],
        issued_by=make_user("chuangkou3", "window_clerk"),
        issued_at=timezone.now(),
    )
    with pytest.raises(ValidationFailed) as refused:
        filing.resubmit_supplement(member, application, {"rd_amount": ""})
    assert refused.value.details == {"rd_amount": ["请填写研发费用专项审计金额"]}
    application.refresh_from_db()
    assert application.status == S.SUPPLEMENT_REQUIRED


def _publish_new_version(rule, *items: dict):
    from policywindow.policies.models import RequiredItem, RuleVersion

    old = rule.current
    new = RuleVersion.objects.create(
        rule=rule,
        version=old.version + 1,
        status=RuleVersion.Status.PUBLISHED,
        title=old.title,
        eligibility_expression=old.eligibility_expression,
        amount_formula=old.amount_formula,
        lead_department=old.lead_department,
    )
    RuleVersion.objects.filter(pk=old.pk).update(status=RuleVersion.Status.SUPERSEDED)
    for order, item in enumerate(items, start=1):
        RequiredItem.objects.create(rule_version=new, order=order, **item)
    rule.current = new
    rule.save(update_fields=["current"])
    return new


def test_a_stale_draft_is_refused_at_submit_and_moved_on_reopening(member, enterprise, rule):
    draft = _filled(member, enterprise, rule)
    changed_kind = {"key": "contact", "label": "联系人人数", "kind": "integer"}
    new = _publish_new_version(rule, LICENSE, RD_AMOUNT, changed_kind)
    with pytest.raises(Conflict) as refused:
        filing.submit(member, draft)
    assert refused.value.code == "version_changed"
    reopened = filing.start_application(member, enterprise, rule)
    assert reopened.pk == draft.pk and reopened.rule_version == new
    assert set(reopened.answers) == {"license", "rd_amount"}  # "contact" changed its kind
    assert [item["label"] for item in reopened.form_snapshot][-1] == "联系人人数"


def test_a_rule_of_the_same_exclusion_group_is_refused(member, enterprise, department):
    giant = make_rule(department, items=(), exclusion_group="zjtx", title="国家级小巨人奖励")
    provincial = make_rule(department, items=(), exclusion_group="zjtx", title="省级专精特新奖励")
    other = make_rule(department, items=(), exclusion_group="gqjl", title="高企认定奖励")
    first = filing.submit(member, filing.start_application(member, enterprise, giant))
    with pytest.raises(Conflict) as refused:
        filing.start_application(member, enterprise, provincial)
    assert refused.value.code == "mutually_exclusive"
    assert "《国家级小巨人奖励》" in refused.value.message and first.number in refused.value.message
    # Another group is unaffected, and a refused case stops counting.
    assert filing.submit(member, filing.start_application(member, enterprise, other)).number
    Application.objects.filter(pk=first.pk).update(status=S.NOT_ACCEPTED)
    assert filing.submit(member, filing.start_application(member, enterprise, provincial)).number
