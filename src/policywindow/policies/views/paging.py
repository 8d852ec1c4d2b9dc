"""Paging shared by the list pages of this module."""

from __future__ import annotations

from django.core.paginator import Paginator

PAGE_SIZE = 20


def list_context(request, queryset, *, extra: dict | None = None) -> dict:
    """Paging and the filters to keep in the paging links."""
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {"page": page, "filters": request.GET, "querystring": query.urlencode(), **(extra or {})}
