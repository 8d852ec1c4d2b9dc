from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "运行后台任务处理进程（Django Tasks 数据库后端）"

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="处理完现有任务后退出")
        parser.add_argument("--interval", type=float, default=1.0, help="轮询间隔（秒）")

    def handle(self, *args, **options):
        argv = ["--interval", str(options["interval"])]
        if options["batch"]:
            argv.append("--batch")
        call_command("db_worker", *argv)
