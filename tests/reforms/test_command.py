"""``policywindow import_reforms`` on a fresh database: it names what is missing, and prints
every problem as text, one whole message per line."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from policywindow.core.errors import DomainError, ValidationFailed
from policywindow.reforms.management.commands import import_reforms
from policywindow.reforms.models import Programme, ReformTask
from policywindow.system.models import Department, User

from .conftest import REAL_TABLE

pytestmark = pytest.mark.django_db
ARGS = ["--issued-on", "2026-03-02", "--province-days", "20", "--ftz-days", "10"]


def run(path, *extra: str) -> str:
    """The command's output, or its error text (what the terminal shows after CommandError:)."""
    out = io.StringIO()
    try:
        call_command("import_reforms", str(path), *ARGS, *extra, stdout=out, stderr=out)
    except CommandError as exc:
        return str(exc)
    return out.getvalue()


def assert_text_lines(text: str) -> list[str]:
    """Every line is a message, never a lone character of one."""
    lines = text.splitlines()
    assert lines and all(len(line.strip()) > 1 for line in lines), lines
    return lines


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "分工表.txt"
    path.write_bytes(REAL_TABLE.read_bytes())
    return path


def test_a_fresh_database_is_told_everything_it_lacks_at_once(table):
    assert not User.objects.exists() and not Department.objects.exists()
    lines = assert_text_lines(run(table))
    assert lines[0] == "导入前须具备以下条件："
    assert lines[1].startswith("1. 没有可记入操作日志的账号") and "create-admins" in lines[1]
    assert lines[2].startswith("2. 找不到督办部门“省营商局”") and "市级部门" in lines[2]
    assert not Programme.objects.exists()


def test_after_create_admins_the_missing_cities_are_named(table):
    call_command("create_admins", "--org", "省营商局", stdout=io.StringIO())
    lines = assert_text_lines(run(table))
    assert lines[0].startswith("导入失败：发现 1 处错误")
    assert lines[1].startswith("督办部门“省营商局”下没有启用的市级部门")
    bureau = Department.objects.get(name="省营商局")
    for code, name in (("SY", "沈阳市营商局"), ("DL", "大连市营商局")):
        city = Department(code=code, name=name, kind=Department.Kind.CITY, parent=bureau)
        city.save()
    report = assert_text_lines(run(table))
    assert "新增事项 46 项" in "\n".join(report)
    localities = set(ReformTask.objects.values_list("locality__name", flat=True))
    assert {"沈阳市营商局", "大连市营商局"} <= localities


def test_an_unknown_account_or_bureau_is_named(table):
    lines = assert_text_lines(run(table, "--user", "nobody", "--bureau", "某局"))
    assert lines[1] == "1. 找不到启用的工作人员账号“nobody”"
    assert lines[2].startswith("2. 找不到督办部门“某局”")


def test_a_broken_file_prints_each_problem_as_a_line(tmp_path, table):
    call_command("create_admins", "--org", "省营商局", stdout=io.StringIO())
    broken = tmp_path / "broken.txt"
    broken.write_text("某专项任务分工表\n1\t事项\t内容\n", encoding="utf-8")
    lines = assert_text_lines(run(broken))
    assert lines[0].startswith("导入失败：发现 2 处错误")
    assert "文件中没有表头行（序号、借鉴推广事项、实施内容、负责部门、推广范围）" in lines
    assert not Programme.objects.exists()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            DomainError("节假日表未覆盖日期 2027-01-01", details={"date": "2027-01-01"}),
            ["节假日表未覆盖日期 2027-01-01"],  # the date is already said
        ),
        (
            DomainError("无法计算期限", details={"reason": "节假日表为空"}),
            ["无法计算期限", "节假日表为空"],
        ),
        (
            ValidationFailed(
                "办理时限有误", details={"ftz_days": ["自贸试验区事项时限应为 1–500"]}
            ),
            ["办理时限有误", "自贸试验区事项时限应为 1–500"],
        ),
    ],
)
def test_details_of_any_shape_print_as_whole_lines(monkeypatch, table, error, expected):
    """A detail that is one text (not a list of texts) is one line, not one per character."""
    call_command("create_admins", "--org", "省营商局", stdout=io.StringIO())

    def refuse(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(import_reforms, "import_table", refuse)
    assert assert_text_lines(run(table)) == expected
