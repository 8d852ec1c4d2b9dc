"""``policywindow rotate-data-key``: rotate the personal-data key (docs/operations.md).

rotate-data-key              write data-<n+1> into the key directory, make it current and
                             re-encrypt every value (batches; the system may stay in use)
rotate-data-key --resume     re-encrypt what is still under an older key (after restarting
                             the servers, or when the new key came as an environment variable)
rotate-data-key --status     how many values each key encrypted, column by column
rotate-data-key --retire data-1
                             delete an old key file once no value uses it any more
"""

from __future__ import annotations

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from policywindow.core import crypto, keys
from policywindow.core.encrypted import key_usage, reencrypt


class Command(BaseCommand):
    help = "轮换个人数据加密密钥（SM4）：启用新密钥并重新加密全部数据；查看各密钥用量；停用旧密钥"

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--resume",
            action="store_true",
            help="不生成新密钥，只把仍由旧密钥加密的数据改用最新密钥加密",
        )
        action.add_argument("--status", action="store_true", help="各密钥加密的数据条数（只读）")
        action.add_argument(
            "--retire", metavar="KEY_ID", help="确认已无数据使用该旧密钥后，删除其密钥文件"
        )
        parser.add_argument("--batch-size", type=int, default=500, help="每批重新加密的行数")

    def handle(self, *args, **options):
        crypto.reset()  # this process reads the ring as it is now
        if options["status"]:
            self._status(key_usage())
        elif options["retire"]:
            self._retire(options["retire"])
        else:
            self._rotate(new_key=not options["resume"], batch_size=options["batch_size"])

    def _rotate(self, *, new_key: bool, batch_size: int) -> None:
        if new_key:
            key_id = crypto.next_key_id()
            path = keys.create_key(key_id, length=crypto.SM4_KEY_BYTES)
            crypto.reset()
            self.stdout.write(f"新数据密钥 {key_id} 已写入 {path}（权限 0600），请另行备份")
        current = crypto.current_key_id()
        done = reencrypt(batch_size=batch_size, progress=self._progress)
        self.stdout.write(self.style.SUCCESS(f"已用 {current} 重新加密 {done} 个值"))
        usage = key_usage()
        self._status(usage)
        older = sorted({k for counts in usage.values() for k in counts if k != current})
        if older:
            self.stdout.write(
                f"仍有值由 {'、'.join(older)} 加密（轮换前启动的进程写入的）："
                "重启全部服务进程后再运行 rotate-data-key --resume"
            )
        self.stdout.write(
            "重启全部服务进程（使其改用新密钥）后，可运行 rotate-data-key --retire <旧密钥> 停用旧密钥"
        )

    def _progress(self, column: str, done: int) -> None:
        self.stdout.write(f"  {column}：已重新加密 {done} 个值")

    def _status(self, usage: dict[str, Counter]) -> None:
        self.stdout.write(f"当前数据密钥：{crypto.current_key_id()}")
        for column, counts in usage.items():
            parts = "，".join(f"{key} {n} 个" for key, n in sorted(counts.items())) or "无数据"
            self.stdout.write(f"  {column}：{parts}")

    def _retire(self, key_id: str) -> None:
        if key_id not in crypto.ring().values():
            raise CommandError(f"没有数据密钥 {key_id}")
        if key_id == crypto.current_key_id():
            raise CommandError(f"{key_id} 是当前数据密钥，不能停用：先运行 rotate-data-key")
        left = sum(counts[key_id] for counts in key_usage().values())
        if left:
            raise CommandError(
                f"仍有 {left} 个值由 {key_id} 加密：先重启全部服务进程，"
                "再运行 rotate-data-key --resume"
            )
        path = keys.key_path(key_id)
        if path.exists():
            path.unlink()
            self.stdout.write(self.style.SUCCESS(f"已删除旧数据密钥文件 {path}"))
        if keys.has_key(key_id):
            self.stdout.write(f"请从部署配置中删除环境变量 {keys.env_name(key_id)}")
        self.stdout.write(
            "注意：停用前做的数据库备份仍由该密钥加密；在这些备份的保存期内，"
            "请把该密钥与备份一样离线保管（docs/operations.md）"
        )
