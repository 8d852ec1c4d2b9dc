"""Reads of the enterprise registry. Data scope is applied here, never in views."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from policywindow.core.codes import industry_section_of
from policywindow.core.encrypted import equals
from policywindow.system.datascope import scope_filter

from .models import Enterprise, EnterpriseMember, Industry, Region

# The attributes policy rules evaluate (enterprise_facts keys) and their Chinese names.
FACT_LABELS: dict[str, str] = {
    "employees": "从业人员",
    "revenue": "上年营业收入",
    "total_assets": "资产总额",
    "rd_spend": "上年研发费用",
    "export_value": "上年出口额",
    "registered_capital": "注册资本",
    "high_tech": "高新技术企业",
    "tech_sme": "科技型中小企业",
    "specialized": "专精特新",
    "size": "企业规模",
    "industry": "所属行业",
    "industry_section": "行业门类",
    "region": "所在地区",
    "city": "所在城市",
    "established_years": "成立年限",
}


def enterprise_facts(enterprise: Enterprise, today: dt.date | None = None) -> dict[str, object]:
    """What rules evaluate; an unknown value is None, never a made-up 0.

    ``high_tech`` is true only while the certificate is valid (when its end date is known).
    ``today`` defaults to the local date (a batch passes it once for all its enterprises).
    """
    today = today or timezone.localdate()
    valid_until = enterprise.high_tech_valid_until
    return {
        "employees": enterprise.employees,
        "revenue": enterprise.revenue,
        "total_assets": enterprise.total_assets,
        "rd_spend": enterprise.rd_spend,
        "export_value": enterprise.export_value,
        "registered_capital": enterprise.registered_capital,
        "high_tech": enterprise.high_tech and (valid_until is None or valid_until >= today),
        "tech_sme": enterprise.tech_sme,
        "specialized": enterprise.specialized,
        "size": enterprise.size or None,
        "industry": enterprise.industry_division,
        "industry_section": enterprise.industry_section,
        "region": enterprise.region_id,
        "city": enterprise.city_code,
        "established_years": whole_years(enterprise.established_on, today),
    }


def whole_years(since: dt.date | None, today: dt.date) -> int | None:
    if since is None:
        return None
    years = today.year - since.year
    return years - 1 if (today.month, today.day) < (since.month, since.day) else years


def enterprise_of(user) -> Enterprise | None:
    """The enterprise an enterprise user acts for, or None (staff, or not linked yet)."""
    if not getattr(user, "is_authenticated", False):
        return None
    membership = (
        EnterpriseMember.objects.select_related(
            "enterprise__industry", "enterprise__region", "enterprise__region__parent"
        )
        .filter(user=user)
        .first()
    )
    return membership.enterprise if membership else None


# ---------------------------------------------------------------- staff reads (data scope)


def enterprises_visible_to(viewer) -> QuerySet[Enterprise]:
    """Enterprises registered by windows in the viewer's data scope (or by the viewer)."""
    qs = Enterprise.objects.select_related(
        "industry", "region", "region__parent", "department", "created_by"
    )
    return scope_filter(qs, viewer, dept_field="department", owner_field="created_by")


def search_enterprises(
    viewer,
    *,
    q: str = "",
    section: str = "",
    size: str = "",
    city: str = "",
) -> QuerySet[Enterprise]:
    qs = enterprises_visible_to(viewer)
    if q:
        # Phone and bank account are encrypted: found only whole, through their blind indexes.
        qs = qs.filter(
            Q(name__icontains=q)
            | Q(credit_code__icontains=q.upper())
            | equals(Enterprise, "contact_phone", q)
            | equals(Enterprise, "bank_account", q)
        )
    if section:
        qs = qs.filter(Q(industry__parent_id=section) | Q(industry__parent__parent_id=section))
    if size:
        qs = qs.filter(size=size)
    if city:
        qs = qs.filter(Q(region_id=city) | Q(region__parent_id=city))
    return qs.order_by("name", "id")


def visible_enterprise(viewer, pk: int) -> Enterprise:
    """One enterprise in the viewer's data scope; 404 otherwise (never reveals others)."""
    return get_object_or_404(enterprises_visible_to(viewer), pk=pk)


def members_of(enterprise: Enterprise) -> QuerySet[EnterpriseMember]:
    return enterprise.members.select_related("user").order_by("-is_admin", "joined_at", "id")


def member_of(enterprise: Enterprise, member_pk: int) -> EnterpriseMember:
    return get_object_or_404(members_of(enterprise), pk=member_pk)


# ---------------------------------------------------------------- reference data


def industry_sections() -> QuerySet[Industry]:
    return Industry.objects.filter(level=Industry.Level.SECTION).order_by("code")


def industry_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """大类 (and the 中类 listed under 59 and 70) grouped by 门类, for a select with groups."""
    sections = {s.code: s.name for s in industry_sections()}
    grouped: dict[str, list[tuple[str, str]]] = {}
    for row in Industry.objects.exclude(level=Industry.Level.SECTION).order_by("code"):
        indent = "\u3000" if row.level == Industry.Level.GROUP else ""
        grouped.setdefault(industry_section_of(row.code), []).append(
            (row.code, f"{indent}{row.code} {row.name}")
        )
    return [(f"{code} {name}", grouped[code]) for code, name in sections.items() if code in grouped]


def cities() -> QuerySet[Region]:
    return Region.objects.filter(level=Region.Level.CITY).order_by("code")


def region_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Cities and their districts/counties grouped by city, for a select with option groups."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    names: dict[str, str] = {}
    for region in Region.objects.exclude(level=Region.Level.PROVINCE).order_by("code"):
        if region.level == Region.Level.CITY:
            names[region.code] = region.name
            grouped[region.code] = [(region.code, f"{region.name}（市本级）")]
        else:
            grouped[region.parent_id].append(
                (region.code, f"{names[region.parent_id]} {region.name}")
            )
    return [(names[code], options) for code, options in grouped.items()]
