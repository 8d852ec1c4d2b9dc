from django.core.management.base import BaseCommand, CommandError

from policywindow.core.audit import verify_chain


class Command(BaseCommand):
    help = "校验操作日志哈希链，指出第一条被篡改或缺失的记录"

    def handle(self, *args, **options):
        report = verify_chain()
        if report.ok:
            self.stdout.write(
                self.style.SUCCESS(f"操作日志哈希链完整：共校验 {report.checked} 条记录")
            )
            return
        raise CommandError(
            f"操作日志哈希链断裂：第一条异常记录序号 {report.broken_seq}，原因：{report.reason}"
            f"（此前 {report.checked} 条完好）"
        )
