"""REST API of 一表申请 (registered in policywindow/api/root.py).

The same services as the pages: create a draft for a rule, save answers (JSON),
upload files (multipart), submit with ``Idempotency-Key`` (a retried submit
returns the first result: never a second application or number), read one's
own applications. Another enterprise's application is a 404. For integrators,
the whole filing in one request: ``POST /applications/submissions`` (multipart:
the rule, the answers as JSON, the files under their item keys).

A write answers with the application as written, slim: what it would have to recompute — the
eligibility pre-check of a draft, the earlier files it could reuse — only when asked
(``?expand=eligibility,reusable_materials``); ``GET`` of one application always has both.
"""

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from policywindow.api.idempotency import KEY_HEADER, idempotent
from policywindow.api.pagination import PagePagination
from policywindow.api.schemas import MONEY_AS_STRING, ErrorOut, MoneyOut, labelled_enum
from policywindow.api.security import authenticated, require
from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.policies.selectors import rule_by_code

from . import selectors_filing as reads
from .forms import ItemSpec, data_value, specs_of_snapshot
from .models import Application
from .models import ApplicationStatus as S
from .selectors import open_supplement_notice
from .services import filing, submission

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


# What a write's response computes only when asked.
EXPANSIONS = ("eligibility", "reusable_materials")


class Expand(Schema):
    expand: str = Field(
        "",
        description="逗号分隔：eligibility（草稿的资格预审）、reusable_materials（可复用的已上传材料）；"
        "写操作的响应默认不重新计算这两项（为 null）",
    )

    def wanted(self) -> set[str]:
        asked = {name.strip() for name in self.expand.split(",") if name.strip()}
        unknown = sorted(asked - set(EXPANSIONS))
        if unknown:
            message = f"expand 的可选值为 {'、'.join(EXPANSIONS)}"
            raise ValidationFailed(message, details={"expand": [message]})
        return asked


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


ApplicationStatusValue = labelled_enum(S, "申报状态")


class ApplicationSummaryOut(Schema):
    id: int
    number: str | None
    status: ApplicationStatusValue
    status_label: str
    year: int
    channel: str = Field(description="online 网上申报 / window 窗口代办")
    rule: RuleRef
    enterprise: EnterpriseRef
    requested_amount: MoneyOut | None = Field(description="申请金额（元，两位小数）")
    submitted_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_status_label(application: Application) -> str:
        return S(application.status).label

    @staticmethod
    def resolve_rule(application: Application) -> dict[str, Any]:
        version = application.rule_version
        return {"code": application.rule.code, "title": version.title, "version": version.version}


class ApplicationOut(ApplicationSummaryOut):
    revision: int
    updated_at: dt.datetime
    items: list[ItemOut] = Field(description="申报表要件（申报时冻结的版本）")
    answers: dict[str, Any]
    materials: list[MaterialOut]
    reusable_materials: dict[str, list[MaterialOut]] | None = Field(
        description="草稿时：各附件项可直接复用的本企业已上传材料（把 id 写入 answers 即可）；"
        "写操作的响应中仅在 expand=reusable_materials 时给出"
    )
    eligibility: EligibilityOut | None = Field(
        description="草稿为当前资格预审结果（写操作的响应中仅在 expand=eligibility 时给出）；"
        "已提交为提交时的结果"
    )

    @staticmethod
    def resolve_items(application: Application) -> list[dict[str, Any]]:
        return [spec.snapshot() for spec in specs_of_snapshot(application.form_snapshot)]

    @staticmethod
    def resolve_materials(application: Application) -> list:
        # ``all()``: the files the write read or wrote already, when it kept them (uploads.remember).
        return sorted(application.materials.all(), key=lambda m: (m.uploaded_at, m.pk))

    @staticmethod
    def resolve_reusable_materials(application: Application, context) -> dict[str, list] | None:
        if application.status != S.DRAFT:
            return {}
        if "reusable_materials" not in context["expand"]:
            return None
        specs = specs_of_snapshot(application.form_snapshot)
        offers = reads.material_offers(application.enterprise, application, specs)
        return {
            key: [offer.material for offer in found if not offer.attached]
            for key, found in offers.items()
        }

    @staticmethod
    def resolve_eligibility(application: Application, context) -> dict[str, Any] | None:
        if application.status == S.DRAFT and "eligibility" in context["expand"]:
            return reads.assess_application(application).eligibility.as_dict()
        return application.eligibility or None


def _out(application: Application, expand: Iterable[str] = EXPANSIONS) -> ApplicationOut:
    return ApplicationOut.from_orm(application, context={"expand": set(expand)})


def _form_data(items: Iterable[ItemSpec], answers: dict[str, Any]) -> dict[str, Any]:
    """JSON answers as the form's data; file items name the materials to keep."""
    specs = {spec.key: spec for spec in items}
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


@router.post(
    "/applications",
    response={201: ApplicationOut, **ERRORS},
    summary="创建申报草稿（已有草稿时返回该草稿；支持 Idempotency-Key）",
)
@require("portal:apply:create")
@idempotent
def create_application(request: HttpRequest, payload: ApplicationCreateIn, query: Query[Expand]):
    application = filing.start_application(request.auth, None, rule_by_code(payload.rule))
    return Status(201, _out(application, query.wanted()))


SUBMISSION_FORM = {
    "type": "object",
    "required": ["rule", "answers"],
    "properties": {
        "rule": {"type": "string", "description": "细则编码，如 RD-001"},
        "answers": {
            "type": "string",
            "description": "申报表各项的填报值，JSON 对象（写法同 PATCH /applications/{id} 的 "
            "answers）；附件项不写在这里",
        },
    },
    "additionalProperties": {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "description": "附件项的文件：字段名为附件项标识（如 license），可多个文件",
    },
}


# Before the routes of "/applications/{application_id}", which would take its path.
@router.post(
    "/applications/submissions",
    response={201: ApplicationOut, **ERRORS},
    summary="一次提交申报（multipart：rule、answers（JSON）与各附件项的文件；须带 Idempotency-Key）",
    description="一个请求完成申报：校验全部填报项与文件（类型按内容识别、PDF 内容、扩展名与内容一致、"
    "大小与数量），通过后建档、编号并进入待受理，返回申报（含申报编号）。任何一项不通过则什么也不建，"
    "错误按项列在 details 中。须带 Idempotency-Key：重试返回首次结果，不会产生第二个申报或编号。"
    "不自动带入企业信息预填项，也不复用以前上传的材料：全部填报值与文件随请求提交。",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": SUBMISSION_FORM}},
        }
    },
)
@require("portal:apply:create")
@idempotent(prepares=True)
def submit_whole_application(request: HttpRequest):
    if KEY_HEADER not in request.headers:
        message = "一次提交须带幂等键，重试时使用同一个键"
        raise ValidationFailed(message, details={KEY_HEADER: [message]})
    rule = rule_by_code(_required_field(request, "rule"))
    answers = _answers_field(request)
    files = {key: request.FILES.getlist(key) for key in request.FILES}
    file_and_submit = submission.prepare_filing(
        request.auth, rule, lambda specs: _form_data(specs, answers), files
    )
    return lambda: Status(201, _out(file_and_submit(), ()))


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
    return _out(reads.readable_application(request.auth, application_id))


@router.patch(
    "/applications/{application_id}",
    response={200: ApplicationOut, **ERRORS},
    summary="保存草稿（只修改提交的项，不要求必填）",
)
@require("portal:apply:create")
def save_application(
    request: HttpRequest, application_id: int, payload: AnswersIn, query: Query[Expand]
):
    def data(application: Application) -> dict[str, Any]:  # read against its own items
        return _form_data(specs_of_snapshot(application.form_snapshot), payload.answers)

    saved = filing.save_answers(request.auth, application_id, data, partial=True)
    return _out(saved, query.wanted())


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
    query: Query[Expand],
):
    updated = filing.add_materials(request.auth, application_id, item, files)
    return Status(201, _out(updated, query.wanted()))


@router.post(
    "/applications/{application_id}/submit",
    response={200: ApplicationOut, **ERRORS},
    summary="提交申报（支持 Idempotency-Key：重试返回首次结果，不会产生第二个编号）",
)
@require("portal:apply:create")
@idempotent
def submit_application(request: HttpRequest, application_id: int):
    return _out(filing.submit(request.auth, application_id), ())


RESUBMISSION_FORM = {
    "type": "object",
    "properties": {
        "answers": {
            "type": "string",
            "description": "补正告知所列各项的新填报值，JSON 对象（写法同 PATCH /applications/{id} "
            "的 answers）；附件项可写要保留的材料 id 列表，不写则以本次上传的文件替换",
        },
    },
    "additionalProperties": {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "description": "补正告知所列附件项的新文件：字段名为附件项标识（如 license）",
    },
}


@router.post(
    "/applications/{application_id}/resubmission",
    response={200: ApplicationOut, **ERRORS},
    summary="提交补正材料（企业；multipart：answers（JSON）与补正附件项的文件；"
    "支持 Idempotency-Key）",
    description="只能修改补正告知所列的项（其他项为 400）。补正告知由窗口提出的，提交后回到"
    "待受理；由审核人提出的，回到该审核人。申报不在待补正状态为 409，不是本企业的申报为 404。",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": RESUBMISSION_FORM}},
        }
    },
)
@require("portal:apply:create")
@idempotent
def resubmit_supplement(request: HttpRequest, application_id: int):
    application = reads.own_application(request.auth, application_id)
    notice = open_supplement_notice(application)
    if application.status != S.SUPPLEMENT_REQUIRED or notice is None:
        raise Conflict(f"申报当前状态为“{S(application.status).label}”，无需补正")
    keys = {item.get("key") for item in notice.items if isinstance(item, dict)}
    answers = _answers_field(request) if "answers" in request.POST else {}
    outside = [key for key in [*answers, *request.FILES] if key not in keys]
    if outside:
        message = "该项不在补正告知中，不能修改"
        raise ValidationFailed(message, details={key: [message] for key in outside})
    if not answers and not request.FILES:
        message = "请提交补正告知所列项的新填报值或文件"
        raise ValidationFailed(message, details={"answers": [message]})
    specs = [spec for spec in specs_of_snapshot(application.form_snapshot) if spec.key in keys]
    moved = filing.resubmit_supplement(
        request.auth, application, _form_data(specs, answers), request.FILES
    )
    return _out(moved, ())


def _required_field(request: HttpRequest, name: str) -> str:
    value = request.POST.get(name, "").strip()
    if not value:
        raise ValidationFailed("提交的数据有误，请按提示修改", details={name: ["此项为必填项"]})
    return value


def _answers_field(request: HttpRequest) -> dict[str, Any]:
    try:
        answers = json.loads(_required_field(request, "answers"))
    except ValueError:
        answers = None
    if not isinstance(answers, dict):
        message = 'answers 须为 JSON 对象，如 {"rd_amount": "12345.67"}'
        raise ValidationFailed(message, details={"answers": [message]})
    return answers
