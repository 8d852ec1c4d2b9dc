"""The one message for a deadline computed again after a holiday year was loaded
(core/provisional.py): each app that tracks a deadline says whom it concerns and links it."""

from __future__ import annotations

from collections.abc import Iterable

from policywindow.core.deadlines import last_day
from policywindow.core.provisional import Moved
from policywindow.system.models import User

from .services import notify

KIND = "deadline_moved"  # labelled 期限重算 in models.KIND_LABELS


def tell_moved(recipients: Iterable[User], *, what: str, moved: Moved, link: str, key: str) -> int:
    """``what`` names the deadline ("申报 A-2027-0001 的办结期限"); ``key`` the deadline's row."""
    before, after = last_day(moved.before), last_day(moved.after)
    still = "（仍为暂定，待下一年度节假日安排导入后再次重算）" if moved.provisional else ""
    return notify(
        recipients,
        kind=KIND,
        subject=f"期限已重算：{what}"[:200],
        body=(
            f"节假日安排已导入，{what}由 {before:%Y-%m-%d}（暂定）重算为 {after:%Y-%m-%d}{still}。"
        ),
        link=link,
        dedupe_key=f"deadline:{key}:{after:%Y%m%d}",
    )
