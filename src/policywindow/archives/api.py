"""REST API of 归档 (registered in policywindow/api/root.py).

The same selectors and services as the pages (archives/views.py): 已拨付 cases waiting to be
archived, archiving one case at once or many in a background batch with progress, the archived
cases and their zips. A case, archive or batch outside the caller's data scope is a 404; a case
not 已拨付 (or archived already) a 409 with the reason. Creating POSTs accept
``Idempotency-Key``.
"""

import datetime as dt

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from policywindow.api.idempotency import idempotent
from policywindow.api.pagination import PagePagination
from policywindow.api.schemas import ErrorOut, labelled_enum
from policywindow.api.security import require
from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.files import send_file

from . import selectors, services
from .models import Archive, ArchiveBatch

router = Router(tags=["归档"])

ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
ZIP = "application/zip"
ApplicationStatusValue = labelled_enum(S, "办件状态")


class ArchiveCandidateOut(Schema):
    id: int = Field(description="申报 id（归档时使用）")
    number: str
    enterprise_name: str
    fund_form_id: int | None = Field(description="经费审批表 id")
    updated_at: dt.datetime

    @staticmethod
    def resolve_enterprise_name(app: Application) -> str:
        return app.enterprise.name

    @staticmethod
    def resolve_fund_form_id(app: Application) -> int | None:
        form = getattr(app, "fund_form", None)
        return form.pk if form else None


class ArchiveSearch(Schema):
    number: str = Field("", max_length=16, description="申报编号（包含即可）")
    enterprise: str = Field("", max_length=200, description="企业名称（包含即可）")

    def search(self) -> selectors.Search:
        return selectors.Search(self.number, self.enterprise)


class ArchiveIn(Schema):
    application_id: int = Field(description="已拨付的申报 id")


class ArchiveBatchIn(Schema):
    application_ids: list[int] = Field(
        min_length=1,
        max_length=services.MAX_BATCH,
        description=f"已拨付的申报 id（1 至 {services.MAX_BATCH} 件）",
    )


class ArchiveOut(Schema):
    id: int
    application_id: int
    application_number: str
    enterprise_name: str
    sha256: str = Field(description="归档 zip 的 SHA-256")
    size: int = Field(description="字节数")
    file_count: int = Field(description="归档文件数")
    archived_at: dt.datetime
    archived_by: str

    @staticmethod
    def resolve_application_number(archive: Archive) -> str:
        return archive.application.number

    @staticmethod
    def resolve_enterprise_name(archive: Archive) -> str:
        return archive.application.enterprise.name

    @staticmethod
    def resolve_archived_by(archive: Archive) -> str:
        return archive.archived_by.real_name or archive.archived_by.username


class ArchiveBatchCaseOut(Schema):
    application_id: int
    number: str
    status: ApplicationStatusValue
    archive_id: int | None = Field(description="已归档时的归档 id")


class ArchiveBatchOut(Schema):
    id: int
    created_at: dt.datetime
    total: int
    done: int = Field(description="已归档件数")
    failed: int = Field(description="未能归档件数")
    errors: list = Field(description="未能归档的原因")
    finished_at: dt.datetime | None = Field(description="后台归档完成时间（进行中为空）")
    cases: list[ArchiveBatchCaseOut]

    @staticmethod
    def resolve_cases(batch: ArchiveBatch) -> list[dict]:
        return [
            {
                "application_id": case.pk,
                "number": case.number,
                "status": case.status,
                "archive_id": getattr(getattr(case, "archive", None), "pk", None),
            }
            for case in selectors.batch_rows(batch)
        ]


@router.get(
    "/archive-candidates",
    response=list[ArchiveCandidateOut],
    summary="待归档的已拨付办件（数据范围内，等待最久的在前）",
)
@require("finance:archive:list")
@paginate(PagePagination)
def list_candidates(request: HttpRequest, query: Query[ArchiveSearch]):
    return selectors.archivable_cases(request.auth, query.search()).select_related("enterprise")


@router.post(
    "/archives",
    response={201: ArchiveOut, **ERRORS},
    summary="归档一件已拨付的办件（生成归档 zip，办件转为已办结；支持 Idempotency-Key）",
)
@require("finance:archive:archive")
@idempotent
def archive_case(request: HttpRequest, payload: ArchiveIn):
    archive = services.archive_case(request.auth, payload.application_id)
    return Status(201, ArchiveOut.from_orm(selectors.archive_of(request.auth, archive.pk)))


@router.post(
    "/archive-batches",
    response={202: ArchiveBatchOut, **ERRORS},
    summary="批量归档（后台逐件归档，返回进度；支持 Idempotency-Key）",
    description="所选办件先全部检查（不在范围为 404，不能归档为 409 并列出原因），"
    "再由后台任务逐件归档；用 GET /archive-batches/{batch_id} 查看进度。",
)
@require("finance:archive:archive")
@idempotent
def start_batch(request: HttpRequest, payload: ArchiveBatchIn):
    batch = services.start_batch(request.auth, payload.application_ids)
    return Status(202, ArchiveBatchOut.from_orm(batch))


@router.get(
    "/archive-batches/{batch_id}",
    response={200: ArchiveBatchOut, 404: ErrorOut},
    summary="批量归档的进度与办件",
)
@require("finance:archive:list")
def get_batch(request: HttpRequest, batch_id: int):
    return selectors.batch_of(request.auth, batch_id)


@router.get("/archives", response=list[ArchiveOut], summary="已归档办件（数据范围内，新的在前）")
@require("finance:archive:list")
@paginate(PagePagination)
def list_archives(request: HttpRequest, query: Query[ArchiveSearch]):
    return selectors.archives(request.auth, query.search())


@router.get(
    "/archives/{archive_id}/download",
    response={403: ErrorOut, 404: ErrorOut},
    summary="下载归档 zip",
    openapi_extra={
        "responses": {
            "200": {
                "description": "归档 zip（办件的全部文件与办理记录）",
                "content": {ZIP: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
@require("finance:archive:download")
def download(request: HttpRequest, archive_id: int) -> HttpResponse:
    archive = selectors.archive_of(request.auth, archive_id)
    return send_file(services.open_archive(archive), f"归档-{archive.application.number}.zip", ZIP)
