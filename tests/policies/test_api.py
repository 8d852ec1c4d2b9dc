"""REST API of the policy library: published policies and rules, search, paging, details."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from policywindow.api import services as api_services
from policywindow.policies import services
from tests.pdfs import minimal

from ..api.conftest import bearer

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def client(login, enterprise_user) -> Client:
    return login(enterprise_user)


def test_published_policies_are_public_and_drafts_are_not(published_rule, make_policy):
    make_policy("草稿政策")
    body = Client().get(f"{API}/policies").json()
    assert [p["title"] for p in body["items"]] == ["辽宁省研发费用后补助政策"]


def test_list_policies_with_search_and_paging(client, published_rule, make_policy, policy_admin):
    services.publish_policy(policy_admin, make_policy("稳岗返还政策", theme="employment"))
    make_policy("草稿政策")
    body = client.get(f"{API}/policies", {"page_size": 1}).json()
    assert (body["total"], body["page"], body["page_size"], len(body["items"])) == (2, 1, 1, 1)
    found = client.get(f"{API}/policies", {"q": "研发"}).json()
    assert found["total"] == 1
    policy = found["items"][0]
    assert policy["title"] == "辽宁省研发费用后补助政策"
    assert policy["rules"] == [{"code": "RD-001", "title": "研发费用后补助"}]
    assert "full_text" not in policy
    themed = client.get(f"{API}/policies", {"theme": "employment"}).json()
    assert [p["title"] for p in themed["items"]] == ["稳岗返还政策"]


def test_policy_detail_and_unknown_or_draft_policies(client, published_rule, policy, make_policy):
    body = client.get(f"{API}/policies/{policy.pk}").json()
    assert body["doc_number"] == "辽科发〔2026〕1号"
    assert body["issuing_department"]["name"] == "省营商局"
    assert body["rules"] == [{"code": "RD-001", "title": "研发费用后补助"}]
    assert "full_text" in body and body["industries"] == []
    draft = make_policy("草稿政策")
    missing = client.get(f"{API}/policies/{draft.pk}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_list_and_search_rules(client, published_rule, make_rule, policy_admin):
    make_rule(code="DRAFT-1", title="研发草稿")
    body = client.get(f"{API}/rules", {"q": "研发"}).json()
    assert body["total"] == 1
    rule = body["items"][0]
    assert rule["code"] == "RD-001" and rule["version"] == 1
    assert rule["per_enterprise_cap"] == "5000000.00"  # money as a string with two decimals
    assert rule["window"] == "always"
    assert rule["lead_department"]["name"] == "省营商局"


def test_rule_detail_with_guide_and_items(client, policy_admin, rule, policy):
    version = rule.versions.get()
    services.add_item(
        policy_admin,
        version,
        key="form",
        label="申请表",
        kind="file",
        allowed_types=["pdf"],
        template=SimpleUploadedFile("申请表.pdf", minimal()),
    )
    services.add_item(policy_admin, version, key="amount", label="申请金额", kind="money")
    services.publish_version(policy_admin, version)
    services.publish_policy(policy_admin, policy)
    body = client.get(f"{API}/rules/RD-001").json()
    assert body["guide"]["beneficiaries"] == "在辽宁省内注册的科技型企业"
    assert body["guide"]["review_days"] == 5
    assert [i["key"] for i in body["items"]] == ["form", "amount"]
    assert body["items"][0]["template_url"].startswith("/policies/rules/RD-001/items/")
    assert body["items"][1]["template_url"] is None
    assert client.get(f"{API}/rules/NOPE").status_code == 404


def test_an_access_token_works_too(published_rule, enterprise_user):
    token = api_services.issue_token(
        enterprise_user, name="对接测试", lifetime=dt.timedelta(days=1)
    ).plaintext
    response = Client().get(f"{API}/rules/RD-001", **bearer(token))
    assert response.status_code == 200
    assert response.json()["title"] == "研发费用后补助"


def test_bad_paging_input_is_a_chinese_field_error(client, published_rule):
    response = client.get(f"{API}/policies", {"page": 0})
    assert response.status_code == 400
    assert response.json()["details"]["page"] == ["不能小于 1"]
