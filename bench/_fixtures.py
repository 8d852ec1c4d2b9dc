"""Benchmark data built through the product's own services (validated and audited like real data).

One published rule (研发费用后补助) with eight required items — text, money, date, single
choice, integer, yes/no, an integer pre-filled from the enterprise record, and one PDF — and
any number of enterprises with valid credit codes, each with one enterprise user (经办人)
and that user's API token.

Import this module only after ``django.setup()``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from policywindow.api.services import issue_token
from policywindow.core.codes import make_uscc
from policywindow.core.encrypted import stored_index, stored_value
from policywindow.enterprises import services as enterprises
from policywindow.enterprises.models import Enterprise
from policywindow.policies import services as policies
from policywindow.policies.models import Rule
from policywindow.system.models import Department, Role, User
from policywindow.system.services.departments import save_department
from policywindow.system.services.users import create_user, generate_password

RULE_CODE = "BENCH-RD-001"
FILE_ITEM = "audit_report"
CITIES = ["210100", "210200", "210300", "210800", "211100", "210600"]
INDUSTRIES = ["39", "34", "35", "26", "27", "65"]
# The encrypted columns of an enterprise written by SQL (COPY), in this order.
ENTERPRISE_PERSONAL_COLUMNS = "contact_phone, contact_phone_index, bank_account, bank_account_index"


def enterprise_personal(pk: int, phone: str, account: str) -> tuple[str, str, str, str]:
    """What ``save()`` would store in ``ENTERPRISE_PERSONAL_COLUMNS`` for row ``pk``."""
    return (
        stored_value(Enterprise, "contact_phone", phone, pk),
        stored_index(Enterprise, "contact_phone", phone),
        stored_value(Enterprise, "bank_account", account, pk),
        stored_index(Enterprise, "bank_account", account),
    )


ITEMS: tuple[dict[str, Any], ...] = (
    {"key": "project_name", "label": "研发项目名称", "kind": "text", "section": "项目信息"},
    {
        "key": "rd_amount",
        "label": "研发费用专项审计金额",
        "kind": "money",
        "min_value": Decimal("0"),
        "section": "研发投入",
    },
    {"key": "audit_date", "label": "专项审计报告日期", "kind": "date", "section": "研发投入"},
    {
        "key": "tech_field",
        "label": "技术领域",
        "kind": "choice",
        "options": ["电子信息", "先进制造与自动化", "新材料", "生物与新医药"],
        "section": "项目信息",
    },
    {"key": "rd_staff", "label": "研发人员数（人）", "kind": "integer", "section": "研发投入"},
    {
        "key": "has_platform",
        "label": "是否建有省级以上研发平台",
        "kind": "boolean",
        "section": "项目信息",
    },
    {
        "key": "employee_count",
        "label": "从业人员（人）",
        "kind": "integer",
        "prefill_source": "employees",
        "section": "企业信息",
    },
    {
        "key": FILE_ITEM,
        "label": "研发费用专项审计报告",
        "kind": "file",
        "allowed_types": ["pdf"],
        "max_size_mb": 10,
        "material_code": "rd_audit_report",
        "section": "申报材料",
    },
)

# What an enterprise fills in (JSON, as the API takes it); ``employee_count`` comes pre-filled.
ANSWERS: dict[str, Any] = {
    "project_name": "高可靠工业控制芯片研发",
    "rd_amount": "4200000.00",
    "audit_date": "2026-03-15",
    "tech_field": "电子信息",
    "rd_staff": 36,
    "has_platform": True,
}
# The same answers as form data (what the pages post; the service layer takes this).
FORM_DATA: dict[str, str] = {
    key: ("true" if value is True else str(value)) for key, value in ANSWERS.items()
}


def small_pdf(size_kb: int) -> bytes:
    """A well-formed one-page PDF of about ``size_kb`` KiB (a padded content stream)."""
    text = b"BT /F1 12 Tf 72 720 Td (R&D audit report) Tj ET\n"
    padding = b"%" + b"0" * 78 + b"\n"
    stream = text + padding * max(0, (size_kb * 1024 - 600) // len(padding))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@dataclass(frozen=True)
class Filer:
    """An enterprise and the one user who files for it, with that user's API token."""

    user: User
    enterprise: Enterprise
    token: str


@dataclass(frozen=True)
class Setting:
    department: Department
    clerk: User
    rule: Rule


def _staff(username: str, real_name: str, role: str, department: Department) -> User:
    return create_user(
        None,
        username=username,
        real_name=real_name,
        password=generate_password(),
        department=department,
        roles=[Role.objects.get(code=role)],
        must_change_password=False,
    )


def _rule(admin: User, department: Department) -> Rule:
    """A published policy with one published rule and its eight items, as an administrator does."""
    year = timezone.localdate().year
    policy = policies.create_policy(
        admin,
        title="辽宁省企业研发费用后补助政策（基准测试）",
        doc_number="辽科发〔基准〕1号",
        issuing_department=department,
        summary="对企业上年度研发投入给予后补助",
    )
    rule = policies.create_rule(
        admin,
        policy,
        code=RULE_CODE,
        title="研发费用后补助",
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
    for item in ITEMS:
        policies.add_item(admin, version, **item)
    policies.publish_version(admin, version)
    policies.publish_policy(admin, policy)
    rule.refresh_from_db()
    return rule


def create_setting() -> Setting:
    department = save_department(
        None, Department(), name="辽宁省营商环境建设局（基准测试）", code="BENCH"
    )
    admin = _staff("bench_policy", "基准政策管理员", "policy_admin", department)
    clerk = _staff("bench_clerk", "基准窗口人员", "window_clerk", department)
    return Setting(department, clerk, _rule(admin, department))


_serial = itertools.count(1)


def _enterprise_data(n: int) -> dict[str, Any]:
    return {
        "credit_code": make_uscc(f"91{CITIES[n % len(CITIES)]}MA{n:07d}"[:17]),
        "name": f"辽宁基准测试科技有限公司{n:05d}",
        "legal_representative": "王立新",
        "registered_capital": Decimal("10000000"),
        "established_on": dt.date(2012, 5, 1 + n % 28),
        "industry": INDUSTRIES[n % len(INDUSTRIES)],
        "region": CITIES[n % len(CITIES)],
        "address": f"辽宁省沈阳市浑南区创新路 {n} 号",
        "contact_name": "李晓梅",
        "contact_phone": "024-23456789",
        "bank_name": "中国工商银行沈阳分行",
        "bank_account": f"6222{n:012d}",
        "employees": 80 + n % 300,
        "revenue": Decimal("60000000") + n,
        "total_assets": Decimal("90000000"),
        "rd_spend": Decimal("4200000"),
        "high_tech": True,
    }


def create_filers(setting: Setting, count: int) -> list[Filer]:
    """``count`` enterprises registered by the window clerk, each with a linked user and token.

    The users get an unusable password (they authenticate with their API token): hashing a
    password costs ~0.3 s of PBKDF2 each and would dominate the setup.
    """
    role = Role.objects.get(code="enterprise")
    filers = []
    for _ in range(count):
        n = next(_serial)
        enterprise = enterprises.create_enterprise(setting.clerk, _enterprise_data(n))
        user = User(
            username=f"bench_qy{n:05d}",
            real_name=f"经办人{n:05d}",
            kind=User.Kind.ENTERPRISE,
            must_change_password=False,
        )
        user.set_unusable_password()
        user.save()
        user.roles.set([role])
        enterprises.link_member(setting.clerk, enterprise, user.username)
        issued = issue_token(user, name="基准测试", lifetime=dt.timedelta(days=1))
        filers.append(Filer(user, enterprise, issued.plaintext))
    return filers
