"""Fixtures of the policy library: an administrator, policies and rules built by the services."""

from __future__ import annotations

from decimal import Decimal

import pytest

from policywindow.policies import services
from policywindow.policies.models import Policy, RequiredItem, Rule
from policywindow.system.models import User


@pytest.fixture
def policy_admin(make_user) -> User:
    return make_user("zcgl", "policy_admin", real_name="政策管理员")


@pytest.fixture
def make_policy(policy_admin, department):
    def make(title: str = "辽宁省研发费用后补助政策", **fields) -> Policy:
        fields.setdefault("issuing_department", department)
        fields.setdefault("theme", "tech")
        return services.create_policy(policy_admin, title=title, **fields)

    return make


@pytest.fixture
def policy(make_policy) -> Policy:
    return make_policy(summary="对企业上年度研发投入给予后补助", doc_number="辽科发〔2026〕1号")


GUIDE = {
    "beneficiaries": "在辽宁省内注册的科技型企业",
    "conditions_text": "上年研发费用不低于 300 万元",
    "standard_text": "按研发费用的 10% 给予补助，最高 500 万元",
    "time_limit_text": "受理后 5 个工作日内",
    "address": "沈阳市和平区某某路 1 号政务服务中心 3 楼",
    "phone": "024-12345678",
}


@pytest.fixture
def make_rule(policy_admin, policy, department):
    def make(code: str = "RD-001", title: str = "研发费用后补助", **fields) -> Rule:
        fields.setdefault("lead_department", department)
        fields.setdefault(
            "eligibility_expression", "rd_spend >= 3000000 # 上年研发费用不低于 300 万元"
        )
        fields.setdefault("amount_formula", "rd_spend * 0.1")
        fields.setdefault("per_enterprise_cap", Decimal("5000000"))
        for name, value in GUIDE.items():
            fields.setdefault(name, value)
        return services.create_rule(
            policy_admin, fields.pop("policy", policy), code=code, title=title, **fields
        )

    return make


@pytest.fixture
def rule(make_rule) -> Rule:
    return make_rule()


def add_items(actor: User, version, *specs: dict) -> list[RequiredItem]:
    return [services.add_item(actor, version, **spec) for spec in specs]


LICENSE = {
    "key": "license",
    "label": "营业执照",
    "kind": "file",
    "allowed_types": ["pdf", "jpg"],
    "material_code": "business_license",
}
RD_AMOUNT = {"key": "rd_amount", "label": "研发费用专项审计金额", "kind": "money"}


@pytest.fixture
def published_rule(policy_admin, rule, policy) -> Rule:
    add_items(policy_admin, rule.versions.get(), LICENSE, RD_AMOUNT)
    services.publish_version(policy_admin, rule.versions.get())
    services.publish_policy(policy_admin, policy)
    rule.refresh_from_db()
    return rule
