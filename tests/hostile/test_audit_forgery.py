"""Attacks on the operation log by someone who holds the database but not the audit key.

Each attack is named by ``verify_chain`` and by ``policywindow verify-audit`` with its kind: content
changed, forged seal, deleted, reordered, inserted without the key, truncated / rolled back, a
changed checkpoint. The attacker who recomputes every plain hash (SHA-256, or HMAC under a key of
his own) gets nowhere. On PostgreSQL the owner's attacks first switch the append-only trigger off
(as a table owner could); the application role's attacks run with the trigger on.
"""

import datetime as dt
import hashlib
import json
import secrets

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from policywindow.core import audit, auditmac
from policywindow.core.audit import FINDING_LABELS
from policywindow.core.models import AuditChainHead, AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _checkpoint_every_seal(settings):
    settings.POLICYWINDOW_AUDIT_CHECKPOINT_SECONDS = 0


def _sql(sql: str, params: list | tuple = ()) -> None:
    """As the application's database role: the trigger (on PostgreSQL) is in force."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _as_owner(sql: str, params: list | tuple = ()) -> None:
    """As the table owner, who can switch the append-only trigger off first."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER USER")


def _sealed_chain(n: int) -> list[AuditEvent]:
    for i in range(n):
        audit.record("test.event", object_type="demo", object_id=i, after={"amount": "12.50"})
    audit.seal_pending()
    return list(AuditEvent.objects.order_by("seq"))


def _plain_hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _insert_backdated(**seal: object) -> int:
    """A backdated "approval" row whose MACs are plain SHA-256 (all one can make without the key)."""
    occurred_at = timezone.now() - dt.timedelta(days=30)
    content = ("finance.approve", occurred_at, "补录的审批", "cafe" * 8)
    columns = {
        "occurred_at": occurred_at,
        "actor_name": "系统",
        "action": "finance.approve",
        "object_type": "finance.payment",
        "object_id": "42",
        "object_repr": "拨付 42",
        "ip": "",
        "result": "success",
        "message": "补录的审批",
        "nonce": "cafe" * 8,
        "entry_mac": _plain_hash(*content),
        "prev_hash": "",
        "hash": "",
        "rejected": False,
        **seal,
    }
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    insert = _as_owner if "seq" in seal else _sql
    sql = f"INSERT INTO core_auditevent ({names}) VALUES ({marks})"  # noqa: S608 — fixed names
    insert(sql, list(columns.values()))
    return AuditEvent.objects.get(entry_mac=columns["entry_mac"]).pk


def _named(kind: str, seq: int | None, capsys) -> audit.ChainReport:
    """verify_chain names ``kind`` at ``seq``, and so does the command, in Chinese, failing."""
    report = audit.verify_chain()
    assert not report.ok
    assert (kind, seq) in {(f.kind, f.seq) for f in report.findings}, report.lines()
    with pytest.raises(CommandError, match="操作日志哈希链校验未通过"):
        call_command("verify_audit")
    assert f"【{FINDING_LABELS[kind]}】" in capsys.readouterr().err
    return report


# ---------------------------------------------------------------- forged and inserted events


def test_a_backdated_event_with_recomputed_plain_hashes_is_named(capsys):
    chain = _sealed_chain(4)
    forged_seal = _plain_hash(chain[-1].hash, "finance.approve")
    _insert_backdated(seq=5, prev_hash=chain[-1].hash, hash=forged_seal)
    AuditChainHead.objects.update(last_seq=5, last_hash=forged_seal)
    report = _named("forged_seal", 5, capsys)
    assert report.sealed == 5 and {f.seq for f in report.findings} == {5}


def test_an_event_inserted_without_the_key_is_named_and_chained_as_rejected(capsys):
    _sealed_chain(2)
    forged = _insert_backdated()  # the application role may insert; the trigger allows it
    _named("unkeyed", None, capsys)  # before sealing: an unsealed row without a valid MAC
    result = audit.seal_pending()
    assert result.rejected == [forged]
    stored = AuditEvent.objects.get(pk=forged)
    assert stored.seq == 3 and stored.rejected
    report = _named("unkeyed", 3, capsys)
    assert report.pending == 0 and len(report.findings) == 1


def test_a_copied_event_cannot_be_inserted_again():
    original = _sealed_chain(1)[0]
    columns = ", ".join(f.column for f in AuditEvent._meta.concrete_fields if f.column != "id")
    copy = columns.replace("seq,", "NULL,").replace("prev_hash, hash", "'', ''")
    copy = copy.replace("rejected", "false")
    with pytest.raises(IntegrityError), transaction.atomic():
        _sql(
            f"INSERT INTO core_auditevent ({columns}) SELECT {copy} FROM core_auditevent"  # noqa: S608
            " WHERE id = %s",
            [original.pk],
        )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("message", "已按规定审批"),
        ("occurred_at", dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
        ("actor_name", "另一个人"),
        ("after", '{"amount": "99999.00"}'),
    ],
)
def test_changed_content_is_named(column, value, capsys):
    _sealed_chain(4)
    _as_owner(f"UPDATE core_auditevent SET {column} = %s WHERE seq = 3", [value])  # noqa: S608
    report = _named("forged", 3, capsys)
    assert [f.seq for f in report.findings] == [3]


def test_changed_content_with_a_recomputed_entry_mac_is_named(capsys):
    _sealed_chain(3)
    _as_owner(
        "UPDATE core_auditevent SET message = %s, entry_mac = %s WHERE seq = 2",
        ["改过了", _plain_hash("改过了")],
    )
    _named("forged_seal", 2, capsys)


def test_a_forged_seal_on_an_unsealed_event_neither_passes_nor_stalls_the_sealer(capsys):
    chain = _sealed_chain(2)
    victim, later = (audit.record("test.pending", message=str(i)) for i in range(2))
    # The trigger lets seal columns be filled once; it cannot tell who fills them.
    _sql(
        "UPDATE core_auditevent SET seq = 3, prev_hash = %s, hash = %s WHERE id = %s",
        [chain[-1].hash, _plain_hash("seal"), victim.pk],
    )
    assert audit.seal_pending().sealed == 1
    assert AuditEvent.objects.get(pk=later.pk).seq == 4
    report = _named("forged_seal", 3, capsys)
    assert [f.kind for f in report.findings] == ["forged_seal"]


# ---------------------------------------------------------------- deleted and reordered


def test_a_deleted_event_is_named(capsys):
    _sealed_chain(4)
    _as_owner("DELETE FROM core_auditevent WHERE seq = 2")
    report = _named("deleted", 2, capsys)
    assert "缺少序号 2" in str(report.findings[0])


def test_a_deleted_event_is_named_when_the_rest_are_renumbered(capsys):
    _sealed_chain(4)
    _as_owner("DELETE FROM core_auditevent WHERE seq = 2")
    for seq in (3, 4):
        _as_owner("UPDATE core_auditevent SET seq = %s WHERE seq = %s", [seq - 1, seq])
    AuditChainHead.objects.update(last_seq=3)
    _named("deleted", 2, capsys)


def test_reordered_events_are_named(capsys):
    _sealed_chain(5)
    for old, new in ((2, -1), (3, 2), (-1, 3)):
        _as_owner("UPDATE core_auditevent SET seq = %s WHERE seq = %s", [new, old])
    report = _named("reordered", 2, capsys)
    assert {f.kind for f in report.findings} == {"reordered"}
    assert "本应紧接在序号 3 之后" in str(report.findings[0])


# ---------------------------------------------------------------- truncation, rewrite, rollback


def _truncate_to(seq: int) -> None:
    """Delete the tail after ``seq`` and move the head back to match: consistent in the database."""
    _as_owner("DELETE FROM core_auditevent WHERE seq > %s", [seq])
    last = AuditEvent.objects.get(seq=seq)
    AuditChainHead.objects.update(last_seq=seq, last_hash=last.hash)


def test_a_truncated_tail_is_caught_by_the_checkpoint_outside_the_database(capsys):
    _sealed_chain(5)
    _truncate_to(3)
    report = _named("rolled_back", 5, capsys)
    assert [f.kind for f in report.findings] == ["rolled_back"]


def test_a_chain_rewritten_under_another_key_is_named(capsys):
    _sealed_chain(3)
    their_key = secrets.token_bytes(32)
    head = AuditChainHead.objects.get()
    prev = auditmac._hmac_sm3(their_key, b"genesis").hex()
    for event in AuditEvent.objects.order_by("seq"):
        entry = auditmac._hmac_sm3(their_key, str(event.message).encode() + event.nonce.encode())
        link = auditmac._hmac_sm3(their_key, f"{prev}|{entry.hex()}".encode()).hex()
        _as_owner(
            "UPDATE core_auditevent SET entry_mac = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [entry.hex(), prev, link, event.pk],
        )
        prev = link
    AuditChainHead.objects.filter(pk=head.pk).update(last_hash=prev)
    report = _named("forged_seal", 1, capsys)
    assert {f.kind for f in report.findings} == {"forged_seal", "checkpoint"}
    assert "所用密钥很可能不是" in " ".join(report.warnings)


def test_an_older_database_is_named_until_a_signed_restore_mark_rebases_the_chain(capsys):
    _sealed_chain(3)
    for _ in range(2):
        audit.record("test.after_backup")
    audit.seal_pending()  # checkpoint at 5
    _truncate_to(3)  # the database as the backup had it
    _named("rolled_back", 5, capsys)

    # Without the key nobody can write the restore mark that would excuse it.
    path = auditmac.checkpoint_path(AuditChainHead.objects.get().chain_id)
    bogus = {"chain": path.stem, "seq": 3, "mac": "0" * 64, "at": "2026-01-01", "kind": "restore"}
    with path.open("a") as handle:
        handle.write(json.dumps({**bogus, "sig": _plain_hash(bogus)}) + "\n")
    report = _named("rolled_back", 5, capsys)
    assert "checkpoint" in {f.kind for f in report.findings}

    _rewrite_file_without_last_line(path)
    assert audit.write_checkpoint(kind="restore").seq == 3  # what `policywindow restore` writes
    report = audit.verify_chain()
    assert report.ok and report.superseded == 1, report.lines()
    audit.record("test.after_restore")
    audit.seal_pending()
    assert audit.verify_chain().ok


def _rewrite_file_without_last_line(path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))


def test_a_changed_checkpoint_line_is_named(capsys):
    _sealed_chain(2)
    path = auditmac.checkpoint_path(AuditChainHead.objects.get().chain_id)
    line = json.loads(path.read_text())
    path.write_text(json.dumps({**line, "seq": 1}) + "\n")
    report = _named("checkpoint", None, capsys)
    assert "第 1 行签名无效" in str(report.findings[0])


def test_a_missing_key_is_named_and_never_made_up(settings, tmp_path, monkeypatch, capsys):
    _sealed_chain(1)
    monkeypatch.delenv("POLICYWINDOW_KEY_AUDIT_MAC", raising=False)
    settings.POLICYWINDOW_KEY_DIR = tmp_path / "elsewhere"
    _named("key", None, capsys)
    assert not (tmp_path / "elsewhere").exists()


def test_a_changed_chain_id_cannot_hide_the_chain_from_its_checkpoints(capsys):
    _sealed_chain(3)
    _truncate_to(2)
    AuditChainHead.objects.update(chain_id="f" * 32)  # points at a checkpoint file that is empty
    report = _named("head", 1, capsys)
    assert "链标识被改动" in str(report.findings[0])
