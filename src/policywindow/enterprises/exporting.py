"""企业管理's list as an Excel sheet: the registry columns a clerk works with.

Contact phone, e-mail and bank account are left out: they are personal or payment data kept
encrypted, shown masked on the pages, and a list export has no need of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, QuerySet

from policywindow.core.exports import DATE, MONEY, Column, table_workbook

from .models import Enterprise

TITLE = "企业名录"
COLUMNS = (
    Column("企业名称", 36),
    Column("统一社会信用代码", 22),
    Column("法定代表人", 12),
    Column("注册资本（万元）", 16, MONEY),
    Column("成立日期", 12, DATE),
    Column("所属行业", 30),
    Column("所在地区", 18),
    Column("企业规模", 10),
    Column("从业人员（人）", 12),
    Column("上年营业收入（元）", 20, MONEY),
    Column("资产总额（元）", 20, MONEY),
    Column("高新技术企业", 12),
    Column("科技型中小企业", 14),
    Column("专精特新", 24),
    Column("经办人数", 10),
    Column("登记窗口", 20),
    Column("演示数据", 10),
)


def workbook(enterprises: QuerySet[Enterprise], count: int, filters: dict, actor: Any) -> bytes:
    rows = _rows(enterprises.annotate(member_count=Count("members")))
    return table_workbook(TITLE, COLUMNS, rows, count=count, filters=filters, actor=actor)


def _rows(enterprises: QuerySet[Enterprise]) -> Iterator[list[Any]]:
    for e in enterprises.iterator(chunk_size=2000):
        yield [
            e.name,
            e.credit_code,
            e.legal_representative,
            e.registered_capital,
            e.established_on,
            f"{e.industry.code} {e.industry.name}" if e.industry_id else "",
            e.region.full_name if e.region_id else "",
            e.get_size_display(),
            e.employees,
            e.revenue,
            e.total_assets,
            _yes_no(e.high_tech),
            _yes_no(e.tech_sme),
            e.get_specialized_display(),
            e.member_count,
            e.department.name if e.department_id else "",
            _yes_no(e.is_demo),
        ]


def _yes_no(value: bool) -> str:
    return "是" if value else "否"
