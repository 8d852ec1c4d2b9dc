"""细则管理 pages: create, edit the draft, items editor, publish, new version, history."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from policywindow.policies import services
from policywindow.policies.models import RequiredItem, Rule, RuleVersion
from policywindow.system.models import Menu, Role
from tests.pdfs import minimal

from .conftest import GUIDE

pytestmark = pytest.mark.django_db

LIST = reverse("policies:rule_list")
CREATE = reverse("policies:rule_create")
PDF = minimal("test")


def version_data(department, **overrides) -> dict:
    data = {
        "title": "高新技术企业认定奖励",
        "lead_department": department.pk,
        "review_days": "5",
        "once_per_year": "on",
        "eligibility_expression": "high_tech == true # 须为有效期内的高新技术企业",
        "amount_formula": "300000",
        **GUIDE,
    }
    data.update(overrides)
    return data


def item_data(**overrides) -> dict:
    data = {
        "label": "高新技术企业证书",
        "key": "certificate",
        "kind": "file",
        "required": "on",
        "allowed_types": ["pdf", "jpg"],
        "max_size_mb": "10",
        "max_files": "1",
    }
    data.update(overrides)
    return data


def test_rule_list_shows_rules_with_their_newest_version(login, policy_admin, rule, make_rule):
    make_rule(code="ZJTX-01", title="专精特新小巨人奖励")
    client = login(policy_admin)
    response = client.get(LIST)
    rows = {r.code: r.head.title for r in response.context["rules"]}
    assert rows == {"RD-001": "研发费用后补助", "ZJTX-01": "专精特新小巨人奖励"}
    assert [r.code for r in client.get(LIST, {"q": "专精特新"}).context["rules"]] == ["ZJTX-01"]
    assert [r.code for r in client.get(LIST, {"state": "published"}).context["rules"]] == []


@pytest.mark.parametrize("who", ["sysadmin", "secadmin", "enterprise_user"])
def test_other_roles_are_refused(request, login, rule, department, who):
    client = login(request.getfixturevalue(who))
    version = rule.versions.get()
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("policies:rule_detail", args=[rule.pk])).status_code == 403
    assert client.post(reverse("policies:version_publish", args=[version.pk])).status_code == 403
    assert (
        client.post(reverse("policies:item_create", args=[version.pk]), item_data()).status_code
        == 403
    )
    assert not RequiredItem.objects.exists()


def test_create_rule_through_the_page(login, policy_admin, policy, department):
    client = login(policy_admin)
    form = client.get(CREATE, {"policy": policy.pk}).context["form"]
    assert form.initial["policy"] == policy.pk
    assert form.fields["review_days"].initial == 5
    response = client.post(
        CREATE, {"policy": policy.pk, "code": "gq-01", **version_data(department)}
    )
    rule = Rule.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("policies:rule_detail", args=[rule.pk])
    assert rule.code == "GQ-01"
    assert rule.versions.get().eligibility_expression.startswith("high_tech == true")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"code": ""}, "code", "请输入细则编码"),
        ({"code": "RD-001"}, "code", "细则编码 RD-001 已存在"),
        ({"title": ""}, "title", "请输入细则名称"),
        ({"lead_department": ""}, "lead_department", "请选择牵头部门"),
        ({"review_days": "abc"}, "review_days", "审核时限须为整数"),
        ({"review_days": "99"}, "review_days", "审核时限须为 1–60 个工作日"),
        (
            {"eligibility_expression": "rd_spend >= 1\nhigh_tech == "},
            "eligibility_expression",
            "第 2 行“high_tech ==”有语法错误",
        ),
        ({"amount_formula": "min([rd_spend"}, "amount_formula", "有"),
        ({"per_enterprise_cap": "abc"}, "per_enterprise_cap", "请输入金额数字，单位为元"),
        ({"annual_budget": "1.234"}, "annual_budget", "金额最多保留两位小数"),
        ({"opens_on": "2026-02-30"}, "opens_on", "请输入正确的日期"),
    ],
)
def test_bad_rule_input_is_a_chinese_field_error(
    login, policy_admin, policy, rule, department, overrides, field, message
):
    data = {"policy": policy.pk, "code": "NEW-01", **version_data(department)}
    data.update(overrides)
    response = login(policy_admin).post(CREATE, data)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert Rule.objects.count() == 1


def test_edit_the_draft_and_see_field_errors(login, policy_admin, rule, department):
    version = rule.versions.get()
    url = reverse("policies:version_update", args=[version.pk])
    client = login(policy_admin)
    bad = client.post(url, version_data(department, eligibility_expression="revenue >>= 5"))
    assert (
        "第 1 行“revenue >>= 5”有语法错误"
        in bad.context["form"].errors["eligibility_expression"][0]
    )
    response = client.post(url, version_data(department, title="高企奖励（修订）"))
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.title == "高企奖励（修订）"


def test_items_editor_add_edit_move_delete(login, policy_admin, rule):
    version = rule.versions.get()
    client = login(policy_admin)
    create = reverse("policies:item_create", args=[version.pk])
    template = SimpleUploadedFile("申请表.pdf", PDF)
    assert client.post(create, {**item_data(), "template": template}).status_code == 302
    bad = client.post(create, item_data(key="choice", kind="choice", options="只有一项"))
    assert bad.status_code == 200
    assert "至少需要两个选项" in bad.context["form"].errors["options"][0]
    bad = client.post(create, item_data(key="Certificate 2"))
    assert "字段标识须以小写字母开头" in bad.context["form"].errors["key"][0]
    client.post(
        create, item_data(key="scale", label="企业规模", kind="choice", options="大型\n中型\n小型")
    )
    scale = version.items.get(key="scale")
    assert scale.options == ["大型", "中型", "小型"]
    assert scale.allowed_types == []  # file settings do not apply to a choice

    edit = reverse("policies:item_update", args=[scale.pk])
    assert client.get(edit).context["form"].initial["options"] == ["大型", "中型", "小型"]
    client.post(
        edit, item_data(key="scale", label="企业规模（上年末）", kind="choice", options="大\n小")
    )
    scale.refresh_from_db()
    assert (scale.label, scale.options) == ("企业规模（上年末）", ["大", "小"])

    client.post(reverse("policies:item_move", args=[scale.pk]), {"direction": "up"})
    assert list(version.items.values_list("key", flat=True)) == ["scale", "certificate"]
    certificate = version.items.get(key="certificate")
    download = client.get(reverse("policies:item_template", args=[certificate.pk]))
    assert b"".join(download.streaming_content) == PDF
    client.post(reverse("policies:item_delete", args=[scale.pk]))
    assert list(version.items.values_list("key", flat=True)) == ["certificate"]


def test_publish_then_the_published_version_cannot_be_edited(login, policy_admin, rule, department):
    version = rule.versions.get()
    client = login(policy_admin)
    response = client.post(reverse("policies:version_publish", args=[version.pk]), follow=True)
    assert "发布前请至少添加一个要件项" in response.content.decode()
    services.add_item(
        policy_admin, version, key="license", label="营业执照", kind="file", allowed_types=["pdf"]
    )
    client.post(reverse("policies:version_publish", args=[version.pk]))
    version.refresh_from_db()
    assert version.status == RuleVersion.Status.PUBLISHED
    detail = client.get(reverse("policies:rule_detail", args=[rule.pk])).content.decode()
    assert 'data-testid="frozen-note"' in detail and 'data-testid="version-edit"' not in detail

    edit = client.post(
        reverse("policies:version_update", args=[version.pk]), version_data(department), follow=True
    )
    assert "第 1 版已发布，不能修改" in edit.content.decode()
    item = version.items.get()
    client.post(reverse("policies:item_delete", args=[item.pk]))
    client.post(reverse("policies:item_update", args=[item.pk]), item_data(key="license"))
    client.post(reverse("policies:item_create", args=[version.pk]), item_data())
    version.refresh_from_db()
    assert version.title == "研发费用后补助"
    assert list(version.items.values_list("key", "label")) == [("license", "营业执照")]


def test_new_version_publish_and_history_with_the_diff(
    login, policy_admin, published_rule, department
):
    client = login(policy_admin)
    client.post(reverse("policies:rule_new_version", args=[published_rule.pk]))
    draft = published_rule.versions.get(version=2)
    again = client.post(reverse("policies:rule_new_version", args=[published_rule.pk]), follow=True)
    assert "已有未发布的第 2 版草稿" in again.content.decode()
    client.post(
        reverse("policies:version_update", args=[draft.pk]),
        version_data(department, title="研发费用后补助（2026）", amount_formula="rd_spend * 0.12"),
    )
    client.post(
        reverse("policies:item_create", args=[draft.pk]),
        item_data(key="patents", label="发明专利数", kind="integer"),
    )
    client.post(reverse("policies:version_publish", args=[draft.pk]))
    published_rule.refresh_from_db()
    assert published_rule.current == draft

    history = client.get(reverse("policies:rule_history", args=[published_rule.pk]))
    newest, first = history.context["entries"]
    assert first.diff is None
    changed = {c.name: (c.before, c.after) for c in newest.diff.fields}
    assert changed["title"] == ("研发费用后补助", "研发费用后补助（2026）")
    assert changed["amount_formula"] == ("rd_spend * 0.1", "rd_spend * 0.12")
    assert [(i.key, i.change) for i in newest.diff.items] == [("patents", "added")]
    html = history.content.decode()
    assert "研发费用后补助（2026）" in html and "发明专利数" in html


def test_publishing_a_rule_needs_the_publish_permission(login, make_user, rule):
    role = Role.objects.create(code="rule_editor", name="细则录入员", data_scope="all")
    role.menus.set(Menu.objects.filter(permission__in=["policy:rule:list", "policy:rule:update"]))
    client = login(make_user("xize", "rule_editor"))
    version = rule.versions.get()
    page = client.get(reverse("policies:rule_detail", args=[rule.pk]))
    assert 'data-testid="version-publish"' not in page.content.decode()
    assert client.post(reverse("policies:version_publish", args=[version.pk])).status_code == 403


def test_rules_outside_the_data_scope_are_not_found(
    login, make_user, make_department, rule, narrowed_scope
):
    narrowed_scope("policy_admin")
    other = make_user("other_admin", "policy_admin", dept=make_department("鞍山市营商局"))
    client = login(other)
    assert client.get(reverse("policies:rule_detail", args=[rule.pk])).status_code == 404
    assert list(client.get(LIST).context["rules"]) == []
    version = rule.versions.get()
    assert (
        client.post(reverse("policies:item_create", args=[version.pk]), item_data()).status_code
        == 404
    )
