"""What the enterprise is told about its case: ONE table from a step on the timeline to a message.

Every timeline line passes through ``announce`` (``transitions.record_event`` calls it, inside the
caller's transaction, so the message and its SMS/e-mail outbox rows exist exactly when the step
committed). A status change found in ``MESSAGES`` — and the few steps without one in ``STEPS`` —
queues one inbox message, with SMS, to each user of the *enterprise* (its 经办人): never to the
clerk who filed it at the counter, nor to any other staff member; staff hear of their work
through their own messages (待办, 超期, 异议待处理 …).

``SILENT`` names every other allowed status change and why it tells nobody;
``tests/applications/test_applicant_notices.py`` walks ``transitions.ALLOWED`` and fails on a
change that is in neither table. Two changes are quiet only for 免申即享 cases
(``AUTO_GRANT_QUIET``): the enterprise hears of those from matching's own message, with the
link to decline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse

from policywindow.core.deadlines import last_day, provisional_words
from policywindow.core.money import format_yuan
from policywindow.notifications.services import notify
from policywindow.system.models import User

from .models import Application, ApplicationEvent
from .models import ApplicationStatus as S

# Inbox labels of the kinds below (registered in ApplicationsConfig.ready).
KIND_LABELS: dict[str, str] = {
    "case_submitted": "申报已提交",
    "case_accepted": "受理通知",
    "supplement_requested": "补正通知",
    "supplement_received": "补正已收到",
    "case_not_accepted": "不予受理",
    "case_decided": "办理结果",
    "case_publicity": "公示",
    "objection_upheld": "异议成立",
    "fund_form_issued": "经费审批表",
    "case_in_finance": "报送财政",
    "disbursed": "资金拨付",
    "case_archived": "办结归档",
    "case_withdrawn": "申报撤回",
}


def appeal(document: str = "决定书") -> str:
    """The right to appeal a decision, as the document that states the decision words it."""
    return (
        f"如不服本决定，可在收到本{document}之日起六十日内依法申请行政复议，"
        "或者在六个月内依法提起行政诉讼。"
    )


@dataclass(frozen=True)
class Message:
    kind: str
    subject: str
    body: str


Compose = Callable[[ApplicationEvent], "Message | None"]


def _date(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def _title(event: ApplicationEvent) -> str:
    return f"“{event.application.rule_version.title}”（申报编号 {event.application.number}）"


def _is_auto_grant(event: ApplicationEvent) -> bool:
    eligibility = event.application.eligibility
    return isinstance(eligibility, dict) and bool(eligibility.get("auto_grant"))


# ---------------------------------------------------------------- one composer per step


def _submitted(event: ApplicationEvent) -> Message | None:
    if _is_auto_grant(event):
        return None
    app = event.application
    return Message(
        "case_submitted",
        f"申报已提交：{app.number}",
        f"您的申报{_title(event)}已提交，等待窗口受理。可在“我的申报”中下载申报回执、查看办理进度。",
    )


def _accepted(event: ApplicationEvent) -> Message | None:
    if _is_auto_grant(event):
        return None
    app = event.application
    due = _date(last_day(app.due_at))
    limit = f"，承诺于 {due}{provisional_words(app.due_at)} 前作出审核决定" if due else ""
    return Message(
        "case_accepted",
        f"申报已受理：{app.number}",
        f"您的申报{_title(event)}已受理，进入审核{limit}。受理通知书可在“我的申报”中下载。",
    )


def _supplement(event: ApplicationEvent) -> Message:
    items = [item for item in event.data.get("items", []) if isinstance(item, dict)]
    listed = "；".join(
        f"{n}. {item.get('label', '')}：{item.get('comment', '')}"
        for n, item in enumerate(items, start=1)
    )
    respond_by = event.data.get("respond_by")
    due = dt.datetime.fromisoformat(respond_by) if respond_by else None
    deadline = f"请于 {_date(last_day(due))}{provisional_words(due)} 前" if due else "请"
    note = f"说明：{event.note}。" if event.note else ""
    return Message(
        "supplement_requested",
        f"申报需补正：{event.application.number}",
        f"您的申报{_title(event)}需补正以下 {len(items)} 项：{listed}。{note}"
        f"{deadline}登录后在“我的申报”中按补正告知书一次性补正并重新提交。",
    )


def _supplement_received(event: ApplicationEvent) -> Message:
    back_to = "窗口受理" if event.to_status == S.SUBMITTED else "审核（办理时限继续计算）"
    return Message(
        "supplement_received",
        f"补正材料已收到：{event.application.number}",
        f"您为申报{_title(event)}提交的补正材料已收到，已转回{back_to}。",
    )


def _not_accepted(event: ApplicationEvent) -> Message:
    return Message(
        "case_not_accepted",
        f"申报不予受理：{event.application.number}",
        f"您的申报{_title(event)}经窗口审查，决定不予受理。理由：{event.note}。{appeal()}"
        "不予受理决定书可在“我的申报”中下载。",
    )


def _approved(event: ApplicationEvent) -> Message:
    app = event.application
    approved = _amount(event.data.get("approved_amount"))
    requested = _amount(event.data.get("requested_amount"))
    money = f"核定金额 {format_yuan(approved)}" if approved is not None else ""
    if approved is not None and requested is not None and approved < requested:
        reasons = "；".join(
            str(r.get("reason", ""))
            for r in event.data.get("reductions", [])
            if isinstance(r, dict)
        )
        money += f"（申请金额 {format_yuan(requested)}，核减 {format_yuan(requested - approved)}"
        money += f"；核减理由：{reasons}）" if reasons else "）"
    return Message(
        "case_decided",
        f"审核通过：{app.number}",
        f"您的申报{_title(event)}审核通过{'，' + money if money else ''}。"
        "审核通过的事项将依规公示，公示无异议后由财政部门拨付。审核结果告知书可在“我的申报”中下载。",
    )


def _rejected(event: ApplicationEvent) -> Message:
    reason = _last_note(event.application, "review_reject")
    return Message(
        "case_decided",
        f"审核不通过：{event.application.number}",
        f"您的申报{_title(event)}审核不通过。{'审核意见：' + reason + '。' if reason else ''}"
        f"{appeal('告知书')}审核结果告知书可在“我的申报”中下载。",
    )


def _publicity(event: ApplicationEvent) -> Message:
    return Message(
        "case_publicity",
        f"进入公示：{event.application.number}",
        f"您的申报{_title(event)}已进入公示（{event.note}）。公示期间如有异议，将由牵头部门核查。",
    )


def _publicity_passed(event: ApplicationEvent) -> Message:
    return Message(
        "case_publicity",
        f"公示期满：{event.application.number}",
        f"您的申报{_title(event)}公示期满，未收到异议或异议不成立，将按程序出具经费审批表并报送财政。",
    )


def _objection_upheld(event: ApplicationEvent) -> Message:
    return Message(
        "objection_upheld",
        f"公示异议成立，重新审核：{event.application.number}",
        f"您的申报{_title(event)}在公示期间收到的异议经核查成立，已退回重新审核。{event.note}。",
    )


def _in_finance(event: ApplicationEvent) -> Message:
    return Message(
        "case_in_finance",
        f"已报送财政：{event.application.number}",
        f"您的申报{_title(event)}已报送财政部门，等待拨付。",
    )


def _disbursed(event: ApplicationEvent) -> Message:
    amount = _amount(event.data.get("amount"))
    paid_on = event.data.get("paid_on")
    when = f"已于 {_date(dt.date.fromisoformat(paid_on))} " if paid_on else "已"
    return Message(
        "disbursed",
        f"政策兑现资金已拨付：{event.application.number}",
        f"您申报的{_title(event)}核定资金 {format_yuan(amount)} {when}拨付至贵单位登记的银行账户，"
        "请注意查收。",
    )


def _archived(event: ApplicationEvent) -> Message:
    return Message(
        "case_archived",
        f"已办结：{event.application.number}",
        f"您的申报{_title(event)}已拨付到位，办件已办结归档。",
    )


def _withdrawn(event: ApplicationEvent) -> Message:
    return Message(
        "case_withdrawn",
        f"申报已撤回：{event.application.number}",
        f"您的申报{_title(event)}已撤回，办理终止。{event.note}",
    )


def _fund_form(event: ApplicationEvent) -> Message:
    return Message(
        "fund_form_issued",
        f"经费审批表已出具：{event.application.number}",
        f"您的申报{_title(event)}已出具政策兑现经费审批表（{event.note}），"
        "可在法人空间下载并验证签章。",
    )


# ---------------------------------------------------------------- the one table

MESSAGES: dict[tuple[str, str], Compose] = {
    (S.DRAFT, S.SUBMITTED): _submitted,
    (S.SUBMITTED, S.IN_REVIEW): _accepted,
    (S.SUBMITTED, S.SUPPLEMENT_REQUIRED): _supplement,
    (S.SUBMITTED, S.NOT_ACCEPTED): _not_accepted,
    (S.SUBMITTED, S.WITHDRAWN): _withdrawn,
    (S.SUPPLEMENT_REQUIRED, S.SUBMITTED): _supplement_received,
    (S.SUPPLEMENT_REQUIRED, S.IN_REVIEW): _supplement_received,
    (S.SUPPLEMENT_REQUIRED, S.WITHDRAWN): _withdrawn,
    (S.IN_REVIEW, S.APPROVED): _approved,
    (S.IN_REVIEW, S.REJECTED): _rejected,
    (S.IN_REVIEW, S.SUPPLEMENT_REQUIRED): _supplement,
    (S.IN_REVIEW, S.WITHDRAWN): _withdrawn,
    (S.APPROVED, S.IN_PUBLICITY): _publicity,
    (S.APPROVED, S.IN_FINANCE): _in_finance,
    (S.IN_PUBLICITY, S.PUBLICITY_PASSED): _publicity_passed,
    (S.OBJECTION, S.PUBLICITY_PASSED): _publicity_passed,
    (S.OBJECTION, S.IN_REVIEW): _objection_upheld,
    (S.PUBLICITY_PASSED, S.IN_FINANCE): _in_finance,
    (S.IN_FINANCE, S.DISBURSED): _disbursed,
    (S.DISBURSED, S.ARCHIVED): _archived,
}
# Steps that change no status but matter to the enterprise, by timeline action.
STEPS: dict[str, Compose] = {"fund_form": _fund_form}
SILENT: dict[tuple[str, str], str] = {
    (S.DRAFT, S.WITHDRAWN): "未提交的草稿没有申报编号，也未进入办理；放弃草稿不是办理结果",
    (S.IN_PUBLICITY, S.OBJECTION): (
        "异议核查期间不向被异议企业披露异议及异议人信息；核查结论改变办件时（异议成立）再告知"
    ),
    (S.OBJECTION, S.IN_PUBLICITY): "异议不成立且公示期未满：办件按原公示继续，对企业没有变化",
    (S.IN_FINANCE, S.PUBLICITY_PASSED): (
        "财政退回汇总表是政府内部流转，企业无需操作；重新报送财政时再次告知"
    ),
}
AUTO_GRANT_QUIET: dict[tuple[str, str], str] = {
    (S.DRAFT, S.SUBMITTED): "免申即享由系统立案，企业收到 matching 的“免申即享”消息（含放弃入口）",
    (S.SUBMITTED, S.IN_REVIEW): "同上：立案与受理同时发生，只发一条“免申即享”消息",
}


def message_for(event: ApplicationEvent) -> Message | None:
    """What the enterprise is told about this timeline line, or None."""
    if event.to_status:
        compose = MESSAGES.get((event.from_status, event.to_status))
    else:
        compose = STEPS.get(event.action)
    return compose(event) if compose is not None else None


def announce(event: ApplicationEvent) -> int:
    """Queue the step's message to the enterprise's users in the caller's transaction; returns
    how many inbox messages were created (once per timeline line)."""
    message = message_for(event)
    if message is None:
        return 0
    application = event.application
    return notify(
        enterprise_users(application),
        kind=message.kind,
        subject=message.subject[:200],
        body=message.body,
        link=reverse("applications:my_detail", args=[application.pk]),
        dedupe_key=dedupe_key(event),
        sms=True,
    )


def dedupe_key(event: ApplicationEvent) -> str:
    """The key of the messages of one timeline line (numbering finds them by it)."""
    return f"case:{event.application_id}:event:{event.pk}"


def enterprise_users(application: Application) -> list[User]:
    """The applicant: every enterprise user acting for the case's enterprise."""
    return list(
        User.objects.filter(
            kind=User.Kind.ENTERPRISE,
            enterprise_membership__enterprise_id=application.enterprise_id,
        ).order_by("pk")
    )


# ---------------------------------------------------------------- helpers


def _amount(text: object) -> Decimal | None:
    return Decimal(str(text)) if text not in (None, "") else None


def _last_note(application: Application, action: str) -> str:
    return (
        ApplicationEvent.objects.filter(application=application, action=action)
        .order_by("-occurred_at", "-id")
        .values_list("note", flat=True)
        .first()
        or ""
    )
