from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from policywindow.core.backup import BackupError, create_backup


class Command(BaseCommand):
    help = "备份数据库与上传文件到一个归档文件（含清单与校验和）/ back up the database and uploads"

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            default="backups",
            help="备份文件存放目录（默认 ./backups）/ directory for the archive",
        )

    def handle(self, *args, **options):
        try:
            path, manifest = create_backup(Path(options["output"]))
        except BackupError as exc:
            raise CommandError(exc.message, returncode=exc.returncode) from exc
        parts = manifest["parts"]
        media = sum(1 for name in parts if name.startswith("media/"))
        self.stdout.write(self.style.SUCCESS(f"备份完成 / backup written: {path}"))
        self.stdout.write(
            f"  数据库 {manifest['database']['vendor']} {manifest['database']['server_version']}，"
            f"{len(manifest['migrations'])} 个迁移，{sum(manifest['counts'].values())} 行；"
            f"上传文件 {media} 个；签名密钥未包含（请另行从密钥管理处备份）"
        )
