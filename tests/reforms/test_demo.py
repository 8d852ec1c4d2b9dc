"""The 改革任务督办 demo: the real table imported and reports in every review state, loaded once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from policywindow.core.calendar import SHANGHAI
from policywindow.demo.reform_loader import FILINGS, load_reform_demo
from policywindow.reforms import selectors
from policywindow.reforms.models import OVERDUE, ProgressReport, ReformItem, ReformTask
from policywindow.system.demo import load_demo
from policywindow.system.models import User

pytestmark = pytest.mark.django_db


def test_the_demo_holds_the_table_and_reports_in_every_state(monkeypatch):
    load_demo()
    load_reform_demo()
    assert ReformItem.objects.count() == 46
    assert ProgressReport.objects.count() == len(FILINGS)
    assert set(ProgressReport.objects.values_list("status", flat=True)) == {
        "submitted",
        "returned",
        "accepted",
    }
    assert ProgressReport.objects.filter(revision=2, status="submitted").exists()
    # On the demo's own day the 自贸试验区 items are overdue and the 全省 items are not yet.
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 11, 26, 10, tzinfo=SHANGHAI))
    statuses = dict(
        selectors.with_status(ReformTask.objects.all()).values_list("pk", "display_status")
    )
    ftz = set(ReformTask.objects.filter(item__scope="ftz").values_list("pk", flat=True))
    assert {statuses[pk] for pk in ftz} == {OVERDUE}
    assert OVERDUE not in {s for pk, s in statuses.items() if pk not in ftz}
    assert User.objects.get(username="ysj_reform").has_permission_code("reform:report:review")

    counts = (ReformTask.objects.count(), ProgressReport.objects.count(), User.objects.count())
    load_reform_demo()
    assert (
        ReformTask.objects.count(),
        ProgressReport.objects.count(),
        User.objects.count(),
    ) == counts
