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


# The server model chosen by measurement (bench/deadline_day.py --open-loop --models, see
# docs/deployment.md): one process per CPU, each with 8 threads to overlap database waits.
# More processes than CPUs measured slower: each warms its own caches (without Redis) and
# they compete for the cores with PostgreSQL.
THREADS_PER_WORKER = 8


def default_workers() -> int:
    """The CPUs this process may run on (its CPU set, which may be fewer than the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Command(BaseCommand):
    help = "以生产级 WSGI 服务器（gunicorn）启动政策兑现单一窗口"

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        workers = int(os.environ.get("WEB_WORKERS") or default_workers())
        threads = int(os.environ.get("WEB_THREADS") or THREADS_PER_WORKER)
        parser.add_argument("--workers", type=int, default=workers)
        parser.add_argument("--threads", type=int, default=threads)

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
