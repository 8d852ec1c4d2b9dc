"""The operation log is append-only and hash-chained; verify-audit names the first broken link."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from policywindow.core import audit
from policywindow.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The database refuses UPDATE/DELETE on the log; an attacker with owner rights could
            # switch that off, which is exactly what the hash chain must still catch.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER USER")


def _events(n: int) -> list[AuditEvent]:
    return [
        audit.record(
            "test.event", object_type="demo", object_id=i, after={"i": i, "amount": "12.50"}
        )
        for i in range(n)
    ]


def test_chain_links_each_record_to_the_previous_one():
    events = _events(3)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == audit.GENESIS_HASH
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    report = audit.verify_chain()
    assert report.ok and report.checked == 3


def test_tampered_content_is_named(capsys):
    _events(4)
    _raw("UPDATE core_auditevent SET message = %s WHERE seq = %s", ["改过了", 3])
    report = audit.verify_chain()
    assert not report.ok and report.broken_seq == 3 and "篡改" in report.reason
    with pytest.raises(CommandError, match="第一条异常记录序号 3"):
        call_command("verify_audit")


def test_deleted_record_is_named():
    _events(4)
    _raw("DELETE FROM core_auditevent WHERE seq = %s", [2])
    report = audit.verify_chain()
    assert report.broken_seq == 2 and "缺少序号 2" in report.reason


def test_deleted_tail_is_caught_by_the_head():
    _events(3)
    _raw("DELETE FROM core_auditevent WHERE seq = %s", [3])
    report = audit.verify_chain()
    assert report.broken_seq == 3 and "末尾" in report.reason


def test_verify_command_reports_success(capsys):
    _events(2)
    call_command("verify_audit")
    assert "共校验 2 条记录" in capsys.readouterr().out


def test_model_refuses_updates_and_deletes():
    event = _events(1)[0]
    event.message = "x"
    with pytest.raises(RuntimeError, match="只能追加"):
        event.save()
    with pytest.raises(RuntimeError, match="不能删除"):
        event.delete()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="database trigger exists on PostgreSQL only"
)
def test_database_refuses_update_on_postgresql():
    _events(1)
    from django.db import DatabaseError

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE core_auditevent SET message = 'x' WHERE seq = 1")


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
