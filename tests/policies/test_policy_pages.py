"""政策管理 pages: who may see and change policies, data scope, Chinese field errors, actions."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from policywindow.core.models import AuditEvent
from policywindow.policies import services
from policywindow.policies.models import Policy, PolicyAttachment
from policywindow.system.models import Menu, Role
from tests.pdfs import minimal

pytestmark = pytest.mark.django_db

LIST = reverse("policies:policy_list")
CREATE = reverse("policies:policy_create")
PDF = minimal("test")


def form_data(department, **overrides) -> dict:
    data = {
        "title": "辽宁省高新技术企业认定奖励办法",
        "doc_number": "辽科发〔2026〕21号",
        "issuing_department": department.pk,
        "theme": "tech",
        "publish_date": "",
        "effective_from": "2026-01-01",
        "effective_to": "2027-12-31",
        "sizes": ["small", "micro"],
        "summary": "对首次认定的高新技术企业给予奖励",
        "full_text": "第一条 总则\n第二条 奖励标准",
    }
    data.update(overrides)
    return data


def test_policy_admin_sees_the_list_with_search_and_filters(
    login, policy_admin, policy, make_policy
):
    make_policy("稳岗返还政策", theme="employment")
    client = login(policy_admin)
    page = client.get(LIST).context["page"]
    assert {p.title for p in page} == {"辽宁省研发费用后补助政策", "稳岗返还政策"}
    assert [p.title for p in client.get(LIST, {"theme": "employment"}).context["page"]] == [
        "稳岗返还政策"
    ]
    assert [p.title for p in client.get(LIST, {"q": "后补助"}).context["page"]] == [
        "辽宁省研发费用后补助政策"
    ]
    assert list(client.get(LIST, {"status": "published"}).context["page"]) == []


@pytest.mark.parametrize("who", ["sysadmin", "auditor", "enterprise_user"])
def test_other_roles_are_refused(request, login, policy, department, who):
    client = login(request.getfixturevalue(who))
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("policies:policy_detail", args=[policy.pk])).status_code == 403
    assert client.post(CREATE, form_data(department)).status_code == 403
    assert client.post(reverse("policies:policy_publish", args=[policy.pk])).status_code == 403
    policy.refresh_from_db()
    assert policy.status == Policy.Status.DRAFT
    assert Policy.objects.count() == 1


def test_create_through_the_page_is_audited(login, policy_admin, department):
    response = login(policy_admin).post(CREATE, form_data(department))
    policy = Policy.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("policies:policy_detail", args=[policy.pk])
    assert policy.sizes == ["small", "micro"]
    assert policy.full_text == "<p>第一条 总则</p><p>第二条 奖励标准</p>"
    assert policy.created_by == policy_admin
    assert AuditEvent.objects.filter(action="policy.create", object_id=str(policy.pk)).exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "请输入政策名称"),
        ({"issuing_department": ""}, "issuing_department", "请选择发文部门"),
        ({"effective_to": "2025-01-01"}, "effective_to", "失效日期不能早于生效日期"),
        ({"effective_from": "2026-13-40"}, "effective_from", "请输入正确的日期"),
        ({"theme": "x"}, "theme", "选择一个有效的选项"),
    ],
)
def test_bad_input_is_a_chinese_field_error(
    login, policy_admin, department, overrides, field, message
):
    response = login(policy_admin).post(CREATE, form_data(department, **overrides))
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert not Policy.objects.exists()


def test_a_department_outside_the_scope_cannot_be_chosen(
    login, policy_admin, make_department, narrowed_scope
):
    narrowed_scope("policy_admin")
    other = make_department("大连市科技局")
    response = login(policy_admin).post(CREATE, form_data(other))
    assert response.status_code == 200
    assert "issuing_department" in response.context["form"].errors
    assert not Policy.objects.exists()


def test_policies_outside_the_data_scope_are_invisible(
    login, policy_admin, make_user, make_department, department, narrowed_scope
):
    narrowed_scope("policy_admin")
    dalian = make_department("大连市营商局")
    other_admin = make_user("dalian_admin", "policy_admin", dept=dalian)
    theirs = services.create_policy(other_admin, title="大连市人才政策", issuing_department=dalian)
    client = login(policy_admin)
    assert "大连市人才政策" not in client.get(LIST).content.decode()
    assert client.get(reverse("policies:policy_detail", args=[theirs.pk])).status_code == 404
    response = client.post(
        reverse("policies:policy_update", args=[theirs.pk]), form_data(department)
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.title == "大连市人才政策"


def test_edit_shows_the_current_values_and_saves(login, policy_admin, policy, department):
    url = reverse("policies:policy_update", args=[policy.pk])
    client = login(policy_admin)
    assert client.get(url).context["form"].initial["title"] == "辽宁省研发费用后补助政策"
    response = client.post(url, form_data(department, title="辽宁省研发费用后补助政策（修订）"))
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.title == "辽宁省研发费用后补助政策（修订）"


def test_publish_and_withdraw_from_the_detail_page(login, policy_admin, policy):
    client = login(policy_admin)
    detail = reverse("policies:policy_detail", args=[policy.pk])
    assert 'data-testid="policy-publish"' in client.get(detail).content.decode()
    client.post(reverse("policies:policy_publish", args=[policy.pk]))
    policy.refresh_from_db()
    assert policy.status == Policy.Status.PUBLISHED
    response = client.post(reverse("policies:policy_withdraw", args=[policy.pk]), follow=True)
    assert "请填写撤回原因" in response.content.decode()
    policy.refresh_from_db()
    assert policy.status == Policy.Status.PUBLISHED
    client.post(reverse("policies:policy_withdraw", args=[policy.pk]), {"reason": "政策调整"})
    policy.refresh_from_db()
    assert policy.status == Policy.Status.WITHDRAWN


def test_publishing_needs_the_publish_permission(login, make_user, policy):
    editor_role = Role.objects.create(code="policy_editor", name="政策录入员", data_scope="all")
    editor_role.menus.set(
        Menu.objects.filter(permission__in=["policy:policy:list", "policy:policy:update"])
    )
    editor = make_user("luru", "policy_editor")
    client = login(editor)
    detail = client.get(reverse("policies:policy_detail", args=[policy.pk]))
    assert detail.status_code == 200
    assert 'data-testid="policy-publish"' not in detail.content.decode()
    assert client.post(reverse("policies:policy_publish", args=[policy.pk])).status_code == 403
    policy.refresh_from_db()
    assert policy.status == Policy.Status.DRAFT


def test_attachments_upload_download_and_delete(login, policy_admin, policy):
    client = login(policy_admin)
    upload = reverse("policies:attachment_upload", args=[policy.pk])
    response = client.post(
        upload, {"file": SimpleUploadedFile("假文件.pdf", b"<html>")}, follow=True
    )
    assert "的扩展名是 .pdf，但内容不是 PDF 文件" in response.content.decode()
    client.post(upload, {"file": SimpleUploadedFile("实施细则.pdf", PDF)})
    attachment = PolicyAttachment.objects.get()
    download = client.get(reverse("policies:attachment_download", args=[attachment.pk]))
    assert b"".join(download.streaming_content) == PDF
    assert "attachment" in download["Content-Disposition"]
    client.post(reverse("policies:attachment_delete", args=[attachment.pk]))
    assert not PolicyAttachment.objects.exists()
    assert AuditEvent.objects.filter(action="policyattachment.delete").exists()
