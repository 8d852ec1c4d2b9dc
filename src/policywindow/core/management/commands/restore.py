from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from policywindow.core.backup import BackupError, restore_backup, summary_lines


class Command(BaseCommand):
    help = (
        "从备份归档恢复到空数据库与空上传目录，并校验迁移、行数与操作日志哈希链"
        " / restore a backup archive into an empty database and check it"
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="policywindow backup 生成的 .tar 文件")
        parser.add_argument(
            "--database-url",
            help="目标数据库（默认为当前配置的 DATABASE_URL）/ target database URL",
        )
        parser.add_argument(
            "--media-dir",
            help="上传文件的目标目录（默认为 MEDIA_ROOT）/ target upload directory",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="允许覆盖非空的数据库与上传目录 / overwrite a non-empty target",
        )

    def handle(self, *args, **options):
        media_dir = Path(options["media_dir"]) if options["media_dir"] else None
        try:
            report = restore_backup(
                Path(options["archive"]),
                database_url=options["database_url"],
                media_dir=media_dir,
                force=options["force"],
            )
        except BackupError as exc:
            raise CommandError(exc.message, returncode=exc.returncode) from exc
        manifest = report.manifest
        self.stdout.write(
            self.style.SUCCESS(
                f"恢复完成 / restored: 备份时间 {manifest['created_at']}，"
                f"程序版本 {manifest['app_version']}，上传文件 {report.files} 个"
            )
        )
        for line in summary_lines(report.counts):
            self.stdout.write(line)
        self.stdout.write(
            f"  迁移与备份一致；行数与清单一致；操作日志哈希链完整（{report.audit_checked} 条）"
        )
        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(f"  注意：{warning}"))
