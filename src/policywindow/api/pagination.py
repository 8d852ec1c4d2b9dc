"""Page paging with totals: ``{"items": [...], "total": n, "page": p, "page_size": s}``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PaginationBase

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Keeps the row offset inside a 64-bit integer: a larger page number was a database error (500).
MAX_PAGE = 1_000_000


class PagePagination(PaginationBase):
    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE, description="页码，从 1 开始")
        page_size: int = Field(
            DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="每页条数，最多 100"
        )

    class Output(Schema):
        items: list[Any]
        total: int
        page: int
        page_size: int

    def paginate_queryset(
        self, queryset: QuerySet, pagination: Input, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        offset = (pagination.page - 1) * pagination.page_size
        return {
            "items": queryset[offset : offset + pagination.page_size],
            "total": self._items_count(queryset),
            "page": pagination.page,
            "page_size": pagination.page_size,
        }
