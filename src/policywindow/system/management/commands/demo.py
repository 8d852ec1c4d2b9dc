import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand

from policywindow.demo.loader import demo_summary_text, load_business_demo
from policywindow.system.demo import demo_accounts_text, load_demo


class Command(BaseCommand):
    help = "准备演示环境：迁移数据库、载入演示数据、打印演示账号，然后启动服务"

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="只准备数据，不启动服务")
        parser.add_argument("--bind", default="127.0.0.1:8000")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        created = load_demo() + load_business_demo()
        self.stdout.write(f"已载入 {created} 条演示数据" if created else "演示数据已存在，直接使用")
        self.stdout.write(demo_accounts_text())
        self.stdout.write(demo_summary_text())
        if not options["no_serve"]:
            # The worker shares the terminal's process group, so Ctrl+C stops both.
            subprocess.Popen([sys.executable, "-m", "policywindow.cli", "worker"])
            call_command("serve", bind=options["bind"], workers=2)
