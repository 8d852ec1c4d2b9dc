"""Chinese full-text search that works the same on SQLite and PostgreSQL.

Policies and rule versions keep a normalised ``search_text`` (NFKC, lower
case, single spaces). A query is split on whitespace into terms, normalised
the same way, and every term must occur as a substring — which is what a
Chinese reader expects: 研发 finds 研发费用, 专精特新 finds “专精特新”小巨人.
"""

from __future__ import annotations

import html
import re
import unicodedata

import nh3
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

MAX_TERMS = 8
MAX_TERM_LENGTH = 50
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, one space between words."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "").lower()).strip()


def plain_text(markup: str) -> str:
    """The readable text of (sanitised) HTML."""
    return html.unescape(nh3.clean(markup or "", tags=set()))


def search_terms(query: str) -> list[str]:
    """The distinct terms of a query, at most ``MAX_TERMS``."""
    terms: list[str] = []
    for term in normalize(query).split(" "):
        term = term[:MAX_TERM_LENGTH]
        if term and term not in terms:
            terms.append(term)
    return terms[:MAX_TERMS]


def all_terms(field: str, terms: list[str], lookup: str = "contains") -> Q:
    condition = Q()
    for term in terms:
        condition &= Q(**{f"{field}__{lookup}": term})
    return condition


def matching(queryset: QuerySet, query: str, *, text_field: str, title_field: str) -> QuerySet:
    """Rows whose search text holds every term; rows whose title holds them all come first."""
    terms = search_terms(query)
    if not terms:
        return queryset
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    return (
        queryset.filter(all_terms(text_field, terms))
        .annotate(
            title_rank=Case(
                When(all_terms(title_field, terms, "icontains"), then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("title_rank", *ordering)
    )
