"""Approval benchmark data made through the product's own services (validated and audited).

Approvers (government staff with the 审核科员 role and an API token), rules with the eight
items of ``_fixtures.ITEMS`` and a published workflow drawn with the designer's services, and
cases filed by an enterprise (draft, answers, PDF, submit) and accepted at the window — the
acceptance starts the workflow and opens the first tasks, as in production.

Import this module only after ``django.setup()``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from policywindow.api.services import issue_token
from policywindow.applications.models import Application
from policywindow.applications.services import filing, intake
from policywindow.policies import services as policies
from policywindow.policies.models import Policy, Rule
from policywindow.system.models import Department, Role, User
from policywindow.system.services.users import create_user, generate_password
from policywindow.workflow.services import designer

from . import _fixtures as fx

PDF_NAME = "研发费用专项审计报告.pdf"
# The decision benchmark's workflow: two levels of one 或签 node each, both the approver's.
TWO_LEVELS = (("first", "初审"), ("second", "复审"))

_serial = itertools.count(1)


@dataclass(frozen=True)
class Approver:
    """An approver, the API token they decide with, and the rule whose workflow names them."""

    user: User
    token: str
    rule: Rule


def policy_admin() -> User:
    return User.objects.get(username="bench_policy")


def create_policy(admin: User, department: Department) -> Policy:
    """A draft policy; published with its first rule (``create_rule``)."""
    n = next(_serial)
    return policies.create_policy(
        admin,
        title=f"辽宁省企业研发费用后补助政策（审批基准测试 {n}）",
        doc_number=f"辽科发〔基准〕{100 + n}号",
        issuing_department=department,
        summary="对企业上年度研发投入给予后补助",
    )


def create_rule(admin: User, policy: Policy, department: Department, code: str) -> Rule:
    """A published rule with the eight items of the submissions benchmark."""
    year = timezone.localdate().year
    rule = policies.create_rule(
        admin,
        policy,
        code=code,
        title=f"研发费用后补助（{code}）",
        beneficiaries="在辽宁省内注册、上年研发费用不低于 300 万元的企业",
        conditions_text="上年研发费用不低于 300 万元",
        standard_text="按上年研发费用的 10% 给予补助，最高 500 万元",
        eligibility_expression="rd_spend >= 3000000 # 上年研发费用不低于 300 万元",
        amount_formula="rd_spend * 0.1",
        per_enterprise_cap=Decimal("5000000"),
        annual_budget=Decimal("1000000000"),
        opens_on=dt.date(year, 1, 1),
        closes_on=dt.date(year, 12, 31),
        lead_department=department,
    )
    version = rule.versions.get()
    for item in fx.ITEMS:
        policies.add_item(admin, version, **item)
    policies.publish_version(admin, version)
    policy.refresh_from_db()
    if policy.status != Policy.Status.PUBLISHED:
        policies.publish_policy(admin, policy)
    rule.refresh_from_db()
    return rule


def node(key: str, name: str, user_ids: list[int]) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "assignee": {"kind": "users", "user_ids": user_ids},
        "mode": "any",
        "limit": {"value": 3, "unit": "days"},
        "on_reject": "end",
        "on_timeout": "remind",
        "condition": "",
    }


def publish_workflow(admin: User, rule: Rule, levels: list[dict[str, Any]]) -> None:
    """Draw and publish, as an administrator does in the editor."""
    designer.save_draft(admin, rule, {"levels": levels}, note="基准测试")
    designer.publish(admin, rule)


def create_staff(department: Department, prefix: str, real_name: str) -> User:
    """A 审核科员 with an unusable password (tokens only: PBKDF2 would dominate the setup)."""
    n = next(_serial)
    return create_user(
        None,
        username=f"{prefix}{n:03d}",
        real_name=f"{real_name}{n:03d}",
        password=generate_password(),
        department=department,
        roles=[Role.objects.get(code="reviewer")],
        must_change_password=False,
    )


def create_approvers(setting: fx.Setting, policy: Policy, count: int) -> list[Approver]:
    """``count`` approvers, each with a rule whose two levels both name only them."""
    admin = policy_admin()
    found = []
    for _ in range(count):
        user = create_staff(setting.department, "bench_sp", "审批人")
        rule = create_rule(admin, policy, setting.department, f"BENCH-SP-{user.pk:04d}")
        levels = [
            {"name": name, "parallel": True, "nodes": [node(key, name, [user.pk])]}
            for key, name in TWO_LEVELS
        ]
        publish_workflow(admin, rule, levels)
        token = issue_token(user, name="基准测试", lifetime=dt.timedelta(days=1)).plaintext
        found.append(Approver(user, token, rule))
    return found


def file_case(filer: fx.Filer, rule: Rule, pdf: bytes) -> Application:
    """What an enterprise does: draft, answers, the PDF, submit (the services, no HTTP)."""
    user = filer.user
    app = filing.start_application(user, filer.enterprise, rule)
    app = filing.save_answers(user, app, fx.FORM_DATA, partial=True)
    upload = SimpleUploadedFile(PDF_NAME, pdf, "application/pdf")
    app = filing.add_materials(user, app, fx.FILE_ITEM, [upload])
    return filing.submit(user, app)


def accept(clerk: User, application: Application) -> Application:
    """受理 with every item checked 齐全: starts the rule's workflow."""
    checklist = [
        {"key": item["key"], "result": "complete", "comment": ""}
        for item in application.form_snapshot
    ]
    return intake.accept(clerk, application, checklist, expected_revision=application.revision)
