from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from policywindow.fundforms.verification import verify


class Command(BaseCommand):
    help = "验证经费审批表或汇总表 PDF：是否由本系统签发、签名后是否被修改、是否与存档一致"

    def add_arguments(self, parser):
        parser.add_argument("file", help="要验证的 PDF 文件路径")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取文件 {path}：{exc.strerror}") from exc
        result = verify(data)
        signed_at = (
            timezone.localtime(result.signed_at).strftime("%Y-%m-%d %H:%M:%S")
            if result.signed_at
            else "—"
        )
        for label, value in (
            ("文件", str(path)),
            ("文件编号", result.form_number or "—"),
            ("签名人", result.signer or "—"),
            ("签名时间", signed_at),
            ("签名有效", "是" if result.valid else "否"),
            ("内容完整", "是" if result.intact else "否"),
            ("与存档一致", "是" if result.matches_record else "否"),
            ("SHA-256", result.sha256),
        ):
            self.stdout.write(f"{label}：{value}")
        if not (result.valid and result.matches_record):
            raise CommandError(f"验证未通过：{'；'.join(result.problems)}")
        self.stdout.write(self.style.SUCCESS(result.summary))
