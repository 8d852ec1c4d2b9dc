"""The operation log becomes keyed (HMAC-SM3) and sealed after commit (docs/security.md).

Events recorded under the old SHA-256 chain are first checked against that chain, then every one
gets a nonce and an entry MAC and is re-sealed, in its old order, into a keyed chain under a new
chain id: existing data keeps verifying, now under the key. A broken old chain stops the
migration: re-sealing it would launder the tampering. An installation that has events therefore
needs its audit key (POLICYWINDOW_KEY_AUDIT_MAC, docs/deployment.md) before it migrates; a fresh
one does not.

The PostgreSQL trigger is replaced: INSERT only of unsealed rows, UPDATE only to fill the seal
columns of an unsealed row with nothing else changed, never DELETE.
"""

import datetime as dt
import hashlib
import json
import secrets
import uuid

from django.db import migrations, models

from policywindow.core.auditmac import chain_mac, entry_mac, genesis_mac

BATCH = 1000
SEAL_COLUMNS = "ARRAY['seq', 'prev_hash', 'hash', 'rejected']"
CREATE_TRIGGER = f"""
CREATE OR REPLACE FUNCTION core_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.seq IS NULL AND NEW.prev_hash = '' AND NEW.hash = ''
       AND NOT NEW.rejected THEN
        RETURN NEW;
    END IF;
    -- The sealer fills the seal columns of an unsealed row once; nothing else ever changes.
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND to_jsonb(NEW) - {SEAL_COLUMNS} = to_jsonb(OLD) - {SEAL_COLUMNS} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '操作日志只能追加，不能修改或删除 (core_auditevent is append-only)';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditevent_append_only
    BEFORE INSERT OR UPDATE OR DELETE ON core_auditevent
    FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only();
"""
DROP_TRIGGER = "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent;"


def _old_hash(event) -> str:
    """The SHA-256 link of the chain this migration replaces (frozen copy)."""
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


def _batches(events):
    last = 0
    while batch := list(events.filter(seq__gt=last).order_by("seq")[:BATCH]):
        yield batch
        last = batch[-1].seq


def _check_old_chain(events) -> None:
    expected_prev, expected_seq = "0" * 64, 1
    for batch in _batches(events):
        for event in batch:
            if (
                event.seq != expected_seq
                or event.prev_hash != expected_prev
                or _old_hash(event) != event.hash
            ):
                raise RuntimeError(
                    f"迁移前的操作日志哈希链在序号 {expected_seq} 处已断裂：不能用新密钥重新封存"
                    "（那会掩盖篡改），请先用旧版本的 policywindow verify-audit 调查"
                )
            expected_prev, expected_seq = event.hash, event.seq + 1


def reseal(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER)
    AuditEvent = apps.get_model("core", "AuditEvent")
    AuditChainHead = apps.get_model("core", "AuditChainHead")
    events = AuditEvent.objects.using(connection.alias)
    heads = AuditChainHead.objects.using(connection.alias)
    if not events.exists():
        heads.all().delete()  # the sealer starts the chain with its first event
    else:
        _check_old_chain(events)
        chain_id = uuid.uuid4().hex
        prev, last_seq = genesis_mac(chain_id), 0
        for batch in _batches(events):
            for event in batch:
                event.nonce = secrets.token_hex(16)
                event.entry_mac = entry_mac(event)
                event.prev_hash, event.rejected = prev, False
                event.hash = prev = chain_mac(prev, event.entry_mac, False)
                last_seq = event.seq
            fields = ["nonce", "entry_mac", "prev_hash", "hash", "rejected"]
            AuditEvent.objects.using(connection.alias).bulk_update(batch, fields)
        heads.update_or_create(
            id=1,
            defaults={"chain_id": chain_id, "last_seq": last_seq, "last_hash": prev},
        )
    if connection.vendor == "postgresql":
        schema_editor.execute(CREATE_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("core", "0005_ratecounter")]

    operations = [
        migrations.AlterModelOptions(
            name="auditevent",
            options={
                "ordering": ["-id"],
                "verbose_name": "操作日志",
                "verbose_name_plural": "操作日志",
            },
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="chain_id",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="checkpoint_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="checkpoint_seq",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="nonce",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        # Filled by reseal, then made unique and required in 0007.
        migrations.AddField(
            model_name="auditevent",
            name="entry_mac",
            field=models.CharField(max_length=64, null=True, verbose_name="条目 MAC"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="rejected",
            field=models.BooleanField(default=False, verbose_name="封存时拒绝"),
        ),
        migrations.AlterField(
            model_name="auditchainhead",
            name="last_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, max_length=64, verbose_name="链 MAC"),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64, verbose_name="前序 MAC"),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(blank=True, null=True, unique=True, verbose_name="序号"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("seq__isnull", True)),
                fields=["id"],
                name="core_auditevent_unsealed",
            ),
        ),
        migrations.RunPython(reseal, elidable=False),
    ]
