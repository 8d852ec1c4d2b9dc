"""REST API of 一表申请 (registered in policywindow/api/root.py).

The same services as the pages: create a draft for a rule, save answers (JSON),
upload files (multipart), submit with ``Idempotency-Key`` (a retried submit
returns the first result: never a second application or number), read one's
own applications. Another enterprise's application is a 404.
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from policywindow.api.idempotency import idempotent
from policywindow.api.pagination import PagePagination
from policywindow.api.schemas import MONEY_AS_STRING, ErrorOut
from policywindow.api.security import authenticated, require
from policywindow.core.errors import PermissionDenied, ValidationFailed
from policywindow.enterprises.selectors import enterprise_of
from policywindow.policies.selectors import rule_by_code

from . import selectors_filing as reads
from .forms import ItemSpec, data_value, specs_of_snapshot
from .models import Application
from .models import ApplicationStatus as S
from .services import filing

router = Router(tags=["一表申请"])

ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class ApplicationCreateIn(Schema):
    rule: str = Field(min_length=1, max_length=32, description="细则编码，如 RD-001")


class AnswersIn(Schema):
    answers: dict[str, Any] = Field(
        description="要件标识 -> 填报值（只修改出现的项；null 表示清空）。金额为字符串（如“12345.67”，"
        "最多两位小数，JSON 数字会被拒绝），数值可为字符串或数字，"
        "日期为 YYYY-MM-DD，是/否为 true/false，多选为列表；附件项为要保留或复用的材料 id 列表，"
        "新文件请用 POST /applications/{id}/materials 上传"
    )


class ApplicationFilter(Schema):
    status: str = Field("", description="按状态筛选，如 draft、submitted")


class RuleRef(Schema):
    code: str
    title: str
    version: int


class EnterpriseRef(Schema):
    id: int
    name: str
    credit_code: str


class OptionOut(Schema):
    value: str
    label: str


class ItemOut(Schema):
    key: str
    label: str
    kind: str
    required: bool
    section: str
    help_text: str
    options: list[OptionOut]
    allowed_types: list[str]
    max_size_mb: int
    max_files: int
    material_code: str


class MaterialOut(Schema):
    id: int
    item_key: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: dt.datetime


class EligibilityOut(Schema):
    status: str = Field(description="eligible 符合 / ineligible 不符合 / unknown 信息不全")
    failures: list[str]
    unknowns: list[str]


def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


class ApplicationSummaryOut(Schema):
    id: int
    number: str | None
    status: str
    status_label: str
    year: int
    channel: str = Field(description="online 网上申报 / window 窗口代办")
    rule: RuleRef
    enterprise: EnterpriseRef
    requested_amount: str | None = Field(description="申请金额（元，两位小数）")
    submitted_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_status_label(application: Application) -> str:
        return S(application.status).label

    @staticmethod
    def resolve_rule(application: Application) -> dict[str, Any]:
        version = application.rule_version
        return {"code": application.rule.code, "title": version.title, "version": version.version}

    @staticmethod
    def resolve_requested_amount(application: Application) -> str | None:
        return _money(application.requested_amount)


class ApplicationOut(ApplicationSummaryOut):
    revision: int
    updated_at: dt.datetime
    items: list[ItemOut] = Field(description="申报表要件（申报时冻结的版本）")
    answers: dict[str, Any]
    materials: list[MaterialOut]
    reusable_materials: dict[str, list[MaterialOut]] = Field(
        description="草稿时：各附件项可直接复用的本企业已上传材料（把 id 写入 answers 即可）"
    )
    eligibility: EligibilityOut | None = Field(
        description="草稿为当前资格预审结果；已提交为提交时的结果"
    )

    @staticmethod
    def resolve_items(application: Application) -> list[dict[str, Any]]:
        return [spec.snapshot() for spec in specs_of_snapshot(application.form_snapshot)]

    @staticmethod
    def resolve_materials(application: Application) -> list:
        return list(application.materials.order_by("uploaded_at", "id"))

    @staticmethod
    def resolve_reusable_materials(application: Application) -> dict[str, list]:
        if application.status != S.DRAFT:
            return {}
        specs = specs_of_snapshot(application.form_snapshot)
        offers = reads.material_offers(application.enterprise, application, specs)
        return {
            key: [offer.material for offer in found if not offer.attached]
            for key, found in offers.items()
        }

    @staticmethod
    def resolve_eligibility(application: Application) -> dict[str, Any] | None:
        if application.status == S.DRAFT:
            return reads.assess_application(application).eligibility.as_dict()
        return application.eligibility or None


def _form_data(application: Application, answers: dict[str, Any]) -> dict[str, Any]:
    """JSON answers as the form's data; file items name the materials to keep."""
    specs = {spec.key: spec for spec in specs_of_snapshot(application.form_snapshot)}
    unknown = [key for key in answers if key not in specs]
    if unknown:
        raise ValidationFailed(
            "申报表中没有这些项", details={key: ["申报表中没有该项"] for key in unknown}
        )
    mistyped = {
        key: [problem]
        for key, value in answers.items()
        if (problem := _type_problem(specs[key], value))
    }
    if mistyped:
        raise ValidationFailed(filing.INVALID_FORM, details=mistyped)
    data: dict[str, Any] = {}
    for key, value in answers.items():
        spec = specs[key]
        if spec.is_file:
            data[spec.keep_name] = data_value(spec, list(value or []))
        elif spec.kind == "multi_choice" or isinstance(value, bool):
            data[key] = value if value is not None else []
        else:
            data[key] = data_value(spec, value)
    return data


def _type_problem(spec: ItemSpec, value: Any) -> str | None:
    """A JSON value of the wrong type for its item (the form would read it as text)."""
    if value is None:
        return None
    if spec.is_file or spec.kind == "multi_choice":
        scalars = isinstance(value, list) and all(_is_scalar(item) for item in value)
        return None if scalars else f"{spec.label}应为列表"
    if spec.kind == "money" and not isinstance(value, str):
        return f"{spec.label}：{MONEY_AS_STRING}"
    return None if _is_scalar(value) else f"{spec.label}应为文本或数字"


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float)  # bool is an int: 是/否 items


def _acting_enterprise(request: HttpRequest):
    enterprise = enterprise_of(request.auth)
    if enterprise is None:
        raise PermissionDenied("您的账号尚未关联企业，不能申报", code="no_enterprise")
    return enterprise


@router.post(
    "/applications",
    response={201: ApplicationOut, **ERRORS},
    summary="创建申报草稿（已有草稿时返回该草稿；支持 Idempotency-Key）",
)
@require("portal:apply:create")
@idempotent
def create_application(request: HttpRequest, payload: ApplicationCreateIn):
    enterprise = _acting_enterprise(request)
    application = filing.start_application(request.auth, enterprise, rule_by_code(payload.rule))
    return Status(201, ApplicationOut.from_orm(application))


@router.get(
    "/applications",
    response=list[ApplicationSummaryOut],
    summary="申报列表（企业：本企业的申报；工作人员：数据范围内的办件及本人窗口代办）",
)
@authenticated
@paginate(PagePagination)
def list_applications(request: HttpRequest, filters: Query[ApplicationFilter]):
    applications = reads.readable_applications(request.auth)
    if filters.status:
        applications = applications.filter(status=filters.status)
    return applications


@router.get(
    "/applications/{application_id}",
    response={200: ApplicationOut, 404: ErrorOut},
    summary="申报详情",
)
@authenticated
def get_application(request: HttpRequest, application_id: int):
    return reads.readable_application(request.auth, application_id)


@router.patch(
    "/applications/{application_id}",
    response={200: ApplicationOut, **ERRORS},
    summary="保存草稿（只修改提交的项，不要求必填）",
)
@require("portal:apply:create")
def save_application(request: HttpRequest, application_id: int, payload: AnswersIn):
    application = reads.own_application(request.auth, application_id)
    data = _form_data(application, payload.answers)
    return filing.save_answers(request.auth, application, data, partial=True)


@router.post(
    "/applications/{application_id}/materials",
    response={201: ApplicationOut, **ERRORS},
    summary="上传申报材料（multipart：item 为附件项标识，files 为一个或多个文件；"
    "支持 Idempotency-Key：重试不会重复添加文件）",
)
@require("portal:apply:create")
@idempotent
def upload_materials(
    request: HttpRequest,
    application_id: int,
    item: Form[str],
    files: File[list[UploadedFile]],
):
    application = reads.own_application(request.auth, application_id)
    updated = filing.add_materials(request.auth, application, item, files)
    return Status(201, ApplicationOut.from_orm(updated))


@router.post(
    "/applications/{application_id}/submit",
    response={200: ApplicationOut, **ERRORS},
    summary="提交申报（支持 Idempotency-Key：重试返回首次结果，不会产生第二个编号）",
)
@require("portal:apply:create")
@idempotent
def submit_application(request: HttpRequest, application_id: int):
    application = reads.own_application(request.auth, application_id)
    return ApplicationOut.from_orm(filing.submit(request.auth, application))
