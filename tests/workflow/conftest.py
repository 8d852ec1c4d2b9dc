"""Fixtures of the workflow tests: a settable clock and the people of a two-department review."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from policywindow.core.calendar import SHANGHAI
from tests.applications.test_intake_factories import make_enterprise, make_member


@pytest.fixture
def clock(monkeypatch):
    """Set the time every service sees (Asia/Shanghai wall clock)."""

    def set_to(*args: int) -> dt.datetime:
        moment = dt.datetime(*args, tzinfo=SHANGHAI)
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_to


@pytest.fixture
def people(make_department, make_user):
    """Two departments reviewing in parallel, then a leader; a clerk; an enterprise user."""
    tech, finance = make_department("省科技厅"), make_department("省财政厅")
    applicant = make_user("ent", "enterprise", kind="enterprise")
    enterprise = make_enterprise()
    make_member(applicant, enterprise)
    return {
        "enterprise": enterprise,
        "tech": tech,
        "finance": finance,
        "a": make_user("rev_a", "reviewer", dept=tech, real_name="科技审核员"),
        "a2": make_user("rev_a2", "reviewer", dept=tech, real_name="科技审核员二"),
        "b": make_user("rev_b", "reviewer", dept=finance, real_name="财政审核员"),
        "c": make_user("leader_c", "dept_leader", dept=tech, real_name="分管领导"),
        "clerk": make_user("clerk", "window_clerk"),
        "applicant": applicant,
    }
