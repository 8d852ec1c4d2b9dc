from django.core.management.base import BaseCommand

from policywindow.dashboard import rollups
from policywindow.dashboard.models import Rollup


class Command(BaseCommand):
    help = (
        "重算数据看板汇总：按全部申报重新统计（首次安装由 migrate 自动完成；"
        "绕过触发器批量导入数据或手工删除申报后运行）。PostgreSQL 上重算期间暂停写入申报。"
    )

    def handle(self, *args, **options):
        installed = rollups.ensure_installed()  # installing recounts already
        if not installed:
            rollups.rebuild()
        self.stdout.write(
            self.style.SUCCESS(f"看板汇总已重算：{Rollup.objects.count()} 行（日、月两级）")
        )
