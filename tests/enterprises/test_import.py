"""Excel import: the template, a good file, the row-by-row report, and all-or-nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from policywindow.core.codes import INDICATOR_LABELS, make_uscc
from policywindow.core.errors import ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.enterprises import services
from policywindow.enterprises.forms import EnterpriseForm
from policywindow.enterprises.importing import (
    COLUMN_LABELS,
    ImportRejected,
    columns,
    template_workbook,
)
from policywindow.enterprises.models import CLERK_EDITABLE_FIELDS, Enterprise

from .conftest import next_credit_code

pytestmark = pytest.mark.django_db


def row(**overrides) -> dict:
    values = {
        "credit_code": next_credit_code(),
        "name": "大连海辰船舶配件有限公司",
        "legal_representative": "刘洋",
        "registered_capital": 1000,
        "established_on": dt.datetime(2012, 5, 20),
        "industry": 37,
        "region": "210213",
        "address": "大连市金州区站前街道 8 号",
        "contact_name": "赵敏",
        "contact_phone": "0411-87654321",
        "contact_email": "zhaomin@example.com",
        "bank_name": "中国银行大连金州支行",
        "bank_account": "6216600100001234567",
        "employees": 320,
        "revenue": 260000000,
        "total_assets": 310000000.5,
        "rd_spend": 9000000,
        "export_value": None,
        "high_tech": "是",
        "high_tech_valid_until": dt.datetime(2027, 11, 30),
        "tech_sme": "否",
        "specialized": "省级",
    }
    values.update(overrides)
    return values


def xlsx(rows: list[dict], *, name: str = "企业.xlsx") -> SimpleUploadedFile:
    """Fill the downloadable template from row 3 on, as a clerk would."""
    book = load_workbook(io.BytesIO(template_workbook()))
    sheet = book["企业信息"]
    for number, values in enumerate(rows, start=3):
        for column, field in enumerate(CLERK_EDITABLE_FIELDS, start=1):
            sheet.cell(row=number, column=column, value=values.get(field))
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def rejected(clerk, upload) -> list[tuple[int, str, str]]:
    with pytest.raises(ImportRejected) as caught:
        services.import_enterprises(clerk, upload)
    return [(p.row, p.column, p.message) for p in caught.value.problems]


def test_template_has_the_header_row_hints_and_code_tables():
    book = load_workbook(io.BytesIO(template_workbook()))
    sheet = book["企业信息"]
    header = [cell.value for cell in sheet[1]]
    assert header[0] == "统一社会信用代码*" and header[5] == "行业代码*"
    assert [h.rstrip("*") for h in header] == [COLUMN_LABELS[f] for f in CLERK_EDITABLE_FIELDS]
    assert sheet.column_dimensions["A"].number_format == "@"  # credit codes stay text
    assert book["行业代码"].max_row == 1 + 97 + 12
    assert book["行政区划代码"]["B2"].value == "沈阳市"


def test_a_good_file_registers_every_row(clerk):
    rows = [row(), row(name="营口恒通物流有限公司", industry="54", region="210804", specialized="")]
    created = services.import_enterprises(clerk, xlsx(rows))
    assert len(created) == 2
    first = Enterprise.objects.get(credit_code=rows[0]["credit_code"])
    assert first.industry_id == "37" and first.region_id == "210213"
    assert first.established_on == dt.date(2012, 5, 20)
    assert str(first.total_assets) == "310000000.50"
    assert first.high_tech and not first.tech_sme and first.specialized == "provincial"
    assert first.size == Enterprise.Size.MEDIUM
    assert first.department == clerk.department and first.created_by == clerk
    imports = AuditEvent.objects.filter(action="enterprise.create", message="Excel 批量导入")
    assert imports.count() == 2
    assert all("1234567" not in str(e.after) for e in imports)


def test_bad_rows_are_reported_by_row_column_and_reason_and_nothing_is_saved(clerk):
    good = row()
    bad_code = row(credit_code=good["credit_code"][:17] + "Z")
    bad_values = row(industry="C", region="110101", high_tech="有", contact_phone="123")
    missing = row(name=None, total_assets=None, industry="47", employees=None)
    report = rejected(clerk, xlsx([good, bad_code, bad_values, missing]))
    assert (
        4,
        "统一社会信用代码",
        "第 18 位“Z”是非法字符：字母 I、O、S、V、Z 不用于统一社会信用代码",
    ) in report
    assert (5, "高新技术企业", "请填写“是”或“否”，不能填写“有”") in report
    assert (6, "企业名称", "这个字段是必填项。") in report
    rows_reported = {r for r, _, _ in report}
    assert rows_reported == {4, 5, 6}
    assert not Enterprise.objects.exists()
    assert not AuditEvent.objects.filter(action="enterprise.create").exists()


def test_domain_problems_name_their_columns(clerk):
    report = rejected(
        clerk,
        xlsx(
            [
                row(
                    industry="C",
                    region="110101",
                    contact_phone="123",
                    total_assets=None,
                    employees=None,
                    revenue=9e8,
                    **{},
                )
            ]
        ),
    )
    columns = {column: message for _, column, message in report}
    assert columns["行业代码"] == "“C 制造业”是门类，请选择到大类"
    assert columns["行政区划代码"] == "行政区划代码“110101”不是辽宁省的市或区县代码"
    assert columns["联系电话"].startswith("请输入正确的手机号码或固定电话")


def test_missing_size_indicator_is_reported(clerk):
    report = rejected(clerk, xlsx([row(industry="47", total_assets=None)]))
    assert report == [(3, "资产总额（元）", "建筑业企业划分规模须填写资产总额")]


def test_one_bad_row_at_the_end_stops_all_the_good_ones(clerk):
    rows = [row() for _ in range(5)] + [row(registered_capital="五百万")]
    report = rejected(clerk, xlsx(rows))
    assert report == [(8, "注册资本（万元）", "注册资本（万元）须为金额数字，如 12345.67")]
    assert Enterprise.objects.count() == 0


def test_duplicates_within_the_file_and_against_the_registry(clerk, enterprise):
    twin = row()
    report = rejected(
        clerk,
        xlsx([twin, row(credit_code=twin["credit_code"]), row(credit_code=enterprise.credit_code)]),
    )
    assert (4, "统一社会信用代码", "与第 3 行的统一社会信用代码重复") in report
    assert (5, "统一社会信用代码", f"{enterprise.credit_code} 已登记，不能重复导入") in report
    assert Enterprise.objects.count() == 1


def test_a_numeric_credit_code_cell_is_refused(clerk):
    digits = next(code for n in range(100) if (code := make_uscc(f"91210102{n:09d}")).isdigit())
    report = rejected(clerk, xlsx([row(credit_code=int(digits))]))
    assert len(report) == 1
    assert report[0][1:] == (
        "统一社会信用代码",
        "请以文本格式填写（数字格式会丢失位数），可在数字前加英文单引号",
    )


def test_a_division_typed_as_a_number_keeps_its_leading_zero(clerk):
    services.import_enterprises(clerk, xlsx([row(industry=5, employees=None, revenue=3000000)]))
    assert Enterprise.objects.get().industry_id == "05"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,code\n", "文件不是 Excel（.xlsx）格式，请使用下载的模板填写后上传"),
        (b"PK\x03\x04broken", "无法读取该 Excel 文件，文件可能已损坏，请使用下载的模板重新填写"),
    ],
)
def test_files_that_are_not_workbooks(clerk, content, message):
    with pytest.raises(ValidationFailed) as caught:
        services.import_enterprises(clerk, SimpleUploadedFile("x.xlsx", content))
    assert caught.value.details == {"file": [message]}


def test_a_header_that_does_not_match_the_template(clerk):
    book = Workbook()
    book.active.append(["企业名称", "统一社会信用代码", "备注"])
    book.active.append(["某公司", next_credit_code(), ""])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(ValidationFailed) as caught:
        services.import_enterprises(clerk, SimpleUploadedFile("x.xlsx", buffer.getvalue()))
    message = caught.value.details["file"][0]
    assert message.startswith("第 1 行表头与模板不一致（缺少必填列：法定代表人、")
    assert "无法识别的列：备注" in message


def test_an_empty_template_says_there_is_nothing_to_import(clerk):
    with pytest.raises(ValidationFailed, match="文件中没有企业数据"):
        services.import_enterprises(clerk, xlsx([]))


# ---------------------------------------------------------------- the import page


def test_import_page_shows_the_report(clerk, login):
    client = login(clerk)
    upload = xlsx([row(), row(high_tech="也许")])
    response = client.post(reverse("enterprises:enterprise_import"), {"file": upload})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="import-report"' in html
    assert "第 4 行" in html and "请填写“是”或“否”，不能填写“也许”" in html
    assert "未导入任何企业" in html
    assert not Enterprise.objects.exists()


def test_import_page_success_redirects_to_the_list(clerk, login):
    response = login(clerk).post(reverse("enterprises:enterprise_import"), {"file": xlsx([row()])})
    assert response.status_code == 302 and response.url == reverse("enterprises:enterprise_list")
    assert Enterprise.objects.count() == 1


def test_import_page_without_a_file_is_a_field_error(clerk, login):
    response = login(clerk).post(reverse("enterprises:enterprise_import"), {})
    assert "请选择要导入的 Excel 文件" in response.content.decode()


def test_template_download(clerk, login):
    response = login(clerk).get(reverse("enterprises:enterprise_import_template"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book["企业信息"]["B1"].value == "企业名称*"


def test_import_is_refused_to_enterprise_users(linked_user, login):
    client = login(linked_user)
    assert client.get(reverse("enterprises:enterprise_import")).status_code == 403
    assert client.get(reverse("enterprises:enterprise_import_template")).status_code == 403


# ---------------------------------------------------------------- required and optional columns


def test_the_template_marks_required_exactly_what_the_reader_requires():
    """One column definition: ``*`` and 必填 in the template <=> the clerk's form requires it."""
    fields = EnterpriseForm(choices=False).fields
    form_required = {COLUMN_LABELS[name] for name, field in fields.items() if field.required}
    sheet = load_workbook(io.BytesIO(template_workbook()))["企业信息"]
    hints = {
        cell.value.rstrip("*"): sheet.cell(row=2, column=cell.column).value for cell in sheet[1]
    }
    starred = {c.value.rstrip("*") for c in sheet[1] if c.value.endswith("*")}
    must = {label for label, hint in hints.items() if hint.startswith("必填")}
    assert starred == must == form_required == {c.label for c in columns() if c.required}
    assert {"统一社会信用代码", "企业名称", "行业代码"} <= starred
    indicators = {label for label, hint in hints.items() if hint.startswith("划型指标")}
    assert indicators == {"从业人员（人）", "上年营业收入（元）", "资产总额（元）"}
    others = set(hints) - must - indicators
    assert others and all(hints[label].startswith("选填") for label in others)


def _without_column(label: str, rows: list[dict]) -> SimpleUploadedFile:
    """The filled-in template with one column deleted, as a clerk may do with Excel."""
    book = load_workbook(xlsx(rows))
    sheet = book["企业信息"]
    index = next(c.column for c in sheet[1] if c.value.rstrip("*") == label)
    sheet.delete_cols(index)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("企业.xlsx", buffer.getvalue())


@pytest.mark.parametrize("column", columns(), ids=lambda c: c.field)
def test_a_file_without_a_column_is_refused_only_when_the_column_is_required(clerk, column):
    """A required column missing refuses the file; an optional one reads as blank, and a size
    indicator the row's industry needs (工业: 从业人员, 营业收入) is then named for the row."""
    upload = _without_column(column.label, [row()])  # 37: 工业, sized by employees and revenue
    if column.required:
        with pytest.raises(ValidationFailed) as caught:
            services.import_enterprises(clerk, upload)
        assert f"缺少必填列：{column.label}" in caught.value.details["file"][0]
    elif column.field in ("employees", "revenue"):
        assert rejected(clerk, upload) == [
            (3, column.label, f"工业企业划分规模须填写{INDICATOR_LABELS[column.field]}")
        ]
    else:
        [created] = services.import_enterprises(clerk, upload)
        assert created.name == "大连海辰船舶配件有限公司"
        return
    assert not Enterprise.objects.exists()
