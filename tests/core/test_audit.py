"""The operation log: written without a global lock, sealed into a keyed chain, anchored outside.

Attacks on the log are in tests/hostile/test_audit_forgery.py; concurrency on PostgreSQL in
tests/core/test_audit_concurrency.py.
"""

import json

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from policywindow.core import audit, auditmac
from policywindow.core.models import AuditChainHead, AuditEvent

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="database trigger exists on PostgreSQL only"
)


def _events(n: int) -> list[AuditEvent]:
    return [
        audit.record(
            "test.event", object_type="demo", object_id=i, after={"i": i, "amount": "12.50"}
        )
        for i in range(n)
    ]


def test_record_is_one_insert_and_touches_no_shared_row():
    with CaptureQueriesContext(connection) as queries:
        event = audit.record("test.event", message="一次写入")
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 1 and statements[0].startswith("INSERT")
    assert "core_auditchainhead" not in statements[0] and "FOR UPDATE" not in statements[0]
    assert event.seq is None and event.hash == "" and len(event.entry_mac) == 64


def test_sealing_links_events_in_order_from_the_genesis():
    events = _events(3)
    result = audit.seal_pending()
    assert result.sealed == 3 and result.rejected == []
    sealed = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in sealed] == [1, 2, 3]
    assert [e.pk for e in sealed] == [e.pk for e in events]
    head = AuditChainHead.objects.get()
    assert sealed[0].prev_hash == auditmac.genesis_mac(head.chain_id)
    assert sealed[1].prev_hash == sealed[0].hash and sealed[2].prev_hash == sealed[1].hash
    assert (head.last_seq, head.last_hash) == (3, sealed[2].hash)
    report = audit.verify_chain()
    assert report.ok and report.sealed == 3 and report.pending == 0


def test_sealing_writes_a_signed_checkpoint_outside_the_database():
    _events(2)
    checkpoint = audit.seal_pending().checkpoint
    head = AuditChainHead.objects.get()
    assert (checkpoint.seq, checkpoint.mac, checkpoint.kind) == (2, head.last_hash, "checkpoint")
    line = json.loads(auditmac.checkpoint_path(head.chain_id).read_text())
    assert line["seq"] == 2 and line["sig"] == checkpoint.signature()
    assert audit.verify_chain().checkpoints == 1


def test_checkpoints_wait_for_their_interval(settings):
    settings.POLICYWINDOW_AUDIT_CHECKPOINT_SECONDS = 3600
    _events(1)
    assert audit.seal_pending().checkpoint is not None  # the chain's first checkpoint at once
    _events(1)
    assert audit.seal_pending().checkpoint is None
    settings.POLICYWINDOW_AUDIT_CHECKPOINT_SECONDS = 0
    assert audit.seal_pending().checkpoint.seq == 2  # nothing to seal, the checkpoint is due


def test_an_idle_sealer_reads_one_index_and_locks_nothing():
    _events(2)
    audit.seal_pending()
    with CaptureQueriesContext(connection) as queries:
        result = audit.seal_pending()
    assert result.sealed == 0 and result.checkpoint is None
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 2 and not any("FOR UPDATE" in sql for sql in statements)


def test_unsealed_events_are_reported_apart_from_forgeries(capsys):
    _events(2)
    audit.seal_pending()
    later = _events(3)
    report = audit.verify_chain()
    assert report.ok and (report.sealed, report.pending) == (2, 3)
    assert report.oldest_pending == later[0].occurred_at
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "操作日志哈希链完整：已封存 2 条" in out and "检查点 1 个均相符" in out
    assert "待封存 3 条（最早" in out


def test_verify_command_can_seal_first(capsys):
    _events(2)
    call_command("verify_audit", "--seal")
    out = capsys.readouterr().out
    assert "已封存 2 条记录" in out and "已封存 2 条，条目 MAC 与链 MAC 均相符" in out
    assert "没有待封存的记录" in out


def test_model_refuses_updates_and_deletes():
    event = _events(1)[0]
    event.message = "x"
    with pytest.raises(RuntimeError, match="只能追加"):
        event.save()
    with pytest.raises(RuntimeError, match="不能删除"):
        event.delete()


def _refused(sql: str, params: list) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


@on_postgresql
def test_database_refuses_changes_to_content_and_to_sealed_rows():
    events = _events(2)
    audit.seal_pending()
    sealed = events[0].pk
    _refused("UPDATE core_auditevent SET message = 'x' WHERE id = %s", [sealed])
    _refused("UPDATE core_auditevent SET hash = 'x' WHERE id = %s", [sealed])
    _refused("DELETE FROM core_auditevent WHERE id = %s", [sealed])
    pending = _events(1)[0].pk
    _refused("UPDATE core_auditevent SET message = 'x' WHERE id = %s", [pending])
    _refused(
        "UPDATE core_auditevent SET seq = 99, hash = 'x', message = 'y' WHERE id = %s", [pending]
    )
    _refused("DELETE FROM core_auditevent WHERE id = %s", [pending])


@on_postgresql
def test_database_refuses_inserting_a_row_that_claims_to_be_sealed():
    _refused(
        "INSERT INTO core_auditevent (seq, occurred_at, actor_name, action, object_type,"
        " object_id, object_repr, ip, result, message, nonce, entry_mac, prev_hash, hash,"
        " rejected) VALUES (1, now(), '', 'x', '', '', '', '', 'success', '', 'n', 'm', 'p',"
        " 'h', false)",
        [],
    )


def test_event_rolls_back_with_the_change():
    with pytest.raises(ValueError), transaction.atomic():
        audit.record("test.rollback")
        raise ValueError("the change failed")
    assert not AuditEvent.objects.filter(action="test.rollback").exists()
    assert audit.verify_chain().ok


def test_actions_have_chinese_names():
    assert audit.action_label("user.assign_roles", "system.user") == "分配角色"
    assert audit.action_label("post.create", "system.post") == "新增岗位"
    assert audit.action_label("department.update", "system.department") == "修改部门"
    assert audit.action_label("something.odd", "") == "something.odd"


def test_modules_register_their_action_names():
    assert audit.action_label("policy.publish", "policies.policy") == "发布政策"
    assert audit.action_label("application.accept", "applications.application") == "窗口受理"
