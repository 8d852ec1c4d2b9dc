"""The deadlines of a case that loading a holiday year may move (core/provisional.py): the
办结期限 of a case in review and the 补正期限 of an open notice. Both are shown to the
enterprise, so its users are told, and so is the clerk who set the deadline."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from policywindow.core import provisional
from policywindow.core.provisional import Moved
from policywindow.notifications.deadlines import tell_moved

from .models import Application, SupplementNotice
from .models import ApplicationStatus as S
from .notices import enterprise_users


def register() -> None:
    provisional.track(
        "applications.Application",
        "due_at",
        running=lambda: Q(status=S.IN_REVIEW),
        tell=_cases_moved,
    )
    provisional.track(
        "applications.SupplementNotice",
        "respond_by",
        running=lambda: Q(resolved_at__isnull=True, application__status=S.SUPPLEMENT_REQUIRED),
        tell=_notices_moved,
    )


def _cases_moved(moved: list[Moved]) -> None:
    cases = Application.objects.select_related("accepted_by").in_bulk([m.object_id for m in moved])
    for change in moved:
        case = cases[change.object_id]
        _tell_both(case, case.accepted_by, f"申报 {case.number} 的办结期限", change, "case")


def _notices_moved(moved: list[Moved]) -> None:
    notices = SupplementNotice.objects.select_related("application", "issued_by").in_bulk(
        [m.object_id for m in moved]
    )
    for change in moved:
        notice = notices[change.object_id]
        what = f"申报 {notice.application.number} 的补正期限"
        _tell_both(notice.application, notice.issued_by, what, change, f"notice{notice.pk}")


def _tell_both(case: Application, clerk, what: str, change: Moved, key: str) -> None:
    key = f"{key}:{case.pk}"
    tell_moved(
        enterprise_users(case),
        what=what,
        moved=change,
        link=reverse("applications:my_detail", args=[case.pk]),
        key=key,
    )
    if clerk is not None:
        link = reverse("applications:review_case", args=[case.pk])
        tell_moved([clerk], what=what, moved=change, link=link, key=key)
