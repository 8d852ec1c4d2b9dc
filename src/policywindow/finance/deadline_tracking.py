"""The end of a publicity period that loading a holiday year may move (core/provisional.py):
the period is computed again while it runs, and the staff member who published it is told."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from policywindow.core import provisional
from policywindow.core.provisional import Moved
from policywindow.notifications.deadlines import tell_moved

from .models import PublicityBatch


def register() -> None:
    provisional.track(
        "finance.PublicityBatch",
        "ends_at",
        running=lambda: Q(ends_at__gt=timezone.now()),
        tell=_periods_moved,
    )


def _periods_moved(moved: list[Moved]) -> None:
    batches = PublicityBatch.objects.select_related("published_by").in_bulk(
        [m.object_id for m in moved]
    )
    for change in moved:
        batch = batches[change.object_id]
        tell_moved(
            [batch.published_by],
            what=f"公示“{batch.title}”的公示期",
            moved=change,
            link=reverse("finance:publicity_detail", args=[batch.pk]),
            key=f"publicity:{batch.pk}",
        )
