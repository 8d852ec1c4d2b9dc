"""The 改革任务督办 demo: the real table imported and reports in every review state, loaded once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from policywindow.core.calendar import SHANGHAI
from policywindow.demo.reform_loader import FILINGS, load_reform_demo
from policywindow.reforms import selectors
from policywindow.reforms.models import OVERDUE, Programme, ProgressReport, ReformItem, ReformTask
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


def _overdue_at(moment: dt.datetime) -> dict[str, set[bool]]:
    """Per scope, whether its tasks show as overdue at ``moment``."""
    rows = selectors.with_status(ReformTask.objects.all(), moment).values_list(
        "item__scope", "display_status"
    )
    found: dict[str, set[bool]] = {}
    for scope, status in rows:
        found.setdefault(scope, set()).add(status == OVERDUE)
    return found


@pytest.mark.parametrize("day", [dt.date(2026, 5, 11), dt.date(2026, 9, 1)])
def test_the_demo_dates_follow_the_load_day_and_stay_plausible_for_weeks(monkeypatch, day):
    loaded = dt.datetime.combine(day, dt.time(10), tzinfo=SHANGHAI)
    monkeypatch.setattr(timezone, "now", lambda: loaded)
    load_demo()
    load_reform_demo()
    assert Programme.objects.get().issued_on < day
    # On the load day, the next day and three weeks later: the 自贸试验区 items are overdue,
    # the 全省 items are not (their deadline is 30 working days after the load day).
    for later in (0, 1, 21):
        assert _overdue_at(loaded + dt.timedelta(days=later)) == {
            "ftz": {True},
            "province": {False},
        }, later
    assert True in _overdue_at(loaded + dt.timedelta(days=60))["province"]
