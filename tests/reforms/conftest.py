"""Fixtures of 改革任务督办: the real reform table, the demo organisation and an imported programme."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from policywindow.demo import reform_loader
from policywindow.reforms.models import Programme
from policywindow.reforms.services.importing import ImportOptions, import_table
from policywindow.system.demo import load_demo
from policywindow.system.models import Department

ROOT = Path(__file__).resolve().parents[2]
# ../shared/data next to the checkout, or where POLICYWINDOW_SHARED_DATA says (CI clones elsewhere).
SHARED_DATA = Path(os.environ.get("POLICYWINDOW_SHARED_DATA", ROOT.parent / "shared" / "data"))
SHARED_TABLE = SHARED_DATA / "000_d473786d2f100032.txt"
# The table the product comes from; the demo ships a copy for checkouts without ../shared.
REAL_TABLE = SHARED_TABLE if SHARED_TABLE.is_file() else reform_loader.TABLE
ISSUED_ON = dt.date(2026, 3, 2)  # a Monday; 20 and 10 working days fall in March 2026


@pytest.fixture
def real_table() -> bytes:
    return REAL_TABLE.read_bytes()


@pytest.fixture
def org(db) -> dict[str, Department]:
    """The demo departments (the reform table's departments, 省营商局 and four city bureaus)."""
    load_demo()
    return {d.code: d for d in Department.objects.all()}


@pytest.fixture
def department(org) -> Department:
    """``make_user``'s default department: the demo's 省营商局, so the name stays unique."""
    return org["YSJ"]


@pytest.fixture
def options(org) -> ImportOptions:
    return ImportOptions(bureau=org["YSJ"], issued_on=ISSUED_ON, province_days=20, ftz_days=10)


@pytest.fixture
def supervisor(make_user, org):
    return make_user("ggdb", "reform_admin", dept=org["YSJ"], real_name="孟督办")


@pytest.fixture
def programme(supervisor, options, real_table) -> Programme:
    report = import_table(supervisor, real_table, source_name="table.txt", options=options)
    return Programme.objects.get(pk=report.programme_id)
