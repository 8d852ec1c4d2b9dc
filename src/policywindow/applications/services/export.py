"""办件查询's Excel export: the page's filters within the actor's data scope, bounded, audited."""

from __future__ import annotations

from policywindow.core import exports
from policywindow.system.models import User

from .. import exporting, selectors
from ..models import Application


def export_cases(actor: User, criteria: selectors.CaseFilter, filters: dict[str, str]) -> bytes:
    """The cases the page lists for ``criteria`` (described by ``filters``), as Excel; at most
    ``exports.MAX_ROWS`` of them; the export is written to the operation log."""
    cases = selectors.search_cases(actor, criteria)
    count = cases.count()
    exports.check_size(count, "办件")
    body = exporting.workbook(cases, count, filters, actor)
    exports.record_export(actor, Application, filters, count)
    return body
