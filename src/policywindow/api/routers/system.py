"""系统管理: departments and users."""

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from policywindow.core.errors import ValidationFailed
from policywindow.system.models import Department, Post
from policywindow.system.models import Status as RecordStatus
from policywindow.system.selectors import enabled_departments, search_users
from policywindow.system.services import users as user_services

from ..idempotency import idempotent
from ..pagination import PagePagination
from ..schemas import DepartmentNode, ErrorOut, UserCreateIn, UserFilter, UserOut
from ..security import require
from ..selectors import department_forest

router = Router(tags=["系统管理"])


@router.get("/departments", response=list[DepartmentNode], summary="部门树")
@require("system:dept:list")
def list_departments(request: HttpRequest):
    return department_forest()


@router.get("/users", response=list[UserOut], summary="用户列表（按数据范围）")
@require("system:user:list")
@paginate(PagePagination)
def list_users(request: HttpRequest, filters: Query[UserFilter]):
    return search_users(
        request.auth,
        q=filters.q.strip(),
        department_id=filters.department_id,
        kind=filters.kind,
        active="" if filters.active is None else str(int(filters.active)),
        role_id=filters.role_id,
    )


def _department(department_id: int | None) -> Department | None:
    if department_id is None:
        return None
    department = enabled_departments().filter(pk=department_id).first()
    if department is None:
        raise ValidationFailed(
            "所选部门不存在或已停用", details={"department": ["所选部门不存在或已停用"]}
        )
    return department


def _posts(post_ids: list[int]) -> list[Post]:
    posts = list(Post.objects.filter(pk__in=post_ids, status=RecordStatus.ENABLED))
    if len(posts) != len(set(post_ids)):
        raise ValidationFailed(
            "所选岗位不存在或已停用", details={"posts": ["所选岗位不存在或已停用"]}
        )
    return posts


@router.post(
    "/users",
    response={201: UserOut, 400: ErrorOut, 409: ErrorOut},
    summary="新增用户（支持 Idempotency-Key）",
)
@require("system:user:create")
@idempotent
def create_user(request: HttpRequest, payload: UserCreateIn):
    user = user_services.create_user(
        request.auth,
        username=payload.username,
        real_name=payload.real_name,
        password=payload.password,
        kind=payload.kind,
        mobile=payload.mobile,
        email=payload.email,
        department=_department(payload.department),
        posts=_posts(payload.posts),
        remark=payload.remark,
        must_change_password=payload.must_change_password,
    )
    return Status(201, UserOut.from_orm(user))
