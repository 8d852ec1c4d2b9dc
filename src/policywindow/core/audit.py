"""The operation log (DESIGN.md §3, §6): append-only, keyed, sealed into a chain, anchored outside.

``record`` is called by services inside the transaction of the change it describes, so the event
and the change commit or roll back together. It only INSERTs a row with its entry MAC
(``auditmac``): no global row is locked inside a request, so audited writes do not queue behind
each other.

``seal_pending`` (the worker runs it every few seconds, commands and tests call it directly)
links committed events into the chain after the fact, under the one head row that only sealers
lock. Why nothing is ever skipped: ids are taken at INSERT, but transactions commit in another
order, so a low id may become visible after higher ids were sealed. The sealer therefore keeps no
watermark: each run takes every *visible* unsealed event (``seq IS NULL``) in id order and gives
``seq`` in the order it seals. An event that commits late is simply sealed on the next run, with
a later ``seq``. ``seq`` is thus the order of sealing (≈ order of commit); ``occurred_at`` keeps
the time of the change. Before linking, the sealer checks each entry MAC; an event without a
valid one (inserted by someone without the key, or changed before sealing) is chained with
``rejected`` set, so the evidence is fixed in the chain and ``verify-audit`` names it forever.

``verify_chain`` checks every entry MAC, every link, the head and every signed checkpoint, and
reports unsealed events apart from forgeries.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Max
from django.utils import timezone

from . import auditmac
from .auditmac import Checkpoint, chain_mac, entry_mac, genesis_mac, macs_equal
from .encrypted import audit_value
from .labels import add_labels
from .models import AuditChainHead, AuditEvent
from .requestctx import current_ip

log = logging.getLogger(__name__)

SEAL_BATCH = 500
SEAL_FIELDS = ["seq", "prev_hash", "hash", "rejected"]
# An unsealed event older than this means no sealer is running (a warning, not a forgery).
STALE_PENDING = dt.timedelta(minutes=10)
MAX_FINDINGS = 50


def _json_safe(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


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
    """Write one event in the caller's transaction. ``target`` fills the object columns."""
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or target.pk
        object_repr = object_repr or str(target)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    event = AuditEvent(
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
        nonce=secrets.token_hex(16),
    )
    event.entry_mac = entry_mac(event)
    event.save()
    return event


def _actor_name(actor: Any) -> str:
    if actor is None:
        return "系统"
    real = getattr(actor, "real_name", "")
    return f"{real}（{actor.username}）" if real else actor.username


# ---------------------------------------------------------------- sealing


class AuditChainError(RuntimeError):
    """The sealer refuses to go on (it never starts a second chain beside the first)."""


@dataclass(frozen=True)
class SealResult:
    sealed: int = 0
    rejected: list[int] = field(default_factory=list)  # ids chained with ``rejected`` set
    checkpoint: Checkpoint | None = None


def seal_pending(using: str = DEFAULT_DB_ALIAS) -> SealResult:
    """Chain every committed unsealed event, in batches; then write a checkpoint if one is due.

    Cheap when there is nothing to seal: one look into the (empty) partial index of unsealed
    rows. Call it outside a transaction: the checkpoint must describe committed links.
    """
    unsealed = AuditEvent.objects.using(using).filter(seq__isnull=True)
    sealed, rejected = 0, []
    while unsealed.exists():
        with transaction.atomic(using=using):
            head = _locked_head(using)
            _skip_taken_positions(head, using)
            # Read after taking the lock: a second sealer sees what the first one sealed.
            batch = list(unsealed.order_by("id")[:SEAL_BATCH])
            for event in batch:
                event.rejected = not macs_equal(event.entry_mac, entry_mac(event))
                event.seq, event.prev_hash = head.last_seq + 1, head.last_hash
                event.hash = chain_mac(event.prev_hash, event.entry_mac, event.rejected)
                head.last_seq, head.last_hash = event.seq, event.hash
            AuditEvent.objects.using(using).bulk_update(batch, SEAL_FIELDS)
            head.save(using=using, update_fields=["last_seq", "last_hash"])
        if not batch:
            break
        sealed += len(batch)
        rejected += [event.pk for event in batch if event.rejected]
    for pk in rejected:
        log.error(
            "操作日志记录 id=%s 的条目 MAC 不符（未经密钥写入或写入后被改动），已作为拒绝记录封存",
            pk,
        )
    return SealResult(sealed, rejected, checkpoint_if_due(using))


def _skip_taken_positions(head: AuditChainHead, using: str) -> None:
    """Go on after positions past the head that something other than a sealer filled.

    The trigger lets seal columns be filled once, and cannot tell the sealer from another writer
    with the same role; a forged seal must not stall the chain. verify-audit names that row.
    """
    later = AuditEvent.objects.using(using).filter(seq__gt=head.last_seq)
    taken = later.aggregate(top=Max("seq"))["top"]
    if taken is not None:
        log.error("操作日志序号 %s–%s 不是封存程序写入的，跳过", head.last_seq + 1, taken)
        head.last_seq = taken


def _locked_head(using: str) -> AuditChainHead:
    heads = AuditChainHead.objects.using(using)
    head = heads.select_for_update().filter(id=1).first()
    if head is not None:
        return head
    if AuditEvent.objects.using(using).filter(seq__isnull=False).exists():
        raise AuditChainError(
            "操作日志链头记录缺失，但已有封存的记录：拒绝另起一条链，请运行 verify-audit 调查"
        )
    chain_id = uuid.uuid4().hex
    heads.get_or_create(id=1, defaults={"chain_id": chain_id, "last_hash": genesis_mac(chain_id)})
    return heads.select_for_update().get(id=1)


def checkpoint_if_due(using: str = DEFAULT_DB_ALIAS) -> Checkpoint | None:
    """A checkpoint when the head moved since the last one and the interval has passed."""
    head = AuditChainHead.objects.using(using).filter(id=1).first()
    if head is None or head.last_seq <= head.checkpoint_seq:
        return None
    interval = dt.timedelta(seconds=settings.POLICYWINDOW_AUDIT_CHECKPOINT_SECONDS)
    if head.checkpoint_at and timezone.now() - head.checkpoint_at < interval:
        return None
    return write_checkpoint(using)


def write_checkpoint(using: str = DEFAULT_DB_ALIAS, kind: str = "checkpoint") -> Checkpoint | None:
    """Append the signed head (seq, MAC, time) to the checkpoint file and to the log.

    ``kind="restore"`` marks a restored database's head as the chain's new base: checkpoints
    written before it beyond that head are superseded (events lost with the newer data).
    """
    with transaction.atomic(using=using):
        head = AuditChainHead.objects.using(using).select_for_update().filter(id=1).first()
        if head is None:
            return None
        now = timezone.now()
        checkpoint = Checkpoint(
            head.chain_id, head.last_seq, head.last_hash, now.astimezone(dt.UTC).isoformat(), kind
        )
        path = auditmac.append_checkpoint(checkpoint)
        log.info(
            "操作日志检查点 %s chain=%s seq=%s mac=%s sig=%s file=%s",
            kind,
            checkpoint.chain,
            checkpoint.seq,
            checkpoint.mac,
            checkpoint.signature(),
            path,
        )
        AuditChainHead.objects.using(using).filter(id=1).update(
            checkpoint_seq=head.last_seq, checkpoint_at=now
        )
    return checkpoint


# ---------------------------------------------------------------- verification

FINDING_LABELS = {
    "forged": "内容被篡改",
    "forged_seal": "链 MAC 不符",
    "deleted": "记录被删除",
    "reordered": "次序被调换",
    "unkeyed": "未经密钥写入",
    "checkpoint": "检查点不符",
    "rolled_back": "链尾被截断或数据库被回退",
    "head": "链头异常",
    "key": "密钥缺失",
}


@dataclass(frozen=True)
class Finding:
    kind: str  # a key of FINDING_LABELS
    seq: int | None
    message: str

    def __str__(self) -> str:
        return f"【{FINDING_LABELS[self.kind]}】{self.message}"


@dataclass
class ChainReport:
    sealed: int = 0
    pending: int = 0
    oldest_pending: dt.datetime | None = None
    checkpoints: int = 0
    superseded: int = 0
    findings: list[Finding] = field(default_factory=list)
    more_findings: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def checked(self) -> int:
        """Events whose MACs were checked: the sealed chain and the unsealed rows."""
        return self.sealed + self.pending

    def add(self, kind: str, seq: int | None, message: str) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(Finding(kind, seq, message))
        else:
            self.more_findings += 1

    def headline(self) -> str:
        if self.ok:
            return (
                f"操作日志哈希链完整：已封存 {self.sealed} 条，条目 MAC 与链 MAC 均相符；"
                f"检查点 {self.checkpoints} 个均相符"
            )
        total = len(self.findings) + self.more_findings
        return f"操作日志哈希链校验未通过：发现 {total} 处问题（共检查已封存 {self.sealed} 条）"

    def pending_line(self) -> str:
        if not self.pending:
            return "没有待封存的记录"
        oldest = timezone.localtime(self.oldest_pending).strftime("%Y-%m-%d %H:%M:%S")
        return f"待封存 {self.pending} 条（最早 {oldest}），条目 MAC 均相符，由后台封存程序链入"

    def lines(self, limit: int | None = None) -> list[str]:
        """Everything to show an operator, headline first; at most ``limit`` findings."""
        shown = self.findings[:limit]
        hidden = len(self.findings) - len(shown) + self.more_findings
        lines = [self.headline(), *map(str, shown)]
        if hidden:
            lines.append(f"另有 {hidden} 处问题未列出")
        lines.append(self.pending_line())
        if self.superseded:
            lines.append(
                f"恢复备份前的检查点 {self.superseded} 个已被恢复标记取代（随备份之后的数据丢失）"
            )
        return lines + [f"注意：{w}" for w in self.warnings]


def verify_chain(batch_size: int = 2000, using: str = DEFAULT_DB_ALIAS) -> ChainReport:
    """Check the whole log; name every forged, deleted, reordered or keyless event.

    ``using`` names the database (a restored copy is checked through its own alias). Reads go
    in the order things are written: the head, the checkpoint file, the chain, the unsealed rows;
    a sealer working meanwhile only adds what a later read sees, so it never looks like a loss.
    """
    report = ChainReport()
    events = AuditEvent.objects.using(using)
    if not auditmac.key_available():
        if events.exists():
            report.add(
                "key",
                None,
                f"找不到操作日志密钥 {auditmac.KEY_NAME}：无法校验。请从密钥保管处恢复"
                f"{auditmac.KEY_NAME}.key 或设置 POLICYWINDOW_KEY_AUDIT_MAC（切勿另生成新密钥）",
            )
        return report
    head = AuditChainHead.objects.using(using).filter(id=1).first()
    checkpoints, bad_lines = auditmac.read_checkpoints(head.chain_id) if head else ([], [])
    for number in bad_lines:
        report.add("checkpoint", None, f"检查点文件第 {number} 行签名无效或格式错误（文件被改动）")
    in_force = _in_force(checkpoints)
    report.superseded = len(checkpoints) - len(in_force)
    tail = _walk(report, events, head, in_force, batch_size)
    _check_beyond_the_tail(report, head, tail, in_force)
    _check_unsealed(report, events)
    return report


@dataclass
class _Break:
    seq: int
    prev_hash: str
    after_gap: bool


def _walk(
    report: ChainReport,
    events: Any,
    head: AuditChainHead | None,
    checkpoints: list[Checkpoint],
    batch_size: int,
) -> int:
    """Check the sealed events in chain order; returns the last seq seen (0 when none)."""
    sealed = events.filter(seq__isnull=False).order_by("seq")
    if head is None:
        if sealed.exists():
            report.add("head", None, "链头记录缺失：无法确认链的标识与末尾")
        return 0
    expected_prev, expected_seq = genesis_mac(head.chain_id), 1
    at_seq = _checkpoints_by_seq(checkpoints)
    breaks: list[_Break] = []
    bad_seals = 0
    for event in sealed.iterator(chunk_size=batch_size):
        after_gap = event.seq != expected_seq
        if after_gap:
            span = _span(expected_seq, event.seq - 1)
            report.add("deleted", expected_seq, f"缺少序号 {span} 的记录（被删除）")
        bad_seals += not _check_event(report, event)
        if event.prev_hash != expected_prev and len(breaks) < MAX_FINDINGS:
            breaks.append(_Break(event.seq, event.prev_hash, after_gap))
        for checkpoint in at_seq.get(event.seq, ()):
            _compare(report, checkpoint, event.hash)
        expected_prev, expected_seq = event.hash, event.seq + 1
        report.sealed += 1
    for checkpoint in at_seq.get(0, ()):
        _compare(report, checkpoint, genesis_mac(head.chain_id))
    _classify_breaks(report, events, breaks, head.chain_id)
    if report.sealed and bad_seals == report.sealed:
        report.warnings.append(
            "所有已封存记录的链 MAC 都不符：所用密钥很可能不是写入这些记录的密钥"
        )
    return expected_seq - 1


def _check_event(report: ChainReport, event: AuditEvent) -> bool:
    """One sealed event's own MACs; False when its seal was not made with the key."""
    if not macs_equal(event.hash, chain_mac(event.prev_hash, event.entry_mac, event.rejected)):
        report.add(
            "forged_seal",
            event.seq,
            f"序号 {event.seq}：链 MAC 不符（封存信息被伪造或整条记录被替换）",
        )
        return False
    if event.rejected:
        report.add(
            "unkeyed",
            event.seq,
            f"序号 {event.seq}（id={event.pk}，{event.action}）：写入时条目 MAC 不符，"
            "未经密钥写入或写入后被改动，封存时已拒绝",
        )
    elif not macs_equal(event.entry_mac, entry_mac(event)):
        report.add("forged", event.seq, f"序号 {event.seq}：内容被篡改（条目 MAC 不符）")
    return True


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"


def _classify_breaks(report: ChainReport, events: Any, breaks: list[_Break], chain_id: str) -> None:
    """A link that points elsewhere: to a row further on (reordered) or to no row (deleted)."""
    if not breaks:
        return
    wanted = {b.prev_hash for b in breaks if b.prev_hash}
    where = dict(events.filter(hash__in=wanted).values_list("hash", "seq"))
    where[genesis_mac(chain_id)] = 0
    forged_seals = {f.seq for f in report.findings if f.kind == "forged_seal"}
    for b in breaks:
        before = where.get(b.prev_hash)
        if b.seq in forged_seals:
            continue  # its link was written without the key too: it tells nothing more
        if before is None and b.seq == 1:
            report.add("head", 1, "序号 1 不接在本链的起点：链头记录的链标识被改动")
        elif before is not None and not (before == b.seq - 2 and b.seq - 1 in forged_seals):
            report.add(
                "reordered",
                b.seq,
                f"序号 {b.seq}：本应紧接在序号 {before} 之后（记录次序被调换）",
            )
        elif before is None and not b.after_gap:
            report.add("deleted", b.seq, f"序号 {b.seq}：它的前一条记录已不在链中（被删除或替换）")


def _checkpoints_by_seq(checkpoints: list[Checkpoint]) -> dict[int, list[Checkpoint]]:
    by_seq: dict[int, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        by_seq.setdefault(checkpoint.seq, []).append(checkpoint)
    return by_seq


def _in_force(checkpoints: list[Checkpoint]) -> list[Checkpoint]:
    """Checkpoints not superseded by a later restore marker with a lower seq."""
    kept, base = [], None
    for checkpoint in reversed(checkpoints):
        if base is None or checkpoint.seq <= base:
            kept.append(checkpoint)
        if checkpoint.kind == "restore":
            base = checkpoint.seq if base is None else min(base, checkpoint.seq)
    return kept[::-1]


def _compare(report: ChainReport, checkpoint: Checkpoint, stored: str | None) -> None:
    report.checkpoints += 1
    if not macs_equal(stored, checkpoint.mac):
        report.add(
            "checkpoint",
            checkpoint.seq,
            f"检查点（{_local(checkpoint.at)}，文件第 {checkpoint.line} 行）"
            f"记下的序号 {checkpoint.seq} 与库中的链不同（链被改写或替换）",
        )


def _local(iso: str) -> str:
    try:
        return timezone.localtime(dt.datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def _check_beyond_the_tail(
    report: ChainReport, head: AuditChainHead | None, tail: int, checkpoints: list[Checkpoint]
) -> None:
    """The head and the checkpoints in force say how long the chain was: nothing may be missing."""
    if head is not None and head.last_seq > tail:
        report.add(
            "deleted",
            tail + 1,
            f"链头记到序号 {head.last_seq}，链中只到序号 {tail}："
            f"末尾序号 {_span(tail + 1, head.last_seq)} 被删除",
        )
    beyond = [c for c in checkpoints if c.seq > tail]
    if beyond:
        last = max(beyond, key=lambda c: c.seq)
        report.add(
            "rolled_back",
            last.seq,
            f"检查点（{_local(last.at)}）记到序号 {last.seq}，库中链尾只到序号 {tail}："
            "末尾记录被截断，或数据库被回退到更早的备份",
        )
    if head is not None and tail and not checkpoints:
        report.warnings.append(
            f"没有本链的检查点 {auditmac.checkpoint_path(head.chain_id)}：后台封存程序尚未写入，"
            "或检查点目录丢失"
        )


def _check_unsealed(report: ChainReport, events: Any) -> None:
    for event in events.filter(seq__isnull=True).order_by("id").iterator(chunk_size=2000):
        if macs_equal(event.entry_mac, entry_mac(event)):
            report.pending += 1
            if report.oldest_pending is None or event.occurred_at < report.oldest_pending:
                report.oldest_pending = event.occurred_at
        else:
            report.add(
                "unkeyed",
                None,
                f"待封存记录 id={event.pk}（{event.action}）：条目 MAC 不符，未经密钥写入或写入后被改动",
            )
    if report.oldest_pending and timezone.now() - report.oldest_pending > STALE_PENDING:
        report.warnings.append(
            "最早的待封存记录已等待超过 10 分钟：请确认 policywindow worker 在运行"
        )


def snapshot(instance: Any, fields: list[str]) -> dict[str, Any]:
    """The before/after picture of a model for an audit event."""
    data = {}
    for name in fields:
        value = audit_value(instance, name, getattr(instance, name))  # encrypted fields masked
        if hasattr(value, "pk"):
            value = value.pk
        data[name] = value
    return _json_safe(data)


ACTION_LABELS: dict[str, str] = {
    "user.assign_roles": "分配角色",
    "user.reset_password": "重置密码",
    "user.change_password": "修改本人密码",
    "user.totp_bind": "绑定动态口令",
    "user.recovery_codes": "生成恢复码",
    "user.recovery_code_used": "使用恢复码登录",
    "login.locked": "登录失败锁定账号",
    "login.second_factor_failed": "动态口令错误",
    "admin_request.file": "提出三员账号变更申请",
    "admin_request.approve": "批准三员账号变更申请",
    "admin_request.reject": "驳回三员账号变更申请",
    "admin_request.cancel": "撤回三员账号变更申请",
    "admin_request.redeem": "启用三员一次性密码",
    "autogrant.decline": "企业放弃免申即享",
    "role.grant": "分配权限",
    "session.kick": "强制退出",
    "access.denied": "越权访问被拒绝",
    "calendarday.import": "导入法定节假日",
    "calendarday.load_year": "按年导入节假日",
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
    "export": "导出",  # core/exports.py: 导出企业, 导出申报, 导出操作日志
}
# Object types that name no model (the access-denial log names the page address).
OBJECT_TYPE_LABELS = {"url": "页面地址"}


def register_action_labels(labels: Mapping[str, str]) -> None:
    """Name an app's actions in 操作日志 (called from its ``AppConfig.ready``)."""
    add_labels(ACTION_LABELS, labels, what="操作日志 actions")


def action_label(action: str, object_type: str = "") -> str:
    """A Chinese name for an action code: explicit, or verb + the object's model name."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    verb = VERB_LABELS.get(action.rpartition(".")[2])
    if verb is None:
        return action
    return f"{verb}{_model_name(object_type)}"


def object_type_label(object_type: str) -> str:
    """The Chinese name of an object type (申报 for ``applications.application``); the code
    itself only for a type nothing names."""
    return OBJECT_TYPE_LABELS.get(object_type) or _model_name(object_type) or object_type


def _model_name(object_type: str) -> str:
    from django.apps import apps

    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return ""
