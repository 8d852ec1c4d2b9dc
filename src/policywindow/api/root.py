"""The REST API root (django-ninja). Routers of each module are added here."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="政策兑现单一窗口 API",
    version="1.0.0",
    description="政策兑现单一窗口对外接口。所有错误返回统一格式 {code, message, details}。",
    urls_namespace="api",
)
