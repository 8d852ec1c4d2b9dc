"""Public pages (no sign-in): policy library, policy detail, rule guide, file downloads."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from policywindow.policies import services
from policywindow.policies.templatetags import policy_tags
from tests.pdfs import minimal

pytestmark = pytest.mark.django_db

PUBLIC_LIST = reverse("policies:public_list")
PDF = minimal("template")


def rule_url(code: str) -> str:
    return reverse("policies:public_rule", args=[code])


def test_the_library_lists_published_policies_with_a_demo_badge(
    published_rule, make_policy, policy_admin
):
    demo = make_policy("演示：稳岗返还政策", theme="employment", is_demo=True)
    services.publish_policy(policy_admin, demo)
    make_policy("尚未发布的政策")
    response = Client().get(PUBLIC_LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "辽宁省研发费用后补助政策" in html and "演示：稳岗返还政策" in html
    assert "尚未发布的政策" not in html
    assert html.count('data-testid="demo-badge"') == 1
    assert rule_url("RD-001") in html  # the policy card links its published rule


def test_search_and_theme_filter(published_rule, make_policy, policy_admin):
    services.publish_policy(policy_admin, make_policy("稳岗返还政策", theme="employment"))
    client = Client()
    searched = client.get(PUBLIC_LIST, {"q": "研发"})
    assert [p.title for p in searched.context["page"]] == ["辽宁省研发费用后补助政策"]
    assert [r.code for r in searched.context["matching_rules"]] == ["RD-001"]
    themed = client.get(PUBLIC_LIST, {"theme": "employment"})
    assert [p.title for p in themed.context["page"]] == ["稳岗返还政策"]
    nothing = client.get(PUBLIC_LIST, {"q": "不存在的关键词"})
    assert 'data-testid="no-results"' in nothing.content.decode()


def test_policy_detail_shows_published_rules_only(published_rule, make_rule, policy):
    make_rule(code="DRAFT-9", title="草稿细则")
    response = Client().get(reverse("policies:public_detail", args=[policy.pk]))
    assert response.status_code == 200
    assert [rule.code for rule, _ in response.context["rules"]] == ["RD-001"]
    assert "草稿细则" not in response.content.decode()


def test_unpublished_things_are_not_found(policy, rule):
    client = Client()
    assert client.get(reverse("policies:public_detail", args=[policy.pk])).status_code == 404
    assert client.get(rule_url("RD-001")).status_code == 404


def test_rule_guide_shows_the_guide_items_and_the_apply_button(published_rule):
    response = Client().get(rule_url("RD-001"))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("惠及对象", "申报条件", "兑现标准", "兑现时限", "受理地址", "咨询电话"):
        assert text in html
    assert "沈阳市和平区某某路 1 号政务服务中心 3 楼" in html
    assert "营业执照" in html and "研发费用专项审计金额" in html
    assert response.context["window"].label == "常年受理"
    link = policy_tags.apply_url("RD-001")
    if link:  # the filing module provides applications:apply_start
        assert f'href="{link}"' in html
    else:
        assert "在线申报即将开通" in html


def test_apply_url_is_empty_when_the_filing_page_does_not_exist(monkeypatch):
    monkeypatch.setattr(policy_tags, "APPLY_URL_NAME", "applications:no_such_page")
    assert policy_tags.apply_url("RD-001") == ""


def test_closed_window_disables_the_apply_button(policy_admin, published_rule):
    draft = services.create_new_version(policy_admin, published_rule)
    services.update_version(
        policy_admin,
        draft,
        opens_on=draft.created_at.date().replace(year=2020),
        closes_on=draft.created_at.date().replace(year=2021),
    )
    services.publish_version(policy_admin, draft)
    response = Client().get(rule_url("RD-001"))
    assert response.context["window"].label == "已截止"
    assert "当前不在申报期" in response.content.decode()


def test_template_download_is_a_checked_public_view(policy_admin, rule, policy):
    version = rule.versions.get()
    item = services.add_item(
        policy_admin,
        version,
        key="form",
        label="申请表",
        kind="file",
        allowed_types=["pdf"],
        template=SimpleUploadedFile("申请表模板.pdf", PDF),
    )
    url = reverse("policies:public_item_template", args=["RD-001", item.pk])
    client = Client()
    assert client.get(url).status_code == 404  # not yet published
    services.publish_version(policy_admin, version)
    services.publish_policy(policy_admin, policy)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert (
        "filename*=utf-8''%E7%94%B3%E8%AF%B7%E8%A1%A8%E6%A8%A1%E6%9D%BF.pdf"
        in response["Content-Disposition"]
    )
    assert 'data-testid="template-download"' in client.get(rule_url("RD-001")).content.decode()
    other = reverse("policies:public_item_template", args=["RD-001", item.pk + 1000])
    assert client.get(other).status_code == 404


def test_attachments_of_published_policies_only(policy_admin, policy):
    attachment = services.add_attachment(
        policy_admin, policy, SimpleUploadedFile("附件一.pdf", PDF)
    )
    url = reverse("policies:public_attachment", args=[policy.pk, attachment.pk])
    client = Client()
    assert client.get(url).status_code == 404
    services.publish_policy(policy_admin, policy)
    assert client.get(url).status_code == 200
    assert (
        client.get(
            reverse("policies:public_attachment", args=[policy.pk + 1, attachment.pk])
        ).status_code
        == 404
    )


def test_withdrawn_policy_hides_its_rules(policy_admin, published_rule, policy):
    services.withdraw_policy(policy_admin, policy, "调整")
    client = Client()
    assert client.get(rule_url("RD-001")).status_code == 404
    assert "辽宁省研发费用后补助政策" not in client.get(PUBLIC_LIST).content.decode()
