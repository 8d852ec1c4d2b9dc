from django.core.management.base import BaseCommand

from policywindow.core.worker import Loop


class Command(BaseCommand):
    help = (
        "运行后台任务处理进程：封存操作日志、定时任务入队，并执行队列中的任务"
        "（Django Tasks 数据库后端）；数据库暂时不可用时等待后重试，不退出"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch", action="store_true", help="处理完现有任务后退出（出错即退出，不重试）"
        )
        parser.add_argument("--interval", type=float, default=2.0, help="空闲时的轮询间隔（秒）")

    def handle(self, *args, **options):
        loop = Loop(interval=options["interval"], report=self._report)
        if options["batch"]:
            self._report("处理现有任务…")
            loop.run_batch()
            return
        self._report("后台任务进程已启动（Ctrl+C 停止）")
        loop.run_forever()

    def _report(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()  # a log line now, also when stdout is a file or a pipe
