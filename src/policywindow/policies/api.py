"""REST API of the policy library: published policies and rules (list, search, detail).

Only published content is served. It is public information, but the API is for
signed-in users and integrations (session or access token), like the rest of
``/api/v1``; anyone may read the same content on the public pages.
"""

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from policywindow.api.pagination import PagePagination
from policywindow.api.schemas import DepartmentRef, ErrorOut, MoneyOut
from policywindow.api.security import public

from . import selectors
from .models import Policy, RequiredItem, Rule

router = Router(tags=["政策库"])


class PublishedRuleRef(Schema):
    code: str
    title: str = Field(description="现行版本的细则名称")

    @staticmethod
    def resolve_title(rule: Rule) -> str:
        return rule.current.title


class PolicyOut(Schema):
    id: int
    title: str
    doc_number: str
    issuing_department: DepartmentRef
    theme: str = Field(description="政策主题（字典 policy_theme 的键值）")
    publish_date: dt.date | None
    effective_from: dt.date | None
    effective_to: dt.date | None
    summary: str
    sizes: list[str] = Field(description="适用企业规模：large/medium/small/micro，空表示不限")
    is_demo: bool = Field(description="演示数据，并非真实政策")
    rules: list[PublishedRuleRef] = Field(description="已发布的细则（申报事项）")

    @staticmethod
    def resolve_rules(policy: Policy) -> list[Rule]:
        return policy.public_rules


class PolicyDetailOut(PolicyOut):
    full_text: str = Field(description="政策全文（经过清洗的 HTML）")
    industries: list[str] = Field(description="适用行业代码（GB/T 4754-2017）")
    regions: list[str] = Field(description="适用地区代码（GB/T 2260）")

    @staticmethod
    def resolve_industries(policy: Policy) -> list[str]:
        return [industry.code for industry in policy.industries.all()]

    @staticmethod
    def resolve_regions(policy: Policy) -> list[str]:
        return [region.code for region in policy.regions.all()]


class RuleOut(Schema):
    code: str
    title: str = Field(alias="current.title", description="细则名称")
    version: int = Field(alias="current.version", description="现行版本号")
    policy_id: int
    policy_title: str = Field(alias="policy.title")
    lead_department: DepartmentRef = Field(alias="current.lead_department")
    opens_on: dt.date | None = Field(alias="current.opens_on", description="申报开始日期")
    closes_on: dt.date | None = Field(alias="current.closes_on", description="申报截止日期")
    window: str = Field(
        description="申报期状态：open 申报中/always 常年受理/upcoming 尚未开始/closed 已截止"
    )
    per_enterprise_cap: MoneyOut | None = Field(
        alias="current.per_enterprise_cap", description="单个企业上限（元）"
    )
    auto_grant: bool = Field(alias="current.auto_grant", description="免申即享")

    @staticmethod
    def resolve_window(rule: Rule) -> str:
        return selectors.application_window(rule.current).state


class GuideOut(Schema):
    beneficiaries: str = Field(description="惠及对象")
    conditions_text: str = Field(description="申报条件")
    standard_text: str = Field(description="兑现标准")
    time_limit_text: str = Field(description="兑现时限")
    address: str = Field(description="受理地址")
    phone: str = Field(description="咨询电话")
    review_days: int = Field(description="审核时限（工作日）")
    once_per_year: bool = Field(description="同一企业每年限申报一次")
    exclusion_group: str = Field(description="互斥组：同组事项同一企业只能享受其一")


class RuleItemOut(Schema):
    key: str
    label: str
    kind: str = Field(
        description="text/long_text/integer/number/money/date/choice/multi_choice/boolean/file"
    )
    required: bool
    section: str
    help_text: str
    min_value: Decimal | None
    max_value: Decimal | None
    pattern: str
    options: list[str]
    allowed_types: list[str]
    max_size_mb: int
    max_files: int
    material_code: str = Field(description="材料类别，同类材料可在不同申报间复用")
    prefill_source: str = Field(description="预填来源（企业属性名）")
    template_url: str | None = Field(description="模板文件下载地址")

    @staticmethod
    def resolve_template_url(item: RequiredItem) -> str | None:
        if not item.template_file:
            return None
        code = item.rule_version.rule.code
        return reverse("policies:public_item_template", args=[code, item.pk])


class RuleDetailOut(RuleOut):
    guide: GuideOut = Field(alias="current", description="申报指南")
    items: list[RuleItemOut] = Field(description="要件项（申报表单字段与材料）")

    @staticmethod
    def resolve_items(rule: Rule) -> list[RequiredItem]:
        return list(rule.current.items.select_related("rule_version__rule"))


class PolicyQuery(Schema):
    q: str = Field("", max_length=200, description="关键词，多个词用空格分隔，须全部匹配")
    theme: str = Field("", max_length=32, description="政策主题")


class RuleQuery(Schema):
    q: str = Field("", max_length=200, description="关键词，多个词用空格分隔，须全部匹配")


@router.get("/policies", response=list[PolicyOut], summary="已发布政策列表（搜索）")
@public
@paginate(PagePagination)
def list_policies(request: HttpRequest, filters: Query[PolicyQuery]):
    return selectors.search_published_policies(q=filters.q, theme=filters.theme)


@router.get(
    "/policies/{policy_id}", response={200: PolicyDetailOut, 404: ErrorOut}, summary="政策详情"
)
@public
def get_policy(request: HttpRequest, policy_id: int):
    policy = selectors.public_policy(policy_id)
    policy.public_rules = list(selectors.public_rules_of(policy))
    return policy


@router.get("/rules", response=list[RuleOut], summary="已发布细则（申报事项）列表（搜索）")
@public
@paginate(PagePagination)
def list_rules(request: HttpRequest, filters: Query[RuleQuery]):
    return selectors.search_published_rules(q=filters.q)


@router.get(
    "/rules/{code}", response={200: RuleDetailOut, 404: ErrorOut}, summary="细则详情（含要件项）"
)
@public
def get_rule(request: HttpRequest, code: str):
    return selectors.rule_by_code(code)
