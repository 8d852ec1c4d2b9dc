"""The one-time 补正 notice (一次性告知): which items to fix, each with a comment.

Shared by the window (补正 at intake) and the workflow (a reviewer returning a case to the
enterprise), so both notices read the same and are validated the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from policywindow.core import calendar, provisional
from policywindow.core.errors import ValidationFailed
from policywindow.system.params import get_param

from ..forms import ItemSpec
from ..models import Application, SupplementNotice
from ..selectors import form_items

MAX_COMMENT = 500


def items_by_key(application: Application) -> dict[str, ItemSpec]:
    return {item.key: item for item in form_items(application)}


def validated_supplement_items(
    application: Application, items: list[dict[str, str]]
) -> list[dict[str, str]]:
    """Every item to fix, each named once and with a comment; in the form's order."""
    known = items_by_key(application)
    errors: dict[str, list[str]] = {}
    chosen: dict[str, str] = {}
    for entry in items:
        key = str(entry.get("key", ""))
        comment = str(entry.get("comment", "")).strip()
        if key not in known:
            errors.setdefault("items", []).append(f"表单中没有要件项“{key}”")
            continue
        label = known[key].label
        if key in chosen:
            errors[f"items.{key}"] = ["同一要件只能列出一次"]
        elif not comment:
            errors[f"items.{key}"] = [f"请写明“{label}”需要如何补正"]
        elif len(comment) > MAX_COMMENT:
            errors[f"items.{key}"] = [f"补正说明不能超过 {MAX_COMMENT} 个字"]
        chosen[key] = comment
    if not chosen and not errors:
        errors["items"] = ["请至少选择一项需要补正的要件，并写明补正要求"]
    if errors:
        raise ValidationFailed("补正告知内容不完整", details=errors)
    return [
        {"key": key, "label": item.label, "comment": chosen[key]}
        for key, item in known.items()
        if key in chosen
    ]


def issue_notice(
    application: Application,
    items: list[dict[str, str]],
    comment: str,
    *,
    actor: Any,
    now: dt.datetime,
) -> SupplementNotice:
    """The notice on file, with the deadline it states (系统参数“补正期限”, in working days)."""
    due = calendar.deadline(now, int(get_param("general.supplement_days")))
    notice = SupplementNotice.objects.create(
        application=application,
        items=items,
        comment=comment,
        issued_by=actor,
        issued_at=now,
        respond_by=due.due_at,
    )
    provisional.remember("respond_by", [(notice, due)])
    return notice


def notice_data(notice: SupplementNotice) -> dict[str, Any]:
    """What the timeline line of a 补正 request records: the items and the deadline."""
    return {"items": notice.items, "respond_by": notice.respond_by.isoformat()}
