import logging
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from policywindow.core.audit import seal_pending
from policywindow.core.scheduler import enqueue_due_jobs

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "运行后台任务处理进程：定时任务入队，并执行队列中的任务（Django Tasks 数据库后端）"

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="处理完现有任务后退出")
        parser.add_argument("--interval", type=float, default=2.0, help="空闲时的轮询间隔（秒）")

    def handle(self, *args, **options):
        self.stdout.write(
            "后台任务进程已启动（Ctrl+C 停止）" if not options["batch"] else "处理现有任务…"
        )
        while True:
            _seal_audit_events()
            due = enqueue_due_jobs()
            if due:
                self.stdout.write(f"定时任务入队：{', '.join(due)}")
            call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)
            if options["batch"]:
                return
            time.sleep(options["interval"])


def _seal_audit_events() -> None:
    """Chain the operation log's new events every round (core/audit.py): not a queued task,
    since it runs every few seconds and costs one index look-up when there is nothing to seal."""
    try:
        seal_pending()
    except Exception:
        # The other jobs must go on; the failure is in the log and verify-audit shows the backlog.
        log.exception("操作日志封存失败")
