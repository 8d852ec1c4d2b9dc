"""Writes of 申报与受理, one module per area.

- ``filing``: the one form (一表申请) — drafts, answers, submit, resubmit after 补正;
- ``submission``: 一次提交 — a whole filing in one request (the integrators' API);
- ``numbering``: gap-free application numbers per year, taken in a submission's last statement;
- ``transactions``: a write's own transaction, or its idempotent request's without a savepoint;
- ``uploads``: materials — type checked by content, random stored names, SHA-256;
- ``intake``: window intake (受理, 补正, 不予受理);
- ``export``: 办件查询's Excel export (audited).

Each write takes ``actor`` first, runs in a transaction and records an audit event.
"""
