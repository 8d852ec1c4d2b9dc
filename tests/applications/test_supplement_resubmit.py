"""补正 and drafts in the browser: a file found wanting is never kept by default, every refusal
names its item, and a draft saved with one bad file keeps what was typed."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from policywindow.applications.models import Application, Material, SupplementNotice
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import filing
from policywindow.system.models import User

from .test_filing_factories import (
    CONTACT,
    LICENSE,
    OLE,
    RD_AMOUNT,
    link,
    make_enterprise,
    make_rule,
    upload,
)

pytestmark = pytest.mark.django_db

WORD = ("营业执照.doc", OLE, "application/msword")
GENERIC = "申报表有未填写或填写有误的内容"


@pytest.fixture
def member(make_user) -> User:
    user = make_user("rs_qiye", "enterprise", kind=User.Kind.ENTERPRISE)
    link(user, make_enterprise("锦州补正测试电子有限公司"))
    return user


@pytest.fixture
def rule(department):
    return make_rule(department, code="RD-RS", items=(LICENSE, RD_AMOUNT, CONTACT))


@pytest.fixture
def fixing(member, rule, make_user) -> Application:
    """Filed with a licence the window found wanting: 补正 of the licence and the amount."""
    enterprise = member.enterprise_membership.enterprise
    draft = filing.start_application(member, enterprise, rule)
    filing.save_answers(
        member,
        draft,
        {"rd_amount": "4000000", "contact": "李四"},
        {"license": [upload("模糊的营业执照.pdf")]},
    )
    application = filing.submit(member, draft)
    Application.objects.filter(pk=application.pk).update(status=S.SUPPLEMENT_REQUIRED)
    SupplementNotice.objects.create(
        application=application,
        items=[
            {"key": "license", "label": "营业执照", "comment": "扫描件模糊，请重新上传"},
            {"key": "rd_amount", "label": "研发费用专项审计金额", "comment": "与审计报告不一致"},
        ],
        issued_by=make_user("rs_clerk", "window_clerk"),
        issued_at=timezone.now(),
    )
    return application


def _url(application: Application) -> str:
    return reverse("applications:apply_supplement", args=[application.pk])


def _errors(page: str, key: str) -> bool:
    return f'data-field-error="{key}"' in page


def test_the_rejected_file_is_offered_but_not_ticked(login, fixing):
    page = login(fixing.applicant).get(_url(fixing)).content.decode()
    old = Material.objects.get(application=fixing, item_key="license")
    [box] = re.findall(rf'<input[^>]*name="license__keep"[^>]*value="{old.pk}"[^>]*>', page)
    assert "模糊的营业执照.pdf" in page  # still offered, to tick on purpose
    assert "checked" not in box


def test_resubmitting_without_a_new_file_names_the_file_item(login, fixing):
    response = login(fixing.applicant).post(_url(fixing), {"rd_amount": "3800000"})
    page = response.content.decode()
    assert response.status_code == 200
    assert _errors(page, "license") and "请上传营业执照" in page
    fixing.refresh_from_db()
    assert fixing.status == S.SUPPLEMENT_REQUIRED


def test_a_bad_new_file_is_named_on_its_item_and_the_typed_amount_stays(login, fixing):
    response = login(fixing.applicant).post(
        _url(fixing), {"rd_amount": "3800000", "license": upload(*WORD)}
    )
    page = response.content.decode()
    assert _errors(page, "license") and "实际为 Word（DOC） 文件" in page
    assert 'value="3800000"' in page
    assert not _errors(page, "rd_amount")


def test_keeping_the_old_file_and_adding_a_new_one_names_the_limit(login, fixing):
    old = Material.objects.get(application=fixing, item_key="license")
    response = login(fixing.applicant).post(
        _url(fixing),
        {"rd_amount": "3800000", "license__keep": [str(old.pk)], "license": upload()},
    )
    page = response.content.decode()
    assert _errors(page, "license") and "营业执照最多 1 个文件，当前选择了 2 个" in page


def test_a_bad_amount_is_named_on_its_item(login, fixing):
    response = login(fixing.applicant).post(
        _url(fixing), {"rd_amount": "-1", "license": upload("清晰的营业执照.pdf")}
    )
    page = response.content.decode()
    assert _errors(page, "rd_amount") and "研发费用专项审计金额不能为负数" in page
    assert page.count("研发费用专项审计金额不能为负数") == 1  # once, not once per check


def test_a_good_resubmission_replaces_the_rejected_file(login, fixing):
    response = login(fixing.applicant).post(
        _url(fixing), {"rd_amount": "3800000", "license": upload("清晰的营业执照.pdf")}
    )
    assert response.status_code == 302
    fixing.refresh_from_db()
    assert fixing.status == S.SUBMITTED
    assert Decimal(fixing.answers["rd_amount"]) == Decimal("3800000")
    names = [m.original_name for m in Material.objects.filter(application=fixing)]
    assert names == ["清晰的营业执照.pdf"]


# ---------------------------------------------------------------- drafts


def test_a_draft_saved_with_one_bad_file_keeps_the_typed_answers(login, member, rule):
    application = filing.start_application(member, member.enterprise_membership.enterprise, rule)
    url = reverse("applications:apply_form", args=[application.pk])
    response = login(member).post(
        url, {"rd_amount": "4200000", "contact": "王五", "license": upload(*WORD)}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert _errors(page, "license") and "实际为 Word（DOC） 文件" in page
    assert "草稿已保存，但有文件未通过检查" in page
    application.refresh_from_db()
    assert application.answers["contact"] == "王五"
    assert Decimal(application.answers["rd_amount"]) == Decimal("4200000")
    assert not Material.objects.filter(application=application).exists()
    assert 'value="王五"' in page


def test_a_draft_with_a_bad_value_and_a_bad_file_saves_nothing_and_names_both(login, member, rule):
    application = filing.start_application(member, member.enterprise_membership.enterprise, rule)
    url = reverse("applications:apply_form", args=[application.pk])
    page = (
        login(member)
        .post(url, {"rd_amount": "-1", "contact": "王五", "license": upload(*WORD)})
        .content.decode()
    )
    assert _errors(page, "license") and _errors(page, "rd_amount")
    application.refresh_from_db()
    assert application.answers.get("contact") != "王五"


def test_the_service_saves_the_good_files_and_returns_the_refused_ones(member, rule):
    application = filing.start_application(member, member.enterprise_membership.enterprise, rule)
    saved, refused = filing.save_draft(
        member, application, {"contact": "赵六"}, {"license": [upload(*WORD)]}
    )
    assert list(refused) == ["license"] and "Word" in refused["license"][0]
    assert saved.answers["contact"] == "赵六"
    saved, refused = filing.save_draft(member, saved, {"contact": "赵六"}, {"license": [upload()]})
    assert refused == {}
    assert Material.objects.get(application=application).original_name == "营业执照.pdf"
