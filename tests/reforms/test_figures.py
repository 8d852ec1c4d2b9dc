"""改革任务总览's headline figures recounted from the rows as ``selectors.FIGURES`` defines them;
已报送待审核 matches the review queue even when the reported tasks are past their deadline."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from policywindow.reforms import selectors
from policywindow.reforms.models import ProgressReport, ReformTask, ReportStatus, TaskStatus
from policywindow.reforms.selectors import TaskFilters
from policywindow.reforms.services.reports import ReportInput, accept_report, submit_report

pytestmark = pytest.mark.django_db

OVERVIEW = "/reforms/"


def _progress() -> ReportInput:
    return ReportInput(kind="progress", text="正在推进。", percent=40)


@pytest.fixture
def reported(programme, org, make_user, supervisor) -> list[ReformTask]:
    """Three 大连海关 tasks, all past their deadline (March 2026): two reports wait for review,
    one was accepted."""
    reporter = make_user("dlhg_fig", "reviewer", dept=org["DLHG"])
    tasks = list(
        ReformTask.objects.filter(item__programme=programme, department=org["DLHG"]).order_by("pk")[
            :3
        ]
    )
    reports = [submit_report(reporter, task, _progress()) for task in tasks]
    accept_report(supervisor, reports[2], "予以采纳。")
    return tasks


def recount(programme) -> dict[str, int]:
    now = timezone.now()
    tasks = list(ReformTask.objects.filter(item__programme=programme))
    waiting = ProgressReport.objects.filter(
        task__item__programme=programme, status=ReportStatus.SUBMITTED
    )
    return {
        "tasks": len(tasks),
        "accepted": sum(1 for t in tasks if t.status == TaskStatus.ACCEPTED),
        "awaiting_review": waiting.count(),
        "overdue": sum(1 for t in tasks if t.status != TaskStatus.ACCEPTED and t.due_at <= now),
    }


def test_each_figure_recounts_from_the_rows(programme, supervisor, reported):
    overall = selectors.programme_summary(supervisor, programme, TaskFilters()).overall
    expected = recount(programme)
    assert {
        "tasks": overall.total,
        "accepted": overall.accepted,
        "awaiting_review": overall.awaiting_review,
        "overdue": overall.counts["overdue"],
    } == expected
    # Both waiting reports are on overdue tasks: still counted as waiting for review.
    assert expected["awaiting_review"] == 2 and overall.counts["reported"] == 0


def test_the_overview_and_the_review_queue_agree(programme, supervisor, reported, login):
    client = login(supervisor)
    page = client.get(OVERVIEW).content.decode()
    shown = re.search(r'data-figure-value="awaiting_review">(\d+)<', page)
    queue = client.get("/reforms/reports/", {"status": "submitted"}).content.decode()
    assert int(shown.group(1)) == queue.count("data-report=") == 2
    for key, figure in selectors.FIGURES.items():
        assert f'data-figure="{key}"' in page
        assert figure.counts in page
    printed = client.get("/reforms/print/").content.decode()
    assert re.search(r"<b>2</b>已报送待审核", printed)
