"""``policywindow import_reforms FILE``: import (or preview) a reform task division table.

On a fresh database the import needs what the table cannot bring: an account to record it
under in the operation log and the supervising bureau with its city departments (全省 items are
split over the cities; the FTZ areas are created when missing). The command names every one
that is missing, with how to provide it (the cities are named by the import itself, as a
problem of the table); every problem is printed as text, one line each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from policywindow.core.errors import DomainError
from policywindow.reforms.services.importing import ImportOptions, import_table
from policywindow.reforms.table import TableRejected
from policywindow.system.models import Department, Status, User

NEEDS_ACCOUNT = (
    "没有可记入操作日志的账号：请用 --user 指定一个启用的工作人员账号；"
    "全新部署可先运行 policywindow create-admins 创建三员账号（同时创建主管部门）"
)


class Command(BaseCommand):
    help = "导入改革任务分工表（制表符分隔的文本文件）；重复导入同一文件不会产生任何变化"

    def add_arguments(self, parser):
        parser.add_argument("file", help="任务分工表文件路径")
        parser.add_argument("--bureau", default="省营商局", help="督办部门名称或编码")
        parser.add_argument("--issued-on", help="下达日期 YYYY-MM-DD（默认今天）")
        parser.add_argument("--province-days", type=int, default=60, help="全省推广事项时限")
        parser.add_argument("--ftz-days", type=int, default=30, help="自贸试验区事项时限")
        parser.add_argument("--title", default="", help="专项名称（默认取文件标题行）")
        parser.add_argument("--user", default="", help="记入操作日志的账号（默认第一个系统管理员）")
        parser.add_argument("--dry-run", action="store_true", help="只校验并报告，不写入")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}")
        issued_on = _date(options["issued_on"])
        actor, bureau, missing = _prerequisites(options["user"], options["bureau"])
        if missing:
            raise CommandError("\n".join(["导入前须具备以下条件：", *_numbered(missing)]))
        try:
            report = import_table(
                actor,
                path.read_bytes(),
                source_name=path.name,
                options=ImportOptions(
                    bureau=bureau,
                    issued_on=issued_on,
                    province_days=options["province_days"],
                    ftz_days=options["ftz_days"],
                    title=options["title"],
                ),
                dry_run=options["dry_run"],
            )
        except TableRejected as exc:
            raise CommandError("\n".join([exc.message, *map(str, exc.problems)])) from exc
        except DomainError as exc:
            raise CommandError("\n".join(error_lines(exc))) from exc
        self.stdout.write("\n".join(report.lines()))


def error_lines(exc: DomainError) -> list[str]:
    """The message, then each detail message not already said, one line each (a detail may
    be a list of messages or a single text)."""
    lines = [exc.message]
    for value in exc.details.values():
        for message in _messages(value):
            if message and message not in lines and message not in exc.message:
                lines.append(message)
    return lines


def _messages(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return [str(value)]


def _numbered(lines: Iterable[str]) -> list[str]:
    return [f"{number}. {line}" for number, line in enumerate(lines, start=1)]


def _prerequisites(username: str, bureau_name: str) -> tuple[User | None, Department | None, list]:
    """The account and the bureau to import with, and what is missing (all of it at once)."""
    missing = []
    actor = _actor(username)
    if actor is None:
        missing.append(f"找不到启用的工作人员账号“{username}”" if username else NEEDS_ACCOUNT)
    bureau = _bureau(bureau_name)
    if bureau is None:
        missing.append(
            f"找不到督办部门“{bureau_name}”：请用 --bureau 指定部门名称或编码，或在“系统管理 › "
            "部门管理”中建立它及其下属各市的市级部门（全省推广事项按市分解；"
            "create-admins --org 省营商局 会建立督办部门）"
        )
    return actor, bureau, missing


def _actor(username: str) -> User | None:
    users = User.objects.filter(is_active=True, kind=User.Kind.STAFF)
    if username:
        return users.filter(username=username).first()
    return users.filter(roles__code="sys_admin").order_by("pk").first()


def _bureau(name_or_code: str) -> Department | None:
    found = Department.objects.filter(status=Status.ENABLED, name=name_or_code).first()
    return found or Department.objects.filter(status=Status.ENABLED, code=name_or_code).first()


def _date(text: str | None) -> dt.date:
    if not text:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"下达日期“{text}”格式应为 YYYY-MM-DD") from exc
