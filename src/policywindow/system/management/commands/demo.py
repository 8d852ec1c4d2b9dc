import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand

from policywindow.core.management.commands.serve import gunicorn_argv
from policywindow.core.supervisor import Supervisor, port_problem
from policywindow.demo.loader import demo_summary_text, load_business_demo
from policywindow.system.demo import demo_accounts_text, load_demo

WEB_WORKERS = 2
WEB_THREADS = 4


class Command(BaseCommand):
    help = (
        "准备演示环境：检查端口、迁移数据库、载入演示数据、打印演示账号，"
        "然后同时启动服务和后台任务进程（一起停止；后台任务进程意外退出时自动重启）"
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="只准备数据，不启动服务")
        parser.add_argument("--bind", default="127.0.0.1:8000")

    def handle(self, *args, **options):
        serve = not options["no_serve"]
        # Before anything starts: a busy port is named, and nothing is left running.
        if serve and (problem := port_problem(options["bind"])):
            self.stderr.write(problem)
            sys.exit(1)
        call_command("migrate", interactive=False, verbosity=0)
        created = load_demo() + load_business_demo()
        self.stdout.write(f"已载入 {created} 条演示数据" if created else "演示数据已存在，直接使用")
        self.stdout.write(demo_accounts_text())
        self.stdout.write(demo_summary_text())
        if not serve:
            return
        supervisor = Supervisor(
            gunicorn_argv(options["bind"], WEB_WORKERS, WEB_THREADS),
            [sys.executable, "-m", "policywindow.cli", "worker"],
            bind=options["bind"],
            say=self._say,
        )
        if status := supervisor.run():
            sys.exit(status)

    def _say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
