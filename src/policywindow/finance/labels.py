"""Chinese names of the finance steps on the case timeline and in the operation log."""

from __future__ import annotations

TIMELINE_LABELS = {
    "publicize": "公示",
    "publicity_passed": "公示期满无异议",
    "objection": "收到公示异议",
    "objection_upheld": "异议成立，重新审核",
    "objection_dismissed": "异议不成立",
}
AUDIT_LABELS = {
    "budget.create": "新增预算",
    "budget.update": "修改预算",
    "budget.commit": "占用预算额度",
    "budget.release": "释放预算额度",
    "publicity.publish": "发布公示",
    "objection.file": "提出公示异议",
    "objection.uphold": "异议成立",
    "objection.dismiss": "异议不成立",
}
