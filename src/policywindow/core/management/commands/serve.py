import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from policywindow.core.supervisor import port_problem


def gunicorn_argv(bind: str, workers: int, threads: int) -> list[str]:
    """The production WSGI server's command line (also what ``policywindow demo`` runs)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "policywindow.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "60",
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "20",
    ]


class Command(BaseCommand):
    help = "以生产级 WSGI 服务器（gunicorn）启动政策兑现单一窗口"

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "3")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")))

    def handle(self, *args, **options):
        if problem := port_problem(options["bind"]):
            self.stderr.write(problem)
            sys.exit(1)
        if settings.PRODUCTION:
            from django.core.management import call_command

            call_command("collectstatic", interactive=False, verbosity=0)
        argv = gunicorn_argv(options["bind"], options["workers"], options["threads"])
        self.stdout.write(f"政策兑现单一窗口正在启动：http://{options['bind']}/  （Ctrl+C 停止）")
        os.execv(sys.executable, argv)  # noqa: S606 — replace this process with gunicorn
