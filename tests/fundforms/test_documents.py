"""The documents: what a form's and a batch's PDF say, that they print on A4, that rendering
again gives the same file, and the batch's Excel."""

from __future__ import annotations

import hashlib
import io
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader

from policywindow.fundforms import rendering, services
from policywindow.fundforms.seal import seal_svg

from .conftest import pdf_text

pytestmark = pytest.mark.django_db

A4_RATIO = 297 / 210


def _compact(text: str) -> str:
    """Extracted text without the line breaks and spaces a table cell may add."""
    return "".join(text.split())


def test_the_form_names_the_parties_the_amounts_and_every_opinion(issued):
    text = pdf_text(services.form_file(issued))
    flat = _compact(text)
    for expected in (
        "政策兑现经费审批表",
        issued.number,
        "关于支持企业研发投入的若干措施",
        "研发费用后补助（演示）",
        issued.application.number,
        "沈阳新松测试机器人自动化股份有限公司",
        issued.application.enterprise.credit_code,
        "曲道奎",
        "中国工商银行沈阳浑南支行",
        "6222020200112233445",  # finance pays to it: the full account, not a mask
        "¥320,000.00",
        "叁拾贰万元整",
        "¥300,000.00",
        "叁拾万元整",
        "部分设备购置费不属于研发费用归集范围，予以核减",
        "经审核，研发费用专项审计报告真实有效，同意。",
        "资金来源已落实，同意。",
        "同意拨付。",
        "李明远",
        "王晓燕",
        "赵志刚",
        "主管部门",
        "财政部门",
        "演示数据",
    ):
        assert _compact(expected) in flat, expected
    for row in issued.content["opinions"]:
        decision = row["decisions"][0]
        assert _compact(f"审核人：{decision['reviewer']}") in flat
        assert rendering.chinese_date(decision["decided_at"]) in flat


def test_the_form_is_a_single_a4_page_with_the_cjk_font_embedded(issued):
    reader = PdfReader(io.BytesIO(services.form_file(issued)))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = [font.get_object()["/BaseFont"] for font in fonts.values()]
    # The shipped Noto Serif SC (npm, core/pdf_render.py), whatever fonts the machine has.
    assert names and all("Noto-Serif-SC" in name for name in names)
    for font in fonts.values():
        descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        assert "/FontFile2" in descriptor.get_object()  # embedded, not left to the printer


def test_the_form_renders_to_an_a4_image(issued, tmp_path):
    source = tmp_path / "form.pdf"
    source.write_bytes(services.form_file(issued))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "110", str(source), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1 and pages[0].stat().st_size > 50_000
    width, height = Image.open(pages[0]).size
    assert height / width == pytest.approx(A4_RATIO, abs=0.01)


def test_rendering_again_gives_the_same_signed_file(issued):
    """The snapshot, the PDF dates, the file identifier and the signing time are fixed, and
    RSA PKCS#1 v1.5 signatures are deterministic: the very same bytes, the recorded hash."""
    stored = services.form_file(issued)
    again = services.render_form(issued)
    assert pdf_text(again) == pdf_text(stored)
    assert again == stored
    assert hashlib.sha256(again).hexdigest() == issued.sha256


def test_a_lost_file_is_restored_from_the_snapshot(issued):
    stored = services.form_file(issued)
    Path(issued.pdf.path).unlink()
    issued.refresh_from_db()
    assert services.form_file(issued) == stored
    assert Path(issued.pdf.path).read_bytes() == stored


def test_the_batch_pdf_has_the_summary_then_every_form(people, make_approved, tmp_path):
    cases = [
        make_approved("甲测试科技有限公司", requested="1200000.05", lowered_to=None),
        make_approved("乙测试科技有限公司", requested="80000.50", lowered_to="60000.00"),
    ]
    batch = services.issue_batch(people["admin"], [c.pk for c in cases], label="2026年第三批")
    data = services.batch_file(batch)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 3
    summary = _compact(reader.pages[0].extract_text())
    for expected in (
        "政策兑现经费审批汇总表",
        batch.number,
        "2026年第三批",
        "甲测试科技有限公司",
        "乙测试科技有限公司",
        "1,200,000.05",
        "60,000.00",
        "¥1,260,000.05",
        "壹佰贰拾陆万元零伍分",  # the total in capitals
    ):
        assert expected in summary, expected
    forms = list(batch.forms.order_by("sequence"))
    for page, form in zip(reader.pages[1:], forms, strict=True):
        assert form.number in _compact(page.extract_text())
    source = tmp_path / "batch.pdf"
    source.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", str(source), str(tmp_path / "s")],
        check=True,
    )
    (page,) = tmp_path.glob("s*.png")
    width, height = Image.open(page).size
    assert height / width == pytest.approx(A4_RATIO, abs=0.01)


def test_the_batch_excel_lists_every_form_with_the_total(people, make_approved):
    cases = [make_approved("甲测试科技有限公司"), make_approved("乙测试科技有限公司")]
    batch = services.issue_batch(people["admin"], [c.pk for c in cases])
    sheet = load_workbook(io.BytesIO(services.batch_workbook(batch))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert batch.number in rows[0][0]
    assert rows[2][:4] == ("序号", "审批表编号", "申报编号", "企业名称")
    body = rows[3:5]
    assert [row[3] for row in body] == ["甲测试科技有限公司", "乙测试科技有限公司"]
    assert body[0][7] == "6222020200112233445"  # the account is text, every digit kept
    assert body[0][11] == Decimal("300000.00")
    total = rows[5]
    assert total[0] == "合计" and total[11] == 600000 and total[12] == "陆拾万元整"


def test_the_seal_draws_the_issuer_along_the_arc_and_marks_demo_data():
    svg = seal_svg("辽宁省营商环境建设局", demo=True)
    assert svg.count("<circle") == 2 and "<polygon" in svg
    arc = [c for c in "辽宁省营商环境建设局"]
    assert all(f">{c}</text>" in svg for c in arc)
    assert ">行政审批专用章</text>" in svg and ">演示</text>" in svg
    assert ">演示</text>" not in seal_svg("辽宁省营商环境建设局")
