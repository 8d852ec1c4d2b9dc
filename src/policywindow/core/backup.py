"""Backup and restore (DESIGN.md §7): one archive with the database, the uploaded files and a manifest.

The archive is a plain tar file::

    database.dump        PostgreSQL custom-format dump (pg_dump -Fc)   -- or --
    database.sqlite3     a consistent copy of the embedded SQLite file
    media/...            every file under MEDIA_ROOT (uploads, generated PDFs)
    manifest.json        format, created_at, app version, database vendor and server version,
                         applied migrations, row count of every table, sha256 and size of each part

The database is read in one snapshot (PostgreSQL: an exported REPEATABLE READ snapshot that
``pg_dump --snapshot`` shares), so the manifest's counts and migrations describe exactly the
dumped data. Files are copied after the snapshot: every file a dumped row names already exists.

Signing keys are secrets and are **not** archived (whoever holds the archive could otherwise
sign 经费审批表); the manifest records the SHA-256 fingerprint of the signing certificate in
force so the operator can check that the right key was restored from the secret store. The keys of
``core/keys.py`` (the audit MAC key among them) and the audit checkpoint files are not archived
either: a key beside the data it protects protects nothing, and checkpoints must outlive the
database they vouch for (docs/operations.md).

``restore_backup`` checks every part's hash before it changes anything, refuses a non-empty
target database or upload directory unless ``force``, loads the database, installs the files,
then checks the restored data: migrations, row counts against the manifest, the audit chain.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import dj_database_url
import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.utils import load_backend
from django.utils import timezone

from . import crypto
from .audit import verify_chain, write_checkpoint
from .encrypted import undecryptable

FORMAT = 1
MANIFEST = "manifest.json"
PG_PART = "database.dump"
SQLITE_PART = "database.sqlite3"
MEDIA_PREFIX = "media/"
CHECK_ALIAS = "policywindow_restore_check"
CHUNK = 1024 * 1024
# Tables named in the restore summary, in this order (all tables are compared).
SUMMARY_TABLES = {
    "applications_application": "申报 applications",
    "applications_material": "申报材料 materials",
    "workflow_workflowtask": "审批任务/决定 tasks & decisions",
    "workflow_taskattachment": "审批附件 task attachments",
    "enterprises_enterprise": "企业 enterprises",
    "system_user": "用户 users",
    "core_auditevent": "操作日志 audit events",
}


class BackupError(Exception):
    """A refusal or failure with a Chinese / English message and the command's exit code.

    Exit code 1: nothing was changed (bad archive, non-empty target, missing tool).
    Exit code 2: the data was restored but a check afterwards failed.
    """

    def __init__(self, message: str, returncode: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.returncode = returncode


@dataclass(frozen=True)
class Snapshot:
    """The dumped database file and what the manifest says about it."""

    part: str
    path: Path
    vendor: str
    server_version: str
    migrations: list[str]
    counts: dict[str, int]


@dataclass
class RestoreReport:
    manifest: dict[str, Any]
    counts: dict[str, int]
    audit_checked: int
    files: int
    warnings: list[str] = field(default_factory=list)


# --- databases -------------------------------------------------------------------------------


def _vendor(db: dict[str, Any]) -> str:
    engine = db["ENGINE"]
    if "postgresql" in engine:
        return "postgresql"
    if "sqlite3" in engine:
        return "sqlite"
    raise BackupError(f"不支持的数据库类型 {engine} / unsupported database engine {engine}")


def target_database(database_url: str | None) -> dict[str, Any]:
    """The settings of the database to restore into: ``database_url`` or the configured one."""
    if database_url:
        return dj_database_url.parse(database_url)
    return dict(connections[DEFAULT_DB_ALIAS].settings_dict)


def _pg_kwargs(db: dict[str, Any]) -> dict[str, Any]:
    kwargs = {
        "dbname": db["NAME"],
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "sslmode": (db.get("OPTIONS") or {}).get("sslmode"),
        "connect_timeout": 10,
    }
    return {key: value for key, value in kwargs.items() if value not in (None, "")}


def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD"}
    names |= {"sslmode": "PGSSLMODE", "dbname": "PGDATABASE"}
    kwargs = _pg_kwargs(db)
    return {**os.environ, **{names[k]: str(v) for k, v in kwargs.items() if k in names}}


def _pg_connect(db: dict[str, Any], **extra: Any) -> psycopg.Connection:
    try:
        return psycopg.connect(**_pg_kwargs(db), **extra)
    except psycopg.OperationalError as exc:
        raise BackupError(
            f"无法连接数据库 {db['NAME']}：{exc}".strip()
            + f" / cannot connect to database {db['NAME']}"
        ) from exc


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"找不到 {name}，请安装与数据库服务器同一主版本的 PostgreSQL 客户端（postgresql-client）"
            f" / {name} not found: install postgresql-client of the server's major version"
        )
    return path


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        detail = done.stderr.strip()[-2000:]
        raise BackupError(f"{what}失败 / {what} failed: {detail}")


def _check_client_version(tool: str, server_version: int) -> None:
    """pg_dump/pg_restore must be at least the server's major version."""
    done = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    match = re.search(r"(\d+)(?:\.(\d+))?", done.stdout)
    client_major = int(match.group(1)) if match else 0
    server_major = server_version // 10000
    if client_major < server_major:
        raise BackupError(
            f"{Path(tool).name} 版本 {client_major} 低于数据库服务器版本 {server_major}，请安装新版客户端"
            f" / {Path(tool).name} {client_major} is older than the server ({server_major})"
        )


def _pg_tables(cursor: psycopg.Cursor) -> list[str]:
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    )
    return [row[0] for row in cursor.fetchall()]


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    )
    return [row[0] for row in rows]


def _count_and_migrations(
    execute: Callable[[str], list[tuple]], tables: list[str]
) -> tuple[dict[str, int], list[str]]:
    counts = {t: int(execute(f'SELECT count(*) FROM "{t}"')[0][0]) for t in tables}  # noqa: S608
    migrations = []
    if "django_migrations" in tables:
        rows = execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        migrations = [f"{app}.{name}" for app, name in rows]
    return counts, migrations


def _dump_postgresql(db: dict[str, Any], staging: Path) -> Snapshot:
    pg_dump = _tool("pg_dump")
    path = staging / PG_PART
    with _pg_connect(db) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        _check_client_version(pg_dump, conn.info.server_version)
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot_id = cursor.fetchone()[0]

            def execute(sql: str) -> list[tuple]:
                cursor.execute(sql)
                return cursor.fetchall()

            counts, migrations = _count_and_migrations(execute, _pg_tables(cursor))
            # The transaction stays open while pg_dump reads the same snapshot.
            _run(
                [pg_dump, "-Fc", f"--snapshot={snapshot_id}", "-f", str(path)],
                _pg_env(db),
                "pg_dump 导出数据库",
            )
        version = conn.execute("SHOW server_version").fetchone()[0]
    return Snapshot(PG_PART, path, "postgresql", version, migrations, counts)


def _sqlite_snapshot(copy: Path) -> tuple[dict[str, int], list[str]]:
    with contextlib.closing(sqlite3.connect(copy)) as conn:
        return _count_and_migrations(lambda sql: conn.execute(sql).fetchall(), _sqlite_tables(conn))


def _dump_sqlite(db: dict[str, Any], staging: Path) -> Snapshot:
    source_path = Path(db["NAME"])
    if not source_path.exists():
        raise BackupError(f"数据库文件不存在：{source_path} / database file not found")
    path = staging / SQLITE_PART
    with (
        contextlib.closing(sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)) as source,
        contextlib.closing(sqlite3.connect(path)) as copy,
    ):
        source.backup(copy)
    counts, migrations = _sqlite_snapshot(path)
    return Snapshot(SQLITE_PART, path, "sqlite", sqlite3.sqlite_version, migrations, counts)


# --- archive ---------------------------------------------------------------------------------


class _HashingReader:
    """A file wrapper that hashes what ``tarfile`` reads from it."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(timezone.now().timestamp())
    return info


def _add_file(tar: tarfile.TarFile, path: Path, name: str) -> dict[str, Any]:
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        reader = _HashingReader(handle)
        tar.addfile(_tarinfo(name, size), reader)
    return {"sha256": reader.digest.hexdigest(), "size": size}


def _media_files(media_root: Path) -> Iterator[tuple[Path, str]]:
    if not media_root.is_dir():
        return
    for path in sorted(media_root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path, MEDIA_PREFIX + path.relative_to(media_root).as_posix()


def _certificate_fingerprint() -> str:
    cert = Path(settings.POLICYWINDOW_SIGNING_DIR) / "form-signing-cert.pem"
    if settings.POLICYWINDOW_SIGNING_PKCS12:
        cert = Path(settings.POLICYWINDOW_SIGNING_PKCS12)
    return hashlib.sha256(cert.read_bytes()).hexdigest() if cert.is_file() else ""


def create_backup(output_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Write ``policywindow-backup-<time>.tar`` into ``output_dir``; its path and manifest."""
    media_root = Path(settings.MEDIA_ROOT).resolve()
    output_dir = output_dir.resolve()
    if output_dir.is_relative_to(media_root):
        raise BackupError(
            f"备份目录不能位于上传文件目录 {media_root} 之内 / the output directory must be "
            "outside MEDIA_ROOT"
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    db = dict(connections[DEFAULT_DB_ALIAS].settings_dict)
    created = timezone.localtime()
    final = output_dir / f"policywindow-backup-{created:%Y%m%d-%H%M%S-%f}.tar"
    partial = final.with_name(final.name + ".partial")
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".backup-") as staging:
        dump = _dump_postgresql if _vendor(db) == "postgresql" else _dump_sqlite
        snapshot = dump(db, Path(staging))
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            os.chmod(partial, 0o600)  # the archive holds personal data
            parts = {snapshot.part: _add_file(tar, snapshot.path, snapshot.part)}
            for path, name in _media_files(media_root):
                parts[name] = _add_file(tar, path, name)
            manifest = {
                "format": FORMAT,
                "created_at": created.isoformat(),
                "app_version": importlib.metadata.version("policywindow"),
                "database": {
                    "vendor": snapshot.vendor,
                    "server_version": snapshot.server_version,
                    "part": snapshot.part,
                },
                "migrations": snapshot.migrations,
                "counts": snapshot.counts,
                "signing_certificate_sha256": _certificate_fingerprint(),
                "signing_keys_included": False,
                # Which personal-data keys to take from the key store (never archived).
                "data_keys": crypto.key_fingerprints(),
                "parts": parts,
            }
            body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
            tar.addfile(_tarinfo(MANIFEST, len(body)), io.BytesIO(body))
    partial.rename(final)
    return final, manifest


# --- restore ---------------------------------------------------------------------------------


def _open_archive(archive: Path) -> tarfile.TarFile:
    if not archive.is_file():
        raise BackupError(f"备份文件不存在：{archive} / archive not found")
    try:
        return tarfile.open(archive, "r:")
    except tarfile.TarError as exc:
        raise BackupError(f"不是有效的备份文件：{archive}（{exc}）/ not a backup archive") from exc


def read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        handle = tar.extractfile(member)
        manifest = json.loads(handle.read()) if handle else None
    except (KeyError, ValueError, tarfile.TarError) as exc:
        raise BackupError(
            "备份文件缺少有效的 manifest.json / archive has no valid manifest"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"不支持的备份格式（需要 format={FORMAT}）/ unsupported archive format")
    return manifest


def _safe_part_name(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        not path.is_absolute()
        and ".." not in path.parts
        and "\\" not in name
        and "\x00" not in name
        and (name in (PG_PART, SQLITE_PART) or name.startswith(MEDIA_PREFIX))
    )


def _extract_verified(tar: tarfile.TarFile, manifest: dict[str, Any], staging: Path) -> None:
    """Every part into ``staging``, each hash checked against the manifest; nothing else."""
    parts: dict[str, dict[str, Any]] = manifest.get("parts") or {}
    seen: set[str] = set()
    for member in tar:
        if member.name == MANIFEST:
            continue
        expected = parts.get(member.name)
        if expected is None or not member.isreg() or not _safe_part_name(member.name):
            raise BackupError(
                f"备份文件含有清单之外或不安全的条目：{member.name!r} / unexpected archive member"
            )
        target = staging / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        source = tar.extractfile(member)
        with target.open("wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected["sha256"]:
            raise BackupError(
                f"备份文件已损坏：{member.name} 的 SHA-256 与清单不符 / checksum mismatch in "
                f"{member.name}"
            )
        seen.add(member.name)
    missing = sorted(set(parts) - seen)
    if missing:
        raise BackupError(f"备份文件不完整，缺少：{', '.join(missing[:5])} / archive incomplete")


def _pg_relations(db: dict[str, Any]) -> int:
    with _pg_connect(db) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
        ).fetchone()
    return int(row[0])


def _sqlite_relations(db: dict[str, Any]) -> int:
    path = Path(db["NAME"])
    if not path.exists():
        return 0
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return len(_sqlite_tables(conn))


def _ensure_empty_targets(db: dict[str, Any], media_root: Path, force: bool) -> None:
    count = (_pg_relations if _vendor(db) == "postgresql" else _sqlite_relations)(db)
    if count and not force:
        raise BackupError(
            f"目标数据库 {db['NAME']} 不是空库（已有 {count} 个表/序列等对象）。请恢复到新建的空库，"
            f"或确认覆盖后加 --force。/ target database is not empty ({count} relations); "
            "restore into a new empty database or pass --force"
        )
    if media_root.is_dir() and any(media_root.iterdir()) and not force:
        raise BackupError(
            f"上传文件目录 {media_root} 不是空目录。请指定空目录（--media-dir）或加 --force。"
            " / upload directory is not empty; pass --media-dir or --force"
        )


def _load_postgresql(db: dict[str, Any], dump: Path, force: bool) -> None:
    pg_restore = _tool("pg_restore")
    with _pg_connect(db) as conn:
        _check_client_version(pg_restore, conn.info.server_version)
    args = [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    if force:
        args += ["--clean", "--if-exists"]
    _run([*args, "-d", db["NAME"], str(dump)], _pg_env(db), "pg_restore 恢复数据库")


def _load_sqlite(db: dict[str, Any], copy: Path, force: bool) -> None:
    """SQLite's backup API replaces the whole target file, so ``force`` needs nothing more."""
    target = Path(db["NAME"])
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.closing(sqlite3.connect(copy)) as source,
        contextlib.closing(sqlite3.connect(target)) as out,
    ):
        source.backup(out)


def _install_media(staged: Path, media_root: Path) -> int:
    installed = 0
    for path in sorted(staged.rglob("*")):
        if path.is_file():
            target = media_root / path.relative_to(staged)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            installed += 1
    return installed


@contextlib.contextmanager
def _django_connection(db: dict[str, Any]) -> Iterator[str]:
    """A Django connection alias to the restored database, for the checks (not in settings)."""
    configured = connections.configure_settings(
        {DEFAULT_DB_ALIAS: connections[DEFAULT_DB_ALIAS].settings_dict, CHECK_ALIAS: db}
    )[CHECK_ALIAS]
    connections[CHECK_ALIAS] = load_backend(configured["ENGINE"]).DatabaseWrapper(
        configured, CHECK_ALIAS
    )
    try:
        yield CHECK_ALIAS
    finally:
        connections[CHECK_ALIAS].close()
        del connections[CHECK_ALIAS]


def _restored_counts(alias: str) -> dict[str, int]:
    with connections[alias].cursor() as cursor:
        tables = connections[alias].introspection.table_names(cursor)

        def execute(sql: str) -> list[tuple]:
            cursor.execute(sql)
            return cursor.fetchall()

        counts, _ = _count_and_migrations(execute, sorted(tables))
    return counts


def _check_restored(alias: str, manifest: dict[str, Any], report: RestoreReport) -> list[str]:
    """Problems of the restored data (empty when it is whole); warnings go to the report."""
    problems = []
    connection = connections[alias]
    applied = {f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations()}
    if applied != set(manifest["migrations"]):
        problems.append("恢复后的迁移记录与备份清单不一致 / migrations differ from the manifest")
    on_disk = {f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations}
    if unknown := sorted(applied - on_disk):
        problems.append(
            f"数据库含有本版本程序没有的迁移（备份来自更新的版本）：{', '.join(unknown[:5])}"
            " / the database has migrations this code does not know"
        )
    if pending := sorted(on_disk - applied):
        report.warnings.append(
            f"程序有 {len(pending)} 个迁移尚未应用到恢复的数据库，请运行 policywindow migrate"
            f" / {len(pending)} migrations to apply"
        )
    report.counts = _restored_counts(alias)
    differ = [t for t, n in manifest["counts"].items() if report.counts.get(t) != n]
    if differ:
        problems.append(f"以下表的行数与备份清单不符：{', '.join(differ[:10])} / row counts differ")
    if not pending:  # an older backup is checked after migrate (its data may be plain yet)
        problems += _check_personal_data(alias, manifest, report)
    problems += _check_restored_audit(alias, report)
    return problems


def _check_personal_data(alias: str, manifest: dict[str, Any], report: RestoreReport) -> list[str]:
    """The encrypted personal data decrypts with the keys at hand, and equality search finds
    it (same blind-index key); the keys travel apart from the archive (docs/operations.md)."""
    wanted, present = manifest.get("data_keys") or {}, crypto.key_fingerprints()
    report.warnings += [
        f"数据密钥 {name} 不在或与备份时不同（指纹 {fingerprint}）/ data key {name} differs"
        for name, fingerprint in wanted.items()
        if name != crypto.INDEX_KEY and present.get(name) != fingerprint
    ]
    problems = undecryptable(using=alias)
    index = wanted.get(crypto.INDEX_KEY)
    if index and present.get(crypto.INDEX_KEY) != index:
        problems.append(
            f"盲索引密钥 {crypto.INDEX_KEY} 缺失或与备份时不同：按手机号、账号将查找不到数据"
            " / blind-index key missing or different"
        )
    return problems


def _check_restored_audit(alias: str, report: RestoreReport) -> list[str]:
    """The restored operation log verifies under the restored key (never archived with it).

    A backup older than the last checkpoint outside the database is what a restore means: the
    events after the backup are lost with the rest of that data. That is a warning, and a signed
    restore mark makes the restored head the chain's new base in the checkpoint file; anything
    else wrong with the chain fails the restore.
    """
    chain = verify_chain(using=alias)
    report.audit_checked = chain.checked
    broken = [f for f in chain.findings if f.kind != "rolled_back"]
    if broken:
        found = "；".join(str(f) for f in broken[:5])
        return [f"{chain.headline()}：{found} / audit chain broken"]
    report.warnings += [
        f"{f.message}——备份之后的操作日志随备份之后的数据一起丢失 / the backup predates the last"
        " audit checkpoint"
        for f in chain.findings
    ]
    write_checkpoint(using=alias, kind="restore")
    return []


def restore_backup(
    archive: Path,
    *,
    database_url: str | None = None,
    media_dir: Path | None = None,
    force: bool = False,
) -> RestoreReport:
    """Restore ``archive`` into an empty database and upload directory, then check the result."""
    db = target_database(database_url)
    media_root = (media_dir or Path(settings.MEDIA_ROOT)).resolve()
    with _open_archive(archive) as tar:
        manifest = read_manifest(tar)
        if manifest["database"]["vendor"] != _vendor(db):
            raise BackupError(
                f"备份来自 {manifest['database']['vendor']} 数据库，不能恢复到 {_vendor(db)}"
                " / the archive's database vendor differs from the target's"
            )
        _ensure_empty_targets(db, media_root, force)
        media_root.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=media_root.parent, prefix=".restore-") as tmp:
            staging = Path(tmp)
            _extract_verified(tar, manifest, staging)
            part = staging / manifest["database"]["part"]
            load = _load_postgresql if _vendor(db) == "postgresql" else _load_sqlite
            load(db, part, force)
            files = _install_media(staging / MEDIA_PREFIX, media_root)
    report = RestoreReport(manifest=manifest, counts={}, audit_checked=0, files=files)
    with _django_connection(db) as alias:
        problems = _check_restored(alias, manifest, report)
    if problems:
        raise BackupError("；".join(problems), returncode=2)
    return report


def summary_lines(counts: dict[str, int]) -> list[str]:
    """The restore's headline counts, then the total."""
    lines = [f"  {label}: {counts.get(table, 0)}" for table, label in SUMMARY_TABLES.items()]
    lines.append(f"  共 {len(counts)} 张表、{sum(counts.values())} 行 / tables, rows in total")
    return lines
