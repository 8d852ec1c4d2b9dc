"""Fixtures of the finance tests: a settable clock and the people around an approved case."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from policywindow.core.calendar import SHANGHAI


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
    """The lead department's reviewer and leader, a window clerk, the policy office, an
    enterprise user, a chief of another department, and a finance officer."""
    tech, trade = make_department("省科技厅"), make_department("省商务厅")
    return SimpleNamespace(
        tech=tech,
        trade=trade,
        reviewer=make_user("kj_rev", "reviewer", dept=tech, real_name="科技厅审核员"),
        leader=make_user("kj_leader", "dept_leader", dept=tech, real_name="科技厅分管领导"),
        chief=make_user("kj_chief", "section_chief", dept=tech, real_name="科技厅科长"),
        other_chief=make_user("sw_chief", "section_chief", dept=trade, real_name="商务厅科长"),
        clerk=make_user("clerk", "window_clerk"),
        admin=make_user("zcdx", "policy_admin", real_name="政策兑现处"),
        bureau=make_user("ysj", "bureau_leader", real_name="营商局领导"),
        applicant=make_user("ent", "enterprise", kind="enterprise"),
        finance=make_user("czt_jb", "finance_officer", real_name="财政厅经办"),
    )
