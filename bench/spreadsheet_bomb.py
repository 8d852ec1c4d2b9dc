"""How fast an Excel zip bomb is refused by each import (issue 14): part of ``make bench``.

    .venv/bin/python -m bench.spreadsheet_bomb [--unpacked-mb 294] [--repeat 5] [--with-openpyxl]

Builds an .xlsx of well under a megabyte whose one sheet unpacks to ``--unpacked-mb`` of
identical rows (about 870 KB for 294 MB with the defaults), then times the refusal through the
enterprise import (``enterprises.importing.read_workbook``) and the bank statement import
(``finance.statement.read_statement``), and for comparison how long openpyxl alone takes
to count the sheet's rows (only with ``--with-openpyxl``: it takes minutes). No database:
the checks run before any query, which the hostile tests assert. Prints Markdown.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
import zipfile
from collections.abc import Callable

import django

from ._report import percentile
from ._summary import LATENCY, Headline, Summary, add_report_arguments

MB = 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"
ROW = b"<row>" + b"<c><v>0</v></c>" * 64 + b"</row>"


def bomb(unpacked_mb: int) -> bytes:
    """A valid workbook (openpyxl's own parts) whose sheet is ``unpacked_mb`` of rows."""
    from openpyxl import Workbook

    template = io.BytesIO()
    Workbook().save(template)
    chunk = ROW * 4096
    rows = unpacked_mb * MB // len(ROW)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(template) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package,
    ):
        for item in source.infolist():
            if item.filename != SHEET:
                package.writestr(item, source.read(item))
        with package.open(SHEET, "w", force_zip64=True) as sheet:
            sheet.write(
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            )
            sheet.write(b'<dimension ref="A1:BL%d"/><sheetData>' % rows)
            for _ in range(rows // 4096):
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def timed(refuse: Callable[[], object], repeat: int) -> tuple[list[float], str]:
    from policywindow.core.errors import ValidationFailed

    seconds, message = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            refuse()
        except ValidationFailed as exc:
            message = exc.message
        seconds.append(time.perf_counter() - started)
    return seconds, message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unpacked-mb", type=int, default=294)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--with-openpyxl", action="store_true", help="also time openpyxl alone (minutes)"
    )
    add_report_arguments(parser)
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "policywindow.settings")
    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from openpyxl import load_workbook

    from policywindow.enterprises.importing import read_workbook
    from policywindow.finance.statement import read_statement

    started_all = time.perf_counter()
    data = bomb(options.unpacked_mb)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        unpacked = sum(item.file_size for item in package.infolist())
    lines = [
        f"File: {len(data) / 1024:,.0f} KB, unpacks to {unpacked / MB:,.0f} MB",
        "",
        f"| import | refused in (median of {options.repeat}) | message |",
        "|---|---|---|",
    ]
    cases = {
        "企业批量导入 (enterprises)": lambda: read_workbook(SimpleUploadedFile("企业.xlsx", data)),
        "拨付回单导入 (statement)": lambda: read_statement(data),
    }
    summary = Summary("spreadsheet_bomb", ok=True)
    for label, refuse in cases.items():
        seconds, message = timed(refuse, options.repeat)
        summary.ok = summary.ok and bool(message)  # a bomb that is not refused fails the run
        lines.append(f"| {label} | {statistics.median(seconds) * 1e6:,.0f} µs | {message} |")
        summary.headlines.append(
            Headline(
                f"zip bomb ({unpacked / MB:,.0f} MB unpacked) refused: {label}",
                LATENCY,
                p50_ms=percentile(seconds, 50) * 1000,
                p95_ms=percentile(seconds, 95) * 1000,
                sql="0",
            )
        )
    if options.with_openpyxl:
        started = time.perf_counter()
        book = load_workbook(io.BytesIO(data), read_only=True)
        rows = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
        seconds = time.perf_counter() - started
        lines.append(f"| openpyxl alone, counting its {rows:,} rows | {seconds:.1f} s | — |")
    report = "\n".join(lines)
    print(report)
    if options.output:
        options.output.write_text(report + "\n", encoding="utf-8")
    summary.seconds = time.perf_counter() - started_all
    summary.write(options.summary)
    raise SystemExit(0 if summary.ok else 1)


if __name__ == "__main__":
    main()
