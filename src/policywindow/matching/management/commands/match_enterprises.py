"""``policywindow match_enterprises``: a batch matching run in the foreground, with progress."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from policywindow.matching import services
from policywindow.matching.models import MatchRun
from policywindow.policies.models import Rule


class Command(BaseCommand):
    help = "将全部企业与已发布的政策细则匹配（精准推送、免申即享立案），在命令行显示进度"

    def add_arguments(self, parser):
        parser.add_argument(
            "--rule", action="append", default=[], metavar="CODE", help="只匹配该细则（可重复）"
        )

    def handle(self, *args, **options):
        rules = list(Rule.objects.filter(code__in=options["rule"]))
        missing = set(options["rule"]) - {rule.code for rule in rules}
        if missing:
            raise CommandError(f"细则不存在：{'、'.join(sorted(missing))}")
        run = services.create_run(None, trigger=MatchRun.Trigger.COMMAND, rules=rules)
        started = time.monotonic()
        self.stdout.write(f"匹配任务 #{run.pk} 开始")
        run = services.execute_run(run.pk, on_progress=self._progress(started))
        elapsed = time.monotonic() - started
        rate = run.evaluations / elapsed if elapsed else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"完成：{run.done:,} 家企业 × {run.rule_count} 项细则，判断 {run.evaluations:,} 次，"
                f"用时 {elapsed:.1f} 秒（{rate:,.0f} 次/秒）；符合条件 {run.eligible:,}，"
                f"新推送 {run.pushed:,}，免申即享立案 {run.granted:,}"
            )
        )

    def _progress(self, started: float):
        def show(run: MatchRun) -> None:
            elapsed = time.monotonic() - started
            self.stdout.write(
                f"  {run.done:,} / {run.total:,} 家企业（{run.percent}%），"
                f"已判断 {run.evaluations:,} 次，用时 {elapsed:.1f} 秒"
            )

        return show
