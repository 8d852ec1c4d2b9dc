import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from policywindow.core.errors import DomainError
from policywindow.reforms.services.importing import ImportOptions, import_table
from policywindow.reforms.table import TableRejected
from policywindow.system.models import Department, Status, User


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
        try:
            report = import_table(
                _actor(options["user"]),
                path.read_bytes(),
                source_name=path.name,
                options=ImportOptions(
                    bureau=_bureau(options["bureau"]),
                    issued_on=_date(options["issued_on"]),
                    province_days=options["province_days"],
                    ftz_days=options["ftz_days"],
                    title=options["title"],
                ),
                dry_run=options["dry_run"],
            )
        except TableRejected as exc:
            raise CommandError("\n".join([exc.message, *map(str, exc.problems)])) from exc
        except DomainError as exc:
            details = [m for messages in exc.details.values() for m in messages]
            raise CommandError("\n".join([exc.message, *details])) from exc
        self.stdout.write("\n".join(report.lines()))


def _actor(username: str) -> User:
    users = User.objects.filter(is_active=True, kind=User.Kind.STAFF)
    user = (
        users.filter(username=username).first()
        if username
        else users.filter(roles__code="sys_admin").order_by("pk").first()
    )
    if user is None:
        raise CommandError(f"找不到账号 {username}" if username else "请用 --user 指定操作账号")
    return user


def _bureau(name_or_code: str) -> Department:
    found = Department.objects.filter(status=Status.ENABLED, name=name_or_code).first()
    found = found or Department.objects.filter(status=Status.ENABLED, code=name_or_code).first()
    if found is None:
        raise CommandError(f"找不到督办部门“{name_or_code}”，请用 --bureau 指定部门名称或编码")
    return found


def _date(text: str | None) -> dt.date:
    if not text:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"下达日期“{text}”格式应为 YYYY-MM-DD") from exc
