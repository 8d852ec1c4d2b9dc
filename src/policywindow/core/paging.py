"""Paging of list pages: one page of rows, and the filters to keep in the paging links."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PAGE_SIZE = 20


def page_of(request: HttpRequest, rows: Any, size: int | None = None) -> Page:
    """The page the query string asks for (the last one when it asks for too much)."""
    return Paginator(rows, size or PAGE_SIZE).get_page(request.GET.get("page"))


def querystring(request: HttpRequest, *, drop: tuple[str, ...] = ("page",)) -> str:
    """The current filters, without ``drop``, for links that change only the page."""
    query = request.GET.copy()
    for name in drop:
        query.pop(name, None)
    return query.urlencode()
