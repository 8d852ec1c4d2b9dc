"""Backups and the personal-data keys: the archive holds the data encrypted, never its keys; a
restore checks that the keys put back are the ones the data needs (docs/operations.md).

Each command runs as the operator runs it: a separate process with its own data directory.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from tests.ops.test_backup_cli import _cli

MOBILE = "13912345678"
CREATE = (
    "from policywindow.system.models import User; "
    f"User.objects.create(username='keytest', real_name='密钥测试', mobile='{MOBILE}')"
)
READ = (
    "from policywindow.core.encrypted import equals; "
    "from policywindow.system.models import User; "
    "user = User.objects.get(username='keytest'); "
    f"print(user.mobile, User.objects.filter(equals(User, 'mobile', '{MOBILE}')).count())"
)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    assert _cli("migrate", data_dir=source).returncode == 0
    assert _cli("shell", "-c", CREATE, data_dir=source).returncode == 0
    done = _cli("backup", "--output", str(source / "backups"), data_dir=source)
    assert done.returncode == 0, done.stderr
    (path,) = (source / "backups").glob("policywindow-backup-*.tar")
    return path


def _put_back_keys(archive: Path, data_dir: Path, *, data_keys: bool) -> None:
    """The operator's copy from the key store (all keys, or all but the personal-data ones)."""
    source = archive.parent.parent / "keys"
    (data_dir / "keys").mkdir(exist_ok=True)
    for key in source.glob("*.key"):
        if data_keys or not key.name.startswith("data-"):
            shutil.copy(key, data_dir / "keys" / key.name)


def test_the_archive_holds_ciphertext_and_names_the_keys_it_needs(archive):
    with tarfile.open(archive) as tar:
        assert not [name for name in tar.getnames() if name.endswith(".key")]
        manifest = json.loads(tar.extractfile("manifest.json").read())
        database = tar.extractfile("database.sqlite3").read()
    assert set(manifest["data_keys"]) == {"data-1", "data-index"}
    assert MOBILE.encode() not in database


def test_a_restore_without_the_data_keys_fails_and_with_them_decrypts(archive, tmp_path):
    _put_back_keys(archive, tmp_path, data_keys=False)
    refused = _cli("restore", str(archive), data_dir=tmp_path)
    assert refused.returncode == 2  # restored, but its checks failed
    assert "无法取得数据密钥 data-1" in refused.stderr
    assert "盲索引密钥 data-index 缺失" in refused.stderr
    assert not (tmp_path / "keys" / "data-1.key").exists()  # never made up in its place

    _put_back_keys(archive, tmp_path, data_keys=True)
    done = _cli("restore", str(archive), "--force", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    read = _cli("shell", "--no-imports", "-c", READ, data_dir=tmp_path)
    assert read.stdout.split() == [MOBILE, "1"], read.stderr
