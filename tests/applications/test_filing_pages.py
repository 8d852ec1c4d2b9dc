"""一表申请 pages: catalogue, form, submit, my applications, receipt, files, counter filing, 补正."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from policywindow.applications.models import Application, Material, SupplementNotice
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import filing
from policywindow.policies.models import RequiredItem, RuleVersion
from policywindow.system.models import User

from .test_filing_factories import (
    CONTACT,
    LICENSE,
    PDF,
    RD_AMOUNT,
    link,
    make_enterprise,
    make_rule,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def enterprise(department):
    return make_enterprise("沈阳测试机器人有限公司", department=department)


@pytest.fixture
def member(make_user, enterprise) -> User:
    user = make_user("page_qiye", "enterprise", kind=User.Kind.ENTERPRISE)
    link(user, enterprise)
    return user


@pytest.fixture
def other_member(make_user) -> User:
    user = make_user("page_qiye2", "enterprise", kind=User.Kind.ENTERPRISE)
    link(user, make_enterprise("大连另一家企业"))
    return user


@pytest.fixture
def rule(department):
    return make_rule(department, code="RD-PG", items=(LICENSE, RD_AMOUNT, CONTACT))


@pytest.fixture
def clerk(make_user, department) -> User:
    return make_user("page_clerk", "window_clerk", dept=department, real_name="窗口王")


def _submitted(member, enterprise, rule) -> Application:
    application = filing.start_application(member, enterprise, rule)
    filing.save_answers(
        member, application, {"rd_amount": "4000000", "contact": "李四"}, {"license": [upload()]}
    )
    return filing.submit(member, application)


# ---------------------------------------------------------------- catalogue


def test_catalog_shows_the_pre_check_badge_per_rule(login, member, rule, department):
    make_rule(
        department,
        code="HT-01",
        title="高新技术企业认定奖励",
        items=(),
        eligibility_expression="high_tech == true # 须为有效期内的高新技术企业",
    )
    make_rule(
        department,
        code="EX-01",
        title="出口信用保险保费补助",
        items=(),
        eligibility_expression="export_value >= 1000000",
    )
    page = login(member).get(reverse("applications:rule_catalog")).content.decode()
    assert page.count('data-testid="badge"') == 3
    assert "可申报" in page and "不符合条件" in page and "信息不全" in page
    assert "须为有效期内的高新技术企业" in page
    assert "缺少属性：上年出口额" in page
    assert "400,000.00 元" in page


def test_catalog_search(login, member, rule, department):
    make_rule(department, code="ZJ-01", title="专精特新小巨人奖励", items=())
    client = login(member)
    page = client.get(reverse("applications:rule_catalog"), {"q": "专精特新"}).content.decode()
    assert "ZJ-01" in page and "RD-PG" not in page


def test_catalog_tells_an_unlinked_user_why_they_cannot_apply(login, make_user, rule):
    loner = make_user("page_loner", "enterprise", kind=User.Kind.ENTERPRISE)
    page = login(loner).get(reverse("applications:rule_catalog")).content.decode()
    assert 'data-testid="no-enterprise"' in page and 'data-testid="apply"' not in page


def test_a_link_to_start_shows_the_rule_in_the_catalogue_and_makes_nothing(login, member, rule):
    client = login(member)
    response = client.get(reverse("applications:apply_start", args=[rule.code]))
    assert response.status_code == 302
    assert response.url == f"{reverse('applications:rule_catalog')}?q={rule.code}"
    assert not Application.objects.exists()
    page = client.get(response.url).content.decode()
    assert reverse("applications:apply_start", args=[rule.code]) in page


# ---------------------------------------------------------------- the form


def test_start_opens_the_prefilled_form_with_the_pre_check(login, member, rule):
    client = login(member)
    response = client.post(reverse("applications:apply_start", args=[rule.code]))
    application = Application.objects.get()
    assert response.url == reverse("applications:apply_form", args=[application.pk])
    page = client.get(response.url).content.decode()
    assert 'value="李四"' in page  # pre-filled from the enterprise record
    assert 'data-status="eligible"' in page and "400,000.00 元" in page
    assert 'enctype="multipart/form-data"' in page


def test_save_draft_then_submit_gives_the_number_and_receipt(login, member, enterprise, rule):
    client = login(member)
    application = filing.start_application(member, enterprise, rule)
    url = reverse("applications:apply_form", args=[application.pk])
    saved = client.post(url, {"rd_amount": "4000000", "contact": "李四", "license": upload()})
    assert saved.status_code == 302
    material = Material.objects.get(application=application)
    done = client.post(
        url,
        {
            "rd_amount": "4000000",
            "contact": "李四",
            "license__keep": [material.pk],
            "action": "submit",
        },
    )
    application.refresh_from_db()
    assert application.status == S.SUBMITTED
    assert done.url == reverse("applications:apply_done", args=[application.pk])
    page = client.get(done.url).content.decode()
    assert application.number in page
    assert reverse("applications:receipt", args=[application.pk]) in page


def test_a_refused_submit_shows_the_field_errors(login, member, enterprise, rule):
    client = login(member)
    application = filing.start_application(member, enterprise, rule)
    url = reverse("applications:apply_form", args=[application.pk])
    response = client.post(url, {"contact": "李四", "action": "submit"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "请上传营业执照" in page and "请填写研发费用专项审计金额" in page
    application.refresh_from_db()
    assert application.status == S.DRAFT and application.answers == {"contact": "李四"}


def test_a_bad_value_is_shown_not_saved(login, member, enterprise, rule):
    client = login(member)
    application = filing.start_application(member, enterprise, rule)
    url = reverse("applications:apply_form", args=[application.pk])
    page = client.post(url, {"rd_amount": "-1", "contact": "改了"}).content.decode()
    assert "研发费用专项审计金额不能为负数" in page and 'value="改了"' in page
    application.refresh_from_db()
    assert application.answers == {"contact": "李四"}


def test_ineligible_answers_are_explained_by_the_live_pre_check(
    login, member, enterprise, department
):
    declared = {"key": "rd_spend", "label": "上年研发费用", "kind": "money"}
    application = filing.start_application(
        member, enterprise, make_rule(department, items=(declared,))
    )
    response = login(member).post(
        reverse("applications:apply_form", args=[application.pk]),
        {"rd_spend": "2400000", "action": "precheck"},
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert 'data-status="ineligible"' in page
    assert "上年研发费用 2,400,000.00 元，低于要求的 3,000,000.00 元" in page
    assert "<html" not in page  # a fragment for htmx
    application.refresh_from_db()
    assert application.answers == {}  # the pre-check saves nothing


def test_outside_the_window_the_submit_says_the_dates(login, member, enterprise, department):
    rule = make_rule(department, items=(), closes_on=timezone.localdate().replace(year=2020))
    application = filing.start_application(member, enterprise, rule)
    page = (
        login(member)
        .post(reverse("applications:apply_form", args=[application.pk]), {"action": "submit"})
        .content.decode()
    )
    assert "申报已截止" in page and "2020年" in page


# ---------------------------------------------------------------- my applications and files


def test_my_list_shows_only_my_enterprise(login, member, enterprise, rule, other_member):
    mine = _submitted(member, enterprise, rule)
    theirs = filing.start_application(
        other_member, other_member.enterprise_membership.enterprise, rule
    )
    page = login(member).get(reverse("applications:my_list")).content.decode()
    assert mine.number in page and f'data-application="{theirs.pk}"' not in page


def test_another_enterprise_gets_404_everywhere(login, member, enterprise, rule, other_member):
    application = _submitted(member, enterprise, rule)
    draft = filing.start_application(member, enterprise, make_rule(rule.policy.issuing_department))
    material = application.materials.get()
    client = login(other_member)
    for url in (
        reverse("applications:apply_form", args=[draft.pk]),
        reverse("applications:apply_done", args=[application.pk]),
        reverse("applications:receipt", args=[application.pk]),
        reverse("applications:material_download", args=[material.pk]),
        reverse("applications:my_detail", args=[application.pk]),
        reverse("applications:apply_supplement", args=[application.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(
            reverse("applications:apply_form", args=[draft.pk]), {"action": "submit"}
        ).status_code
        == 404
    )


def test_receipt_and_files_for_the_enterprise_and_staff_in_scope(
    login, member, enterprise, rule, clerk, make_user
):
    application = _submitted(member, enterprise, rule)
    material = application.materials.get()
    receipt_url = reverse("applications:receipt", args=[application.pk])
    file_url = reverse("applications:material_download", args=[material.pk])
    for user in (member, clerk):
        client = login(user)
        receipt = client.get(receipt_url)
        assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
        assert receipt.content.startswith(b"%PDF-")
        download = client.get(file_url)
        assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
        assert "attachment" in download["Content-Disposition"]
    admin = login(make_user("page_admin", "sys_admin"))
    assert admin.get(receipt_url).status_code == 404
    assert admin.get(file_url).status_code == 404


def test_a_draft_has_no_receipt(login, member, enterprise, rule):
    draft = filing.start_application(member, enterprise, rule)
    assert login(member).get(reverse("applications:receipt", args=[draft.pk])).status_code == 404


def test_item_templates_download_only_from_published_versions(login, member, department):
    rule = make_rule(department, items=(LICENSE,))
    item = RequiredItem.objects.get(rule_version=rule.current)
    item.template_name = "申报书模板.docx"
    item.template_file.save("t.docx", ContentFile(b"PK\x03\x04 template"), save=True)
    client = login(member)
    response = client.get(reverse("applications:item_template", args=[item.pk]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    RuleVersion.objects.filter(pk=rule.current.pk).update(status=RuleVersion.Status.DRAFT)
    assert client.get(reverse("applications:item_template", args=[item.pk])).status_code == 404


# ---------------------------------------------------------------- 窗口代办


def test_the_clerk_files_at_the_counter(login, clerk, enterprise, rule, member):
    client = login(clerk)
    found = client.get(reverse("applications:counter_start"), {"q": enterprise.credit_code})
    assert enterprise.name in found.content.decode()
    started = client.post(
        reverse("applications:counter_start"), {"enterprise": enterprise.pk, "rule": rule.code}
    )
    application = Application.objects.get()
    assert started.url == reverse("applications:counter_form", args=[application.pk])
    assert "窗口代办" in client.get(started.url).content.decode()
    client.post(started.url, {"rd_amount": "4000000", "contact": "李四", "license": upload()})
    material = application.materials.get()
    done = client.post(
        started.url,
        {
            "rd_amount": "4000000",
            "contact": "李四",
            "license__keep": [material.pk],
            "action": "submit",
        },
    )
    application.refresh_from_db()
    assert done.url == reverse("applications:apply_done", args=[application.pk])
    assert (application.channel, application.applicant, application.status) == (
        "window",
        clerk,
        S.SUBMITTED,
    )
    assert application.events.filter(action="submit", note="窗口代办").exists()
    assert client.get(reverse("applications:receipt", args=[application.pk])).status_code == 200
    listed = login(member).get(reverse("applications:my_list")).content.decode()
    assert application.number in listed and "窗口代办" in listed


def test_another_clerks_counter_draft_is_404(login, clerk, enterprise, rule, make_user, department):
    application = filing.start_application(clerk, enterprise, rule, channel="window")
    other = login(make_user("page_clerk2", "window_clerk", dept=department))
    assert other.get(reverse("applications:counter_form", args=[application.pk])).status_code == 404


# ---------------------------------------------------------------- 补正


def test_supplement_shows_only_the_noticed_items_and_resubmits(
    login, member, enterprise, rule, clerk
):
    application = _submitted(member, enterprise, rule)
    Application.objects.filter(pk=application.pk).update(status=S.SUPPLEMENT_REQUIRED)
    SupplementNotice.objects.create(
        application=application,
        items=[
            {"key": "rd_amount", "label": "研发费用专项审计金额", "comment": "与审计报告不一致"}
        ],
        issued_by=clerk,
        issued_at=timezone.now(),
    )
    client = login(member)
    url = reverse("applications:apply_supplement", args=[application.pk])
    page = client.get(url).content.decode()
    assert 'data-item="rd_amount"' in page and 'data-item="contact"' not in page
    assert "与审计报告不一致" in page
    response = client.post(url, {"rd_amount": "3800000"})
    assert response.url == reverse("applications:my_detail", args=[application.pk])
    application.refresh_from_db()
    assert application.status == S.SUBMITTED
    assert Decimal(application.answers["rd_amount"]) == Decimal("3800000")


def test_catalog_marks_rules_ruled_out_by_an_exclusion_group(login, member, enterprise, department):
    giant = make_rule(department, items=(), exclusion_group="zjtx", title="国家级小巨人奖励")
    make_rule(department, items=(), exclusion_group="zjtx", title="省级专精特新奖励")
    filing.submit(member, filing.start_application(member, enterprise, giant))
    page = login(member).get(reverse("applications:rule_catalog")).content.decode()
    assert "贵企业本年度已申报同一互斥组的《国家级小巨人奖励》，同一企业只能享受其一" in page
    assert "互斥不可申报" in page


def test_an_enterprise_user_is_at_home_in_its_space(login, member, enterprise):
    response = login(member).get("/", follow=True)
    assert response.redirect_chain == [(reverse("space:index"), 302)]
    assert enterprise.name in response.content.decode()
