"""Reading a reform task division table (改革任务分工表) as exported to tab-separated text.

The format, as the province circulates it: a few title lines, then a header row
``序号 借鉴推广事项 实施内容 负责部门 推广范围`` repeated at every page break, category
headings such as ``一、政府职能转变领域`` and one row per item. A cell may hold several
lines: either quoted the way Excel writes it (``"1. …\\n2. …"``) or as plain continuation
lines, which are joined until the row has its five columns. Several responsible departments
share one cell separated by spaces or 、 (``大连海关 沈阳海关``).

Pure functions, no database: every problem is collected with its line number and the whole
file is refused if there is any, so nothing is ever half-imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policywindow.core.errors import ValidationFailed

HEADER = ("序号", "借鉴推广事项", "实施内容", "负责部门", "推广范围")
SCOPE_WORDS = {"全省": "province", "自贸试验区及协同区": "ftz"}
MAX_BYTES = 2 * 1024 * 1024
BINARY_OFFICE = (b"PK\x03\x04", bytes.fromhex("D0CF11E0A1B11AE1"))  # .xlsx/.docx, .xls/.doc
MAX_TITLE = 200
CATEGORY = re.compile(r"^[一二三四五六七八九十]+、\s*(\S.*)$")
NUMBER = re.compile(r"^\d{1,4}$")
DEPARTMENT_SEPARATORS = re.compile(r"[\s、，,；;/]+")
ATTACHMENT_LINE = re.compile(r"^附件\s*\d*$")


@dataclass(frozen=True)
class ParsedItem:
    line: int
    number: int
    title: str
    content: str
    departments: tuple[str, ...]
    scope: str  # a key of ``SCOPE_WORDS``' values: "province" | "ftz"
    category: str
    category_order: int


@dataclass(frozen=True)
class ParsedTable:
    title: str
    items: tuple[ParsedItem, ...]

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(item.category for item in self.items))


@dataclass(frozen=True)
class LineProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"第 {self.line} 行：{self.message}" if self.line else self.message


class TableRejected(ValidationFailed):
    """The file was refused as a whole; ``problems`` is the line-by-line report."""

    def __init__(self, problems: list[LineProblem]):
        super().__init__(
            f"导入失败：发现 {len(problems)} 处错误，未导入任何内容。请修改后重新上传。",
            details={"file": [str(p) for p in problems]},
        )
        self.problems = problems


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030, the encodings Chinese office software saves."""
    if len(data) > MAX_BYTES:
        raise TableRejected([LineProblem(0, "文件超过 2 MB，请确认上传的是任务分工表文本文件")])
    if data.startswith(BINARY_OFFICE):
        # A workbook is never unpacked here: the table is imported as text only.
        raise TableRejected(
            [
                LineProblem(
                    0, "这是 Excel / Word 文件，请在 Excel 中“另存为”文本文件（制表符分隔）后上传"
                )
            ]
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableRejected(
        [LineProblem(0, "无法识别文件编码，请另存为 UTF-8 或 GBK 编码的文本文件（制表符分隔）")]
    )


def parse_table(text: str) -> ParsedTable:
    """The items of a table; raises ``TableRejected`` listing every problem found."""
    reader = _Reader(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    reader.read()
    if not reader.header_seen:
        reader.problems.append(LineProblem(0, f"文件中没有表头行（{'、'.join(HEADER)}）"))
    elif not reader.items and not reader.problems:
        reader.problems.append(LineProblem(0, "文件中没有任何改革事项"))
    if reader.problems:
        raise TableRejected(sorted(reader.problems, key=lambda p: p.line))
    return ParsedTable(reader.title, tuple(reader.items))


class _Reader:
    def __init__(self, lines: list[str]):
        self.lines = lines
        self.problems: list[LineProblem] = []
        self.items: list[ParsedItem] = []
        self.preamble: list[str] = []
        self.header_seen = False
        self.categories: dict[str, int] = {}
        self.category: str | None = None
        self.numbers: dict[int, int] = {}  # number -> line

    @property
    def title(self) -> str:
        titles = [line for line in self.preamble if not ATTACHMENT_LINE.match(line)]
        return titles[-1] if titles else ""

    def read(self) -> None:
        index = 0
        while index < len(self.lines):
            line_no, cells = index + 1, _cells(self.lines[index])
            index += 1
            if not any(cells):
                continue
            if cells[0] == HEADER[0]:
                self._header(line_no, cells)
            elif not self.header_seen:
                self._preamble(line_no, cells)
            elif _is_heading(cells):
                self._heading(cells[0])
            elif NUMBER.match(cells[0]):
                record, index = self._record(index - 1)
                self._item(line_no, _cells(record, unquote=True))
            else:
                self._problem(line_no, f"无法识别的行：“{_excerpt(self.lines[line_no - 1])}”")

    def _problem(self, line: int, message: str) -> None:
        self.problems.append(LineProblem(line, message))

    def _header(self, line: int, cells: list[str]) -> None:
        self.header_seen = True
        if tuple(cells) != HEADER:
            self._problem(line, f"表头应为“{'、'.join(HEADER)}”，实际为“{'、'.join(cells)}”")

    def _preamble(self, line: int, cells: list[str]) -> None:
        if len(cells) > 1:
            self._problem(line, "表头（序号、借鉴推广事项…）之前出现了表格行")
        else:
            self.preamble.append(cells[0])

    def _heading(self, text: str) -> None:
        name = CATEGORY.match(text).group(1).strip()
        self.categories.setdefault(name, len(self.categories) + 1)
        self.category = name

    def _record(self, start: int) -> tuple[str, int]:
        """One row, joined with its continuation lines until it has five columns."""
        record, index = self.lines[start], start + 1
        while (
            record.count("\t") < len(HEADER) - 1
            and index < len(self.lines)
            and not _starts_row(self.lines[index])
        ):
            record += "\n" + self.lines[index]
            index += 1
        return record, index

    def _item(self, line: int, cells: list[str]) -> None:
        if len(cells) != len(HEADER):
            self._problem(
                line, f"应有 {len(HEADER)} 列（{'、'.join(HEADER)}），实际为 {len(cells)} 列"
            )
            return
        number_text, title, content, departments, scope = cells
        number = int(number_text)
        problems = [
            *self._number_problems(line, number),
            *_field_problems(title, content, departments, scope),
        ]
        if self.category is None:
            problems.append("该事项之前缺少领域标题行（如“一、政府职能转变领域”）")
        for message in problems:
            self._problem(line, message)
        if problems:
            return
        self.items.append(
            ParsedItem(
                line=line,
                number=number,
                title=title,
                content=content,
                departments=_departments(departments),
                scope=SCOPE_WORDS[scope],
                category=self.category,
                category_order=self.categories[self.category],
            )
        )

    def _number_problems(self, line: int, number: int) -> list[str]:
        if number == 0:
            return ["序号应为正整数"]
        if number in self.numbers:
            return [f"序号 {number} 与第 {self.numbers[number]} 行重复"]
        self.numbers[number] = line
        return []


def _field_problems(title: str, content: str, departments: str, scope: str) -> list[str]:
    problems = []
    if not title:
        problems.append("借鉴推广事项为空")
    elif len(title) > MAX_TITLE:
        problems.append(f"借鉴推广事项超过 {MAX_TITLE} 字")
    if not content:
        problems.append("实施内容为空")
    if not _departments(departments):
        problems.append("负责部门为空")
    if scope not in SCOPE_WORDS:
        words = "”或“".join(SCOPE_WORDS)
        problems.append(f"推广范围“{scope}”无法识别（应为“{words}”）")
    return problems


def _cells(line: str, *, unquote: bool = False) -> list[str]:
    cells = line.split("\t")
    while len(cells) > 1 and not cells[-1].strip():
        cells.pop()  # trailing empty columns of a spreadsheet export
    return [_unquote(c.strip()) if unquote else c.strip() for c in cells]


def _unquote(cell: str) -> str:
    """Excel quotes a cell holding line breaks or quotes: ``"a""b"`` is ``a"b``."""
    if len(cell) >= 2 and cell[0] == cell[-1] == '"':
        return cell[1:-1].replace('""', '"').strip()
    return cell


def _is_heading(cells: list[str]) -> bool:
    return bool(CATEGORY.match(cells[0])) and len(cells) == 1


def _starts_row(line: str) -> bool:
    """Whether a line begins a row of its own (so it cannot continue the previous cell)."""
    cells = _cells(line)
    first = cells[0]
    return (
        (len(cells) > 1 and (NUMBER.match(first) is not None or first == HEADER[0]))
        or _is_heading(cells)
        or first == HEADER[0]
    )


def _departments(cell: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for name in DEPARTMENT_SEPARATORS.split(cell) if name))


def _excerpt(line: str) -> str:
    text = line.replace("\t", " ").strip()
    return text if len(text) <= 30 else text[:30] + "…"
