"""Chinese names of the finance steps on the case timeline, in the operation log and in the
inbox."""

from __future__ import annotations

TIMELINE_LABELS = {
    "publicize": "公示",
    "publicity_passed": "公示期满无异议",
    "objection": "收到公示异议",
    "objection_upheld": "异议成立，重新审核",
    "objection_dismissed": "异议不成立",
    "finance_submit": "报送财政",
    "finance_receive": "财政签收",
    "finance_return": "财政退回",
    "disburse": "资金拨付",
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
    "finance.submit": "报送财政",
    "finance.receive": "财政签收",
    "finance.return": "财政退回",
    "finance.instructions": "导出支付指令",
    "disbursement.record": "登记拨付",
    "payment_import.upload": "上传拨付回单",
    "payment_import.confirm": "拨付回单确认入账",
}
NOTIFICATION_LABELS = {
    "finance_submitted": "财政报送",
    "finance_received": "财政签收",
    "finance_returned": "财政退回",
    "disbursed": "资金拨付",
}
