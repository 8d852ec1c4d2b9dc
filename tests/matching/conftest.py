"""Fixtures of 政策匹配: published rules and enterprises built with the filing tests' factories."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from policywindow.enterprises.models import Enterprise
from policywindow.policies.models import Rule
from policywindow.system.models import User
from tests.applications.test_filing_factories import link, make_enterprise, make_rule

_seq = itertools.count(1)

RD_RULE = "rd_spend >= 3000000 # 上年研发费用不低于 300 万元"
EMPLOYEE_RULE = "employees > 100 # 从业人员须超过 100 人"


@pytest.fixture
def rule_for(department):
    """A published rule of a published policy (one-reviewer workflow, no required items)."""

    def make(expression: str = RD_RULE, *, formula: str = "rd_spend * 0.1", **fields) -> Rule:
        n = next(_seq)
        fields.setdefault("code", f"M-{n:03d}")
        fields.setdefault("title", f"测试细则{n}")
        fields.setdefault("items", ())
        fields.setdefault("per_enterprise_cap", Decimal("5000000"))
        return make_rule(
            department, eligibility_expression=expression, amount_formula=formula, **fields
        )

    return make


@pytest.fixture
def enterprise_with_agent(make_user):
    """``(enterprise, agent)``: an enterprise and its 经办人 (an enterprise user)."""

    def make(**facts) -> tuple[Enterprise, User]:
        enterprise = make_enterprise(**facts)
        agent = make_user(None, "enterprise", kind=User.Kind.ENTERPRISE)
        link(agent, enterprise)
        return enterprise, agent

    return make


@pytest.fixture
def policy_admin_user(make_user) -> User:
    return make_user("zcgl", "policy_admin", real_name="政策管理员")
