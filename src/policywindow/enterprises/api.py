"""企业库 REST API (registered in policywindow/api/root.py).

Clerks list, read, register and edit enterprises within their data scope; an
enterprise user reads (and edits the allowed fields of) only its own enterprise.
Bank accounts are always masked; money is a string with two decimals, in yuan
(注册资本 in 万元, as on the business licence).
"""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import create_model

from policywindow.api.idempotency import idempotent
from policywindow.api.pagination import PagePagination
from policywindow.api.schemas import DepartmentRef, ErrorOut, Money
from policywindow.api.security import require
from policywindow.core.errors import NotFound
from policywindow.core.inputs import column_range
from policywindow.core.masking import mask_account

from . import services
from .models import ENTERPRISE_EDITABLE_FIELDS, Enterprise
from .selectors import enterprise_of, search_enterprises, visible_enterprise

router = Router(tags=["企业库"])
NOT_LINKED = "您的账号尚未关联企业，请联系政务服务窗口"


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


class CodeName(Schema):
    code: str
    name: str


class EnterpriseOut(Schema):
    id: int
    credit_code: str
    name: str
    legal_representative: str
    registered_capital: str = Field(description="注册资本，万元，两位小数")
    established_on: dt.date | None
    industry: CodeName = Field(description="GB/T 4754-2017 大类（或中类）")
    industry_section: str = Field(description="行业门类字母")
    region: CodeName = Field(description="GB/T 2260 区划")
    city: str | None = Field(description="所在城市区划代码")
    address: str
    contact_name: str
    contact_phone: str
    contact_email: str
    bank_name: str
    bank_account: str = Field(description="银行账号（脱敏，仅显示后 4 位）")
    employees: int | None = Field(description="从业人员；null 表示未知")
    revenue: str | None = Field(description="上年营业收入（元）；null 表示未知")
    total_assets: str | None = Field(description="资产总额（元）；null 表示未知")
    rd_spend: str | None = Field(description="上年研发费用（元）；null 表示未知")
    export_value: str | None = Field(description="上年出口额（元）；null 表示未知")
    high_tech: bool
    high_tech_valid_until: dt.date | None
    tech_sme: bool
    specialized: str = Field(description="专精特新：空、provincial、little_giant")
    size: str = Field(description="企业规模 large/medium/small/micro；空表示缺少划型指标")
    size_label: str
    department: DepartmentRef | None = Field(description="登记窗口")
    is_demo: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_registered_capital(obj: Enterprise) -> str | None:
        return _money(obj.registered_capital)

    @staticmethod
    def resolve_region(obj: Enterprise) -> dict[str, str]:
        return {"code": obj.region_id, "name": obj.region.full_name}

    @staticmethod
    def resolve_city(obj: Enterprise) -> str | None:
        return obj.city_code

    @staticmethod
    def resolve_bank_account(obj: Enterprise) -> str:
        return mask_account(obj.bank_account)

    @staticmethod
    def resolve_revenue(obj: Enterprise) -> str | None:
        return _money(obj.revenue)

    @staticmethod
    def resolve_total_assets(obj: Enterprise) -> str | None:
        return _money(obj.total_assets)

    @staticmethod
    def resolve_rd_spend(obj: Enterprise) -> str | None:
        return _money(obj.rd_spend)

    @staticmethod
    def resolve_export_value(obj: Enterprise) -> str | None:
        return _money(obj.export_value)

    @staticmethod
    def resolve_size_label(obj: Enterprise) -> str:
        return obj.get_size_display() if obj.size else "未划型"


class EnterpriseIn(Schema):
    credit_code: str = Field(description="统一社会信用代码（18 位，校验码按 GB 32100-2015 校验）")
    name: str
    legal_representative: str
    registered_capital: Money = Field(description="注册资本，万元")
    established_on: dt.date | None = None
    industry: str = Field(description="GB/T 4754-2017 大类代码，如 39；59、70 可填中类如 702")
    region: str = Field(description="辽宁省市或区县的 GB/T 2260 代码，如 210102")
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    bank_name: str = ""
    bank_account: str = ""
    employees: int | None = Field(
        None,
        ge=0,
        le=column_range("PositiveIntegerField")[1],
        description="从业人员；null 表示未知",
    )
    revenue: Money | None = Field(None, description="上年营业收入（元）")
    total_assets: Money | None = Field(None, description="资产总额（元）")
    rd_spend: Money | None = Field(None, description="上年研发费用（元）")
    export_value: Money | None = Field(None, description="上年出口额（元）")
    high_tech: bool = False
    high_tech_valid_until: dt.date | None = None
    tech_sme: bool = False
    specialized: Literal["", "provincial", "little_giant"] = ""


def _optional_fields(schema: type[Schema], name: str, only: tuple[str, ...]) -> type[Schema]:
    """A PATCH body: the named fields of ``schema``, each optional; only those sent change.
    A field keeps its type and checks: null only where the full body allows it (the default
    stands for "not sent" and is never validated)."""
    fields: dict[str, Any] = {
        field: (info.rebuild_annotation(), Field(None, description=info.description))
        for field, info in schema.model_fields.items()
        if field in only
    }
    return create_model(name, __base__=Schema, **fields)


EnterprisePatchIn = _optional_fields(
    EnterpriseIn, "EnterprisePatchIn", tuple(EnterpriseIn.model_fields)
)
OwnEnterprisePatchIn = _optional_fields(
    EnterpriseIn, "OwnEnterprisePatchIn", ENTERPRISE_EDITABLE_FIELDS
)


class EnterpriseFilter(Schema):
    q: str = Field("", description="企业名称或统一社会信用代码中包含的文字")
    section: str = Field("", description="行业门类字母，如 C")
    size: Literal["", "large", "medium", "small", "micro"] = ""
    city: str = Field("", description="城市区划代码，如 210100")


@router.get("/enterprises", response=list[EnterpriseOut], summary="企业列表（按数据范围）")
@require("enterprise:enterprise:list")
@paginate(PagePagination)
def list_enterprises(request: HttpRequest, filters: Query[EnterpriseFilter]):
    criteria = {name: value.strip() for name, value in filters.dict().items() if value}
    return search_enterprises(request.auth, **criteria)


def _own_enterprise(request: HttpRequest) -> Enterprise:
    enterprise = enterprise_of(request.auth)
    if enterprise is None:
        raise NotFound(NOT_LINKED)
    return enterprise


@router.get(
    "/enterprises/me",
    response={200: EnterpriseOut, 404: ErrorOut},
    summary="本企业信息（企业用户）",
)
@require("portal:enterprise:view")
def my_enterprise(request: HttpRequest):
    return _own_enterprise(request)


@router.patch(
    "/enterprises/me",
    response={200: EnterpriseOut, 400: ErrorOut, 404: ErrorOut},
    summary="修改本企业联系方式与开户信息（企业用户）",
)
@require("portal:enterprise:update")
def update_my_enterprise(request: HttpRequest, payload: OwnEnterprisePatchIn):
    _own_enterprise(request)
    return services.update_own_enterprise(request.auth, payload.dict(exclude_unset=True))


@router.get(
    "/enterprises/{enterprise_id}",
    response={200: EnterpriseOut, 404: ErrorOut},
    summary="企业详情",
)
@require("enterprise:enterprise:list")
def get_enterprise(request: HttpRequest, enterprise_id: int):
    return visible_enterprise(request.auth, enterprise_id)


@router.post(
    "/enterprises",
    response={201: EnterpriseOut, 400: ErrorOut, 409: ErrorOut},
    summary="登记企业（支持 Idempotency-Key）",
)
@require("enterprise:enterprise:create")
@idempotent
def create_enterprise(request: HttpRequest, payload: EnterpriseIn):
    enterprise = services.create_enterprise(request.auth, payload.dict())
    return Status(201, EnterpriseOut.from_orm(enterprise))


@router.patch(
    "/enterprises/{enterprise_id}",
    response={200: EnterpriseOut, 400: ErrorOut, 404: ErrorOut},
    summary="修改企业信息（只修改请求中给出的字段）",
)
@require("enterprise:enterprise:update")
def update_enterprise(request: HttpRequest, enterprise_id: int, payload: EnterprisePatchIn):
    enterprise = visible_enterprise(request.auth, enterprise_id)
    return services.update_enterprise(request.auth, enterprise, payload.dict(exclude_unset=True))
