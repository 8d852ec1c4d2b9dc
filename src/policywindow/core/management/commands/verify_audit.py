from django.core.management.base import BaseCommand, CommandError

from policywindow.core.audit import seal_pending, verify_chain


class Command(BaseCommand):
    help = (
        "校验操作日志：条目 MAC、链 MAC、链的连续与次序、链头和签名检查点；"
        "逐条指出被篡改、删除、调换次序、未经密钥写入的记录，另报待封存的记录"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seal", action="store_true", help="先把待封存的记录链入（与后台进程做的相同）再校验"
        )

    def handle(self, *args, **options):
        if options["seal"]:
            sealed = seal_pending()
            self.stdout.write(f"已封存 {sealed.sealed} 条记录")
        report = verify_chain()
        headline, *details = report.lines()
        if not report.ok:
            for line in details:
                self.stderr.write(line)
            raise CommandError(headline)
        self.stdout.write(self.style.SUCCESS(headline))
        for line in details:
            self.stdout.write(line)
