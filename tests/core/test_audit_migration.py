"""Events written under the old SHA-256 chain keep verifying after the keyed chain's migration.

An installation is migrated to just before the change, given events by the old rules, then
migrated on; a broken old chain stops the migration rather than be laundered by re-sealing.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.waiting import HANG_GUARD_S

old_chain = importlib.import_module("policywindow.core.migrations.0006_keyed_audit_chain")
BEFORE = "0005_ratecounter"


def _cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "POLICYWINDOW_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "policywindow.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )


@pytest.fixture(scope="module")
def before_the_change(tmp_path_factory) -> Path:
    """A database file migrated up to the last migration of the SHA-256 chain."""
    data_dir = tmp_path_factory.mktemp("old")
    done = _cli("migrate", "core", BEFORE, data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    return data_dir / "db.sqlite3"


def _installation(before_the_change: Path, data_dir: Path, tamper: bool = False) -> None:
    shutil.copy(before_the_change, data_dir / "db.sqlite3")
    prev = "0" * 64
    with sqlite3.connect(data_dir / "db.sqlite3") as db:
        for seq in (1, 2, 3):
            event = SimpleNamespace(
                seq=seq,
                occurred_at=dt.datetime(2026, 3, seq, 9, 30, tzinfo=dt.UTC),
                actor_id=None,
                actor_name="系统",
                action="policy.publish",
                object_type="policies.policy",
                object_id=str(seq),
                object_repr=f"政策 {seq}",
                before=None,
                after={"amount": "12.50", "名称": "稳岗补贴"},
                ip="10.0.0.1",
                result="success",
                message=f"第 {seq} 条",
                prev_hash=prev,
            )
            event.hash = prev = old_chain._old_hash(event)
            message = "改过了" if tamper and seq == 2 else event.message
            db.execute(
                "INSERT INTO core_auditevent (seq, occurred_at, actor_name, action, object_type,"
                " object_id, object_repr, before, after, ip, result, message, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)",
                (
                    seq,
                    event.occurred_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    event.actor_name,
                    event.action,
                    event.object_type,
                    event.object_id,
                    event.object_repr,
                    json.dumps(event.after, ensure_ascii=False),
                    event.ip,
                    event.result,
                    message,
                    event.prev_hash,
                    event.hash,
                ),
            )
        db.execute("INSERT INTO core_auditchainhead VALUES (1, 3, ?)", (prev,))


def test_events_of_the_old_chain_are_resealed_under_the_key(before_the_change, tmp_path):
    _installation(before_the_change, tmp_path)
    done = _cli("migrate", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    verify = _cli("verify-audit", data_dir=tmp_path)
    assert verify.returncode == 0, verify.stderr
    assert "操作日志哈希链完整：已封存 3 条" in verify.stdout


def test_a_broken_old_chain_stops_the_migration(before_the_change, tmp_path):
    _installation(before_the_change, tmp_path, tamper=True)
    done = _cli("migrate", data_dir=tmp_path)
    assert done.returncode != 0
    assert "迁移前的操作日志哈希链在序号 2 处已断裂" in done.stderr
