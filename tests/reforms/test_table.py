"""Reading the task division table: the real file, multi-line cells, and line-numbered problems."""

from __future__ import annotations

import hashlib
import re

import pytest

from policywindow.demo import reform_loader
from policywindow.reforms.table import TableRejected, decode, parse_table

from .conftest import REAL_TABLE, SHARED_TABLE

HEAD = "序号\t借鉴推广事项\t实施内容\t负责部门\t推广范围"


def simple_parse(text: str) -> tuple[list[str], dict[int, tuple[str, list[str], str, str]]]:
    """An independent reading of the real file: headings, and per numbered row its title,
    departments, scope and the heading above it."""
    headings, items, current = [], {}, None
    for line in text.splitlines():
        fields = line.split("\t")
        if re.match(r"^[一二三四五六七八九十]+、", fields[0]):
            current = fields[0].split("、", 1)[1]
            headings.append(current)
        elif fields[0].isdigit():
            items[int(fields[0])] = (fields[1], fields[3].split(), fields[4], current)
    return headings, items


def test_the_real_table_has_46_items_in_5_categories_as_the_file_says():
    text = REAL_TABLE.read_text(encoding="utf-8")
    headings, expected = simple_parse(text)
    table = parse_table(text)
    assert len(table.items) == len(expected) == 46
    assert table.categories == headings and len(headings) == 5
    scopes = {"province": "全省", "ftz": "自贸试验区及协同区"}
    got = {
        i.number: (i.title, list(i.departments), scopes[i.scope], i.category) for i in table.items
    }
    assert got == expected
    assert table.title == "中国（辽宁）自由贸易试验区第四批改革创新经验任务分工表"
    two = [i for i in table.items if len(i.departments) == 2]
    assert two and all(i.departments == ("大连海关", "沈阳海关") for i in two)


# SHA-256 of ../shared/data/000_d473786d2f100032.txt, the table the product comes from, so a clone
# without ../shared (CI's) still proves the demo's copy is that table, byte for byte.
SHARED_TABLE_SHA256 = "a725ae06d7208d88bd8a3ffc874d13d4c88ddf4d2024874e2d3db2b36a55ab22"


def test_the_demo_ships_the_shared_table_unchanged():
    shipped = hashlib.sha256(reform_loader.TABLE.read_bytes()).hexdigest()
    assert shipped == SHARED_TABLE_SHA256
    if SHARED_TABLE.is_file():  # and the table next to this checkout is still that one
        assert hashlib.sha256(SHARED_TABLE.read_bytes()).hexdigest() == SHARED_TABLE_SHA256


def _table(*rows: str) -> str:
    return "\n".join(["附件", "", "测试任务分工表", "", HEAD, "一、政府职能转变领域", *rows])


def test_multi_line_content_is_kept_quoted_or_continued():
    text = _table(
        '1\t事项甲\t"1. 第一条。\n2. 第二条，含""引号""。"\t省营商局\t全省',
        "2\t事项乙\t1. 第一条。",
        "2. 第二条。\t大连海关、沈阳海关\t自贸试验区及协同区",
        "3\t事项丙\t内容\t省教育厅\t全省",
    )
    items = parse_table(text).items
    assert [i.number for i in items] == [1, 2, 3]
    assert items[0].content == '1. 第一条。\n2. 第二条，含"引号"。'
    assert items[1].content == "1. 第一条。\n2. 第二条。"
    assert items[1].departments == ("大连海关", "沈阳海关")
    assert items[1].scope == "ftz"
    assert items[2].line == 11  # line numbers stay those of the file


def test_windows_line_ends_and_gbk_encoding_are_read():
    text = _table("1\t事项甲\t内容\t省营商局\t全省").replace("\n", "\r\n")
    assert parse_table(decode(text.encode("gb18030"))).items[0].title == "事项甲"
    assert parse_table(decode(("\ufeff" + text).encode("utf-8"))).title == "测试任务分工表"


def test_every_malformed_row_is_reported_with_its_line_number():
    text = _table(
        "1\t事项甲\t内容\t省营商局\t全省",  # line 7: fine
        "2\t事项乙\t内容\t省营商局",  # line 8: four columns
        "3\t事项丙\t内容\t省营商局\t全国",  # line 9: unknown scope
        "1\t事项丁\t内容\t省营商局\t全省",  # line 10: number again
        "4\t\t内容\t\t全省",  # line 11: no title, no department
        "这一行不属于表格",  # line 12
        "序号\t事项\t实施内容\t负责部门\t推广范围",  # line 13: wrong header
    )
    with pytest.raises(TableRejected) as caught:
        parse_table(text)
    found = {(p.line, p.message) for p in caught.value.problems}
    assert {line for line, _ in found} == {8, 9, 10, 11, 12, 13}
    assert (
        8,
        "应有 5 列（序号、借鉴推广事项、实施内容、负责部门、推广范围），实际为 4 列",
    ) in found
    assert (10, "序号 1 与第 7 行重复") in found
    assert any(line == 9 and "全国" in message for line, message in found)
    assert {m for line, m in found if line == 11} == {"借鉴推广事项为空", "负责部门为空"}
    assert "第 8 行：" in caught.value.details["file"][0]


def test_an_item_before_any_category_heading_is_refused():
    text = "\n".join(["标题", HEAD, "1\t事项甲\t内容\t省营商局\t全省"])
    with pytest.raises(TableRejected) as caught:
        parse_table(text)
    [problem] = caught.value.problems
    assert problem.line == 3 and problem.message.startswith("该事项之前缺少领域标题行")


def test_a_file_without_header_or_items_is_refused():
    with pytest.raises(TableRejected, match="导入失败"):
        parse_table("只有一行标题")
    with pytest.raises(TableRejected) as caught:
        parse_table(_table())
    assert caught.value.problems[0].message == "文件中没有任何改革事项"
