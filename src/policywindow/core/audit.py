"""The operation log: append-only, hash-chained audit events (DESIGN.md §3, §6).

``record`` is called by services inside the transaction of the change it
describes, so the event and the change commit or roll back together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

from .models import AuditChainHead, AuditEvent
from .requestctx import current_ip

GENESIS_HASH = "0" * 64


def _json_safe(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def compute_hash(event: AuditEvent) -> str:
    payload = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.astimezone(dt.UTC).isoformat(),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "before": event.before,
        "after": event.after,
        "ip": event.ip,
        "result": event.result,
        "message": event.message,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(
    action: str,
    *,
    actor: Any = None,
    target: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    before: dict | None = None,
    after: dict | None = None,
    result: str = AuditEvent.Result.SUCCESS,
    message: str = "",
    ip: str | None = None,
) -> AuditEvent:
    """Append one event to the chain. ``target`` fills the object columns from a model."""
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or target.pk
        object_repr = object_repr or str(target)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        event = AuditEvent(
            seq=head.last_seq + 1,
            occurred_at=timezone.now(),
            actor=actor,
            actor_name=_actor_name(actor),
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_repr=str(object_repr)[:200],
            before=_json_safe(before),
            after=_json_safe(after),
            ip=ip if ip is not None else current_ip(),
            result=result,
            message=message[:500],
            prev_hash=head.last_hash,
        )
        event.hash = compute_hash(event)
        event.save()
        head.last_seq, head.last_hash = event.seq, event.hash
        head.save(update_fields=["last_seq", "last_hash"])
    return event


def _actor_name(actor: Any) -> str:
    if actor is None:
        return "系统"
    real = getattr(actor, "real_name", "")
    return f"{real}（{actor.username}）" if real else actor.username


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify_chain(batch_size: int = 2000, using: str = DEFAULT_DB_ALIAS) -> ChainReport:
    """Walk the chain in order; name the first record whose link or content is wrong.

    ``using`` names the database (a restored copy is checked through its own alias).
    """
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in AuditEvent.objects.using(using).order_by("seq").iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            return ChainReport(
                checked, expected_seq, f"缺少序号 {expected_seq} 的记录（可能被删除）"
            )
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.seq, "前序哈希不匹配（链被断开或记录被替换）")
        if compute_hash(event) != event.hash:
            return ChainReport(checked, event.seq, "内容哈希不匹配（记录被篡改）")
        expected_prev = event.hash
        expected_seq += 1
        checked += 1
    head = AuditChainHead.objects.using(using).filter(id=1).first()
    if head and head.last_seq != checked:
        return ChainReport(
            checked,
            checked + 1,
            f"链头记录到序号 {head.last_seq}，但只找到 {checked} 条（末尾记录被删除）",
        )
    return ChainReport(checked)


def snapshot(instance: Any, fields: list[str]) -> dict[str, Any]:
    """The before/after picture of a model for an audit event."""
    data = {}
    for name in fields:
        value = getattr(instance, name)
        if hasattr(value, "pk"):
            value = value.pk
        data[name] = value
    return _json_safe(data)


ACTION_LABELS: dict[str, str] = {
    "user.assign_roles": "分配角色",
    "user.reset_password": "重置密码",
    "user.change_password": "修改本人密码",
    "user.totp_bind": "绑定动态口令",
    "role.grant": "分配权限",
    "session.kick": "强制退出",
    "access.denied": "越权访问被拒绝",
    "calendarday.import": "导入法定节假日",
    "api_token.issue": "签发接口令牌",
    "api_token.revoke": "吊销接口令牌",
}
VERB_LABELS = {
    "create": "新增",
    "update": "修改",
    "delete": "删除",
    "status": "启用/停用",
    "enable": "启用",
    "disable": "停用",
}


def action_label(action: str, object_type: str = "") -> str:
    """A Chinese name for an action code: explicit, or verb + the object's model name."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    verb = VERB_LABELS.get(action.rpartition(".")[2])
    if verb is None:
        return action
    return f"{verb}{_model_name(object_type)}"


def _model_name(object_type: str) -> str:
    from django.apps import apps

    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return ""
