"""``policywindow backup`` / ``restore`` end to end on the embedded SQLite database (any CI).

Each command runs as the operator runs it: a separate process with its own data directory.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.waiting import HANG_GUARD_S

UPLOAD = b"%PDF-1.4\n% an uploaded material\n%%EOF\n"
AUDIT_KEY = Path("keys") / "audit-mac.key"
AUDITED = "from policywindow.core import audit; audit.record('test.cli'); audit.seal_pending()"


def _cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "POLICYWINDOW_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)  # the embedded SQLite file of that data directory
    return subprocess.run(
        [sys.executable, "-m", "policywindow.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """A migrated installation with one uploaded file, backed up once for the module."""
    source = tmp_path_factory.mktemp("source")
    assert _cli("migrate", data_dir=source).returncode == 0
    assert _cli("shell", "-c", AUDITED, data_dir=source).returncode == 0
    upload = source / "uploads" / "materials" / "0123abcd.pdf"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(UPLOAD)
    done = _cli("backup", "--output", str(source / "backups"), data_dir=source)
    assert done.returncode == 0, done.stderr
    assert "备份完成" in done.stdout and "签名密钥未包含" in done.stdout
    (path,) = (source / "backups").glob("policywindow-backup-*.tar")
    return path


def _manifest(path: Path) -> dict:
    with tarfile.open(path) as tar:
        return json.loads(tar.extractfile("manifest.json").read())


def test_the_archive_holds_the_database_the_files_and_a_manifest(archive):
    manifest = _manifest(archive)
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert names == {"database.sqlite3", "media/materials/0123abcd.pdf", "manifest.json"}
    assert manifest["database"]["vendor"] == "sqlite"
    assert "core.0003_audit_append_only" in manifest["migrations"]
    assert manifest["counts"]["system_role"] > 0
    assert manifest["signing_keys_included"] is False
    assert set(manifest["parts"]) == names - {"manifest.json"}
    assert oct(archive.stat().st_mode & 0o777) == "0o600"


def _restore_audit_key(archive: Path, data_dir: Path) -> None:
    """What the operator does from the key store: the key never travels in the archive."""
    source = archive.parent.parent
    (data_dir / "keys").mkdir()
    shutil.copy(source / AUDIT_KEY, data_dir / AUDIT_KEY)


def test_restore_into_an_empty_installation_checks_and_counts(archive, tmp_path):
    _restore_audit_key(archive, tmp_path)
    done = _cli("restore", str(archive), data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "恢复完成" in done.stdout and "操作日志哈希链完整" in done.stdout
    assert (tmp_path / "uploads" / "materials" / "0123abcd.pdf").read_bytes() == UPLOAD
    verify = _cli("verify-audit", data_dir=tmp_path)
    assert verify.returncode == 0

    again = _cli("restore", str(archive), data_dir=tmp_path)
    assert again.returncode == 1
    assert "不是空库" in again.stderr and "--force" in again.stderr
    forced = _cli("restore", str(archive), "--force", data_dir=tmp_path)
    assert forced.returncode == 0, forced.stderr


def test_the_audit_key_is_not_in_the_archive_and_a_restore_without_it_is_named(archive, tmp_path):
    with tarfile.open(archive) as tar:
        assert not [name for name in tar.getnames() if name.endswith(".key")]
    done = _cli("restore", str(archive), data_dir=tmp_path)
    assert done.returncode == 2 and "找不到操作日志密钥 audit-mac" in done.stderr
    assert not (tmp_path / AUDIT_KEY).exists()  # never made up in its place
    _restore_audit_key(archive, tmp_path)
    verify = _cli("verify-audit", data_dir=tmp_path)
    assert verify.returncode == 0 and "已封存 1 条" in verify.stdout


def _rewritten(archive: Path, target: Path, extra: tuple[str, bytes] | None = None) -> Path:
    """A copy of ``archive`` with a damaged upload, or with an extra member the manifest lists."""
    manifest = _manifest(archive)
    with tarfile.open(archive) as source, tarfile.open(target, "w") as out:
        for member in source:
            data = source.extractfile(member).read()
            if member.name.startswith("media/") and extra is None:
                data = data.replace(b"uploaded", b"UPLOADED")
            if member.name == "manifest.json" and extra is not None:
                name, body = extra
                manifest["parts"][name] = {
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "size": len(body),
                }
                data = json.dumps(manifest).encode()
                extra_member = tarfile.TarInfo(name)
                extra_member.size = len(body)
                out.addfile(extra_member, io.BytesIO(body))
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    return target


def test_a_damaged_file_is_refused_and_nothing_is_restored(archive, tmp_path):
    damaged = _rewritten(archive, tmp_path / "damaged.tar")
    done = _cli("restore", str(damaged), data_dir=tmp_path / "target")
    assert done.returncode == 1
    assert "SHA-256 与清单不符" in done.stderr and "checksum mismatch" in done.stderr
    assert not (tmp_path / "target" / "db.sqlite3").exists()
    assert not (tmp_path / "target" / "uploads").exists()


def test_a_member_outside_the_upload_directory_is_refused(archive, tmp_path):
    hostile = _rewritten(archive, tmp_path / "hostile.tar", extra=("../../evil.sh", b"rm -rf /"))
    done = _cli("restore", str(hostile), data_dir=tmp_path / "target")
    assert done.returncode == 1 and "不安全的条目" in done.stderr
    assert not (tmp_path / "evil.sh").exists() and not (tmp_path.parent / "evil.sh").exists()


def test_missing_and_foreign_files_are_refused_with_a_clear_message(tmp_path):
    missing = _cli("restore", str(tmp_path / "nope.tar"), data_dir=tmp_path)
    assert missing.returncode == 1 and "备份文件不存在" in missing.stderr
    (tmp_path / "notes.tar").write_text("这不是备份")
    foreign = _cli("restore", str(tmp_path / "notes.tar"), data_dir=tmp_path)
    assert foreign.returncode == 1 and "不是有效的备份文件" in foreign.stderr
