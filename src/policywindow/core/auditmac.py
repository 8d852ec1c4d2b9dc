"""The operation log's keyed marks: HMAC-SM3 MACs and the signed checkpoint file (密评, GB/T 39786).

One secret, the audit key (``core/keys.py``, name ``audit-mac``: environment variable
``POLICYWINDOW_KEY_AUDIT_MAC`` or ``<POLICYWINDOW_KEY_DIR>/audit-mac.key``), never in the
database. Three purposes, each under its own key derived from it, so a MAC made for one can
never pass for another:

- entry MAC: an event's content and random nonce, made by ``audit.record`` at insertion;
- chain MAC: previous link + entry MAC + rejected flag, made by the sealer; the first link hangs
  from the genesis MAC of the chain's id;
- checkpoint signature: one line per checkpoint of the chain head, appended to
  ``<POLICYWINDOW_AUDIT_CHECKPOINT_DIR>/<chain id>.jsonl`` outside the database.

Whoever can write to the database but lacks the key can make none of them: recomputing plain
hashes over a backdated event gets nowhere, and ``verify-audit`` names the row.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC
from django.conf import settings

from .keys import cached_key, has_key

KEY_NAME = "audit-mac"
# The columns an entry MAC covers; the sealer's columns (seq, prev_hash, hash, rejected) are not.
CONTENT_FIELDS = (
    "occurred_at",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
    "ip",
    "result",
    "message",
    "nonce",
)


def _hmac_sm3(key: bytes, data: bytes) -> bytes:
    mac = HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()


@cache
def _subkey(purpose: str) -> bytes:
    return _hmac_sm3(cached_key(KEY_NAME), f"policywindow/audit/{purpose}".encode())


def key_available() -> bool:
    return has_key(KEY_NAME)


def _canonical(payload: dict[str, Any]) -> bytes:
    # ASCII escapes: any text the database stored, even odd code points, has one encoding.
    return json.dumps(payload, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode()


def entry_mac(event: Any) -> str:
    """HMAC-SM3 over an event's content (a model instance, current or historical)."""
    payload = {name: getattr(event, name) for name in CONTENT_FIELDS}
    payload["occurred_at"] = event.occurred_at.astimezone(dt.UTC).isoformat()
    return _hmac_sm3(_subkey("entry"), _canonical(payload)).hex()


def chain_mac(prev_hash: str, entry: str, rejected: bool) -> str:
    """The link the sealer stores in ``hash``: it binds the event to everything before it."""
    flag = "rejected" if rejected else "accepted"
    return _hmac_sm3(_subkey("chain"), f"{prev_hash}|{entry}|{flag}".encode()).hex()


def genesis_mac(chain_id: str) -> str:
    """The ``prev_hash`` of the chain's first event."""
    return _hmac_sm3(_subkey("chain"), f"genesis|{chain_id}".encode()).hex()


# ---------------------------------------------------------------- checkpoint file


@dataclass(frozen=True)
class Checkpoint:
    """One line of the checkpoint file: the chain head at a time, or a restore's new base."""

    chain: str
    seq: int
    mac: str
    at: str
    kind: str  # "checkpoint" | "restore"
    line: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "seq": self.seq,
            "mac": self.mac,
            "at": self.at,
            "kind": self.kind,
        }

    def signature(self) -> str:
        return _hmac_sm3(_subkey("checkpoint"), _canonical(self.payload())).hex()


def checkpoint_path(chain_id: str) -> Path:
    return Path(settings.POLICYWINDOW_AUDIT_CHECKPOINT_DIR) / f"{chain_id}.jsonl"


def append_checkpoint(checkpoint: Checkpoint) -> Path:
    """Append the signed line and flush it to disk (O_APPEND: never rewrites what is there)."""
    path = checkpoint_path(checkpoint.chain)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = json.dumps({**checkpoint.payload(), "sig": checkpoint.signature()}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def read_checkpoints(chain_id: str) -> tuple[list[Checkpoint], list[int]]:
    """The file's checkpoints in order, and the numbers of lines whose signature is wrong."""
    path = checkpoint_path(chain_id)
    if not path.exists():
        return [], []
    good, bad = [], []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            checkpoint = _parse(text, number, chain_id)
            if checkpoint is None:
                bad.append(number)
            else:
                good.append(checkpoint)
    return good, bad


def _parse(text: str, number: int, chain_id: str) -> Checkpoint | None:
    try:
        data = json.loads(text)
        checkpoint = Checkpoint(
            chain=str(data["chain"]),
            seq=int(data["seq"]),
            mac=str(data["mac"]),
            at=str(data["at"]),
            kind=str(data["kind"]),
            line=number,
        )
        sig = str(data["sig"])
    except (ValueError, KeyError, TypeError):
        return None
    if checkpoint.chain != chain_id or not macs_equal(sig, checkpoint.signature()):
        return None
    return checkpoint


def macs_equal(stored: str | None, computed: str) -> bool:
    """Constant-time comparison of a stored MAC (maybe missing) with a computed one."""
    return stored is not None and hmac.compare_digest(stored.encode(), computed.encode())
