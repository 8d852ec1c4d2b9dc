"""The REST API root (django-ninja). Routers of each module are added here.

Conventions (DESIGN.md §5a, §7): ``/api/v1/<resource>`` plural nouns, one error
body ``{"code", "message", "details"}`` (errors.py), page paging with totals
(pagination.py), ``Idempotency-Key`` on creating POSTs (idempotency.py), and an
access declaration on every operation (security.py).
"""

from ninja import NinjaAPI

from policywindow.applications import api_filing, api_intake
from policywindow.archives import api as archives_api
from policywindow.enterprises import api as enterprises_api
from policywindow.finance import api as finance_api
from policywindow.fundforms import api as fundforms_api
from policywindow.matching import api as matching_api
from policywindow.policies import api as policies_api
from policywindow.workflow import api as workflow_api

from . import errors
from .docs import SelfHostedSwagger
from .rendering import renderer
from .routers import account, calendar, system
from .security import deny_undeclared


def apply_conventions(target: NinjaAPI) -> NinjaAPI:
    """Our error body and deny-by-default access on a NinjaAPI (also used by tests)."""
    errors.install(target)
    target.add_decorator(deny_undeclared)
    return target


api = NinjaAPI(
    title="政策兑现单一窗口 API",
    version="1.0.0",
    description=(
        "政策兑现单一窗口对外接口。所有错误返回统一格式 {code, message, details}。"
        "浏览器使用登录会话（修改类请求须携带 X-CSRFToken），系统对接使用访问令牌"
        "（请求头 Authorization: Bearer <token>）。新增类 POST 请求支持 Idempotency-Key。"
    ),
    urls_namespace="api",
    docs=SelfHostedSwagger(),
    renderer=renderer,
)
apply_conventions(api)

api.add_router("", account.router)
api.add_router("", system.router)
api.add_router("", calendar.router)
api.add_router("", policies_api.router)
api.add_router("", enterprises_api.router)
api.add_router("", api_filing.router)
api.add_router("", api_intake.router)
api.add_router("", workflow_api.router)
api.add_router("", finance_api.publicity_router)
api.add_router("", fundforms_api.router)
api.add_router("", finance_api.router)
api.add_router("", archives_api.router)
api.add_router("", matching_api.router)
