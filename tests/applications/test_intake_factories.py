"""Test data for the intake and status tests, built directly with the ORM.

Not a test module of its own (it holds no tests): the intake, status, transition
and API tests import these builders. Industry and Region rows are fetched or
created, since the reference data may or may not have been loaded by migration.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from policywindow.applications.forms import ItemSpec
from policywindow.applications.models import Application, ApplicationEvent
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.calendar import SHANGHAI
from policywindow.core.codes import make_uscc
from policywindow.enterprises.models import Enterprise, EnterpriseMember, Industry, Region
from policywindow.policies.models import Policy, RequiredItem, Rule, RuleVersion
from policywindow.system.models import Department, User
from tests.workflow import factories as workflow_factories

_seq = itertools.count(1)

# (key, label, kind, options)
ITEMS: tuple[tuple[str, str, str, list], ...] = (
    ("project_name", "研发项目名称", "text", []),
    ("rd_spend", "上年研发费用", "money", []),
    ("is_high_tech", "是否高新技术企业", "boolean", []),
    (
        "field",
        "技术领域",
        "choice",
        [{"value": "ai", "label": "人工智能"}, {"value": "bio", "label": "生物医药"}],
    ),
    ("audit_report", "研发费用专项审计报告", "file", []),
)
ANSWERS = {
    "project_name": "高精度数控机床主轴研发",
    "rd_spend": "3200000.00",
    "is_high_tech": True,
    "field": "ai",
    "audit_report": [],
}


def reference_rows() -> tuple[Industry, Region]:
    section, _ = Industry.objects.get_or_create(
        code="C", defaults={"name": "制造业", "level": Industry.Level.SECTION}
    )
    division, _ = Industry.objects.get_or_create(
        code="34",
        defaults={"name": "通用设备制造业", "level": Industry.Level.DIVISION, "parent": section},
    )
    province, _ = Region.objects.get_or_create(
        code="210000", defaults={"name": "辽宁省", "level": Region.Level.PROVINCE}
    )
    city, _ = Region.objects.get_or_create(
        code="210100",
        defaults={"name": "沈阳市", "level": Region.Level.CITY, "parent": province},
    )
    return division, city


def make_enterprise(name: str | None = None, department: Department | None = None) -> Enterprise:
    industry, region = reference_rows()
    n = next(_seq)
    return Enterprise.objects.create(
        credit_code=make_uscc(f"91210100MA{n:07d}"),
        name=name or f"沈阳测试装备制造有限公司{n}",
        legal_representative="王法人",
        industry=industry,
        region=region,
        employees=120,
        revenue=Decimal("52000000.00"),
        total_assets=Decimal("80000000.00"),
        rd_spend=Decimal("3200000.00"),
        bank_account="6222020200112233445",
        department=department,
    )


def make_member(user: User, enterprise: Enterprise) -> EnterpriseMember:
    return EnterpriseMember.objects.create(user=user, enterprise=enterprise)


def make_version(
    department: Department, *, review_days: int = 5, items=ITEMS, title: str = "研发费用后补助"
) -> RuleVersion:
    n = next(_seq)
    policy = Policy.objects.create(
        title=f"关于支持企业研发投入的若干措施（演示）{n}",
        issuing_department=department,
        status=Policy.Status.PUBLISHED,
        is_demo=True,
    )
    rule = Rule.objects.create(policy=policy, code=f"TEST-RD-{n:03d}")
    version = RuleVersion.objects.create(
        rule=rule,
        version=1,
        status=RuleVersion.Status.PUBLISHED,
        title=title,
        lead_department=department,
        review_days=review_days,
        amount_formula="min([rd_spend * 0.1, 500000])",
    )
    for order, (key, label, kind, options) in enumerate(items, start=1):
        RequiredItem.objects.create(
            rule_version=version, key=key, label=label, kind=kind, options=options, order=order
        )
    rule.current = version
    rule.save(update_fields=["current"])
    workflow_factories.publish_single_reviewer(rule)
    return version


def make_case(
    version: RuleVersion,
    enterprise: Enterprise,
    applicant: User,
    *,
    department: Department | None = None,
    status: str = S.SUBMITTED,
    submitted_at: dt.datetime | None = None,
    channel: str = Application.Channel.ONLINE,
) -> Application:
    """A filed application as H3's submit leaves it: number, form copy, answers, timeline."""
    n = next(_seq)
    submitted_at = submitted_at or timezone.now()
    application = Application.objects.create(
        number=f"ZC2026{n:06d}",
        rule=version.rule,
        rule_version=version,
        enterprise=enterprise,
        applicant=applicant,
        channel=channel,
        status=status,
        year=2026,
        form_snapshot=[
            ItemSpec.from_item(item).snapshot() for item in version.items.order_by("order")
        ],
        answers=dict(ANSWERS),
        eligibility={"status": "eligible", "failures": [], "unknowns": []},
        requested_amount=Decimal("320000.00"),
        department=department or version.lead_department,
        submitted_at=submitted_at,
    )
    ApplicationEvent.objects.create(
        application=application,
        occurred_at=submitted_at,
        actor=applicant,
        actor_name=applicant.real_name,
        action="submit",
        from_status=S.DRAFT,
        to_status=S.SUBMITTED,
    )
    return application


def all_complete(application: Application) -> list[dict[str, str]]:
    return [
        {"key": item["key"], "result": "complete", "comment": ""}
        for item in application.form_snapshot
    ]


def shanghai(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)
