"""Builders for the 一表申请 tests: ORM rows made directly, independent of other modules' services.

Reference rows use get_or_create, so the tests work with or without the registry's
reference data migration (codes "C"/"39" and "210000"/"210100").
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import zipfile
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from policywindow.core.codes import make_uscc
from policywindow.enterprises.models import Enterprise, EnterpriseMember, Industry, Region
from policywindow.policies.models import Policy, RequiredItem, Rule, RuleVersion
from policywindow.policies.search import normalize
from tests.pdfs import minimal
from tests.workflow import factories as workflow_factories

_seq = itertools.count(1)


PDF = minimal()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
OLE = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 32

LICENSE = {
    "key": "license",
    "label": "营业执照",
    "kind": "file",
    "allowed_types": ["pdf", "jpg"],
    "material_code": "business_license",
    "section": "申报材料",
}
RD_AMOUNT = {
    "key": "rd_amount",
    "label": "研发费用专项审计金额",
    "kind": "money",
    "section": "研发投入",
}
CONTACT = {"key": "contact", "label": "联系人", "kind": "text", "prefill_source": "contact_name"}


def office_zip(kind: str = "docx") -> bytes:
    """A minimal OOXML package: ``[Content_Types].xml`` plus the word/ or xl/ part."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", "<x/>")
    return buffer.getvalue()


def upload(name: str = "营业执照.pdf", content: bytes = PDF, mime: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=mime)


def industry() -> Industry:
    section, _ = Industry.objects.get_or_create(
        code="C", defaults={"name": "制造业", "level": Industry.Level.SECTION}
    )
    division, _ = Industry.objects.get_or_create(
        code="39",
        defaults={
            "name": "计算机、通信和其他电子设备制造业",
            "level": Industry.Level.DIVISION,
            "parent": section,
        },
    )
    return division


def region() -> Region:
    province, _ = Region.objects.get_or_create(
        code="210000", defaults={"name": "辽宁省", "level": Region.Level.PROVINCE}
    )
    city, _ = Region.objects.get_or_create(
        code="210100",
        defaults={"name": "沈阳市", "level": Region.Level.CITY, "parent": province},
    )
    return city


def make_enterprise(name: str | None = None, **fields: Any) -> Enterprise:
    n = next(_seq)
    values = {
        "credit_code": make_uscc(f"91210100{n:08d}X"[:17]),
        "name": name or f"辽宁测试科技有限公司{n}",
        "legal_representative": "张三",
        "industry": industry(),
        "region": region(),
        "employees": 120,
        "revenue": Decimal("50000000"),
        "total_assets": Decimal("80000000"),
        "rd_spend": Decimal("4000000"),
        "contact_name": "李四",
        "established_on": dt.date(2015, 3, 1),
    }
    values.update(fields)
    return Enterprise.objects.create(**values)


def link(user, enterprise: Enterprise) -> EnterpriseMember:
    return EnterpriseMember.objects.create(user=user, enterprise=enterprise)


def make_rule(
    department,
    *,
    code: str | None = None,
    items: tuple[dict, ...] = (LICENSE, RD_AMOUNT),
    **version_fields: Any,
) -> Rule:
    """A published rule of a published policy, with its items."""
    n = next(_seq)
    policy = Policy.objects.create(
        title=f"辽宁省研发费用后补助政策{n}",
        issuing_department=department,
        status=Policy.Status.PUBLISHED,
    )
    rule = Rule.objects.create(policy=policy, code=code or f"RD-{n:03d}")
    values = {
        "title": "研发费用后补助",
        "eligibility_expression": "rd_spend >= 3000000 # 上年研发费用不低于 300 万元",
        "amount_formula": "rd_spend * 0.1",
        "per_enterprise_cap": Decimal("5000000"),
        "lead_department": department,
        "status": RuleVersion.Status.PUBLISHED,
        "published_at": timezone.now(),
    }
    values.update(version_fields)
    values.setdefault("search_text", normalize(f"{rule.code} {values['title']}"))
    version = RuleVersion.objects.create(rule=rule, version=1, **values)
    for order, item in enumerate(items, start=1):
        RequiredItem.objects.create(rule_version=version, order=order, **item)
    rule.current = version
    rule.save(update_fields=["current"])
    workflow_factories.publish_single_reviewer(rule)
    return rule


def many_items(count: int) -> tuple[dict, ...]:
    """``count`` items of mixed kinds (always with one file item)."""
    kinds = ["text", "integer", "money", "date", "boolean", "number", "long_text"]
    items = [LICENSE]
    for i in range(count - 1):
        kind = kinds[i % len(kinds)]
        items.append({"key": f"f{i}", "label": f"字段{i}", "kind": kind, "required": True})
    return tuple(items)


def answer_for(kind: str) -> Any:
    return {
        "text": "文本",
        "integer": "12",
        "money": "1000.50",
        "date": "2026-01-15",
        "boolean": "true",
        "number": "3.5",
        "long_text": "较长的说明",
    }[kind]
