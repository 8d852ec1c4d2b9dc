"""Provisional (暂定) deadlines: kept with what they were computed from, computed again when
the holiday table changes under them.

A service that writes a deadline passes the ``calendar.Deadline`` to ``remember``; only a
provisional one leaves a ``ProvisionalDeadline`` row. Each app declares its deadline fields
once (``track``, in its ``AppConfig.ready``): which rows still run, and whom to tell when a
deadline moves. ``settle`` — called by the year load in its own transaction, and hourly by the
worker for whatever a concurrent write registered meanwhile — computes every such deadline
again from the table, writes the ones that moved (only where the stored value is still the one
computed: a deadline set anew since is left alone), drops the rows that are no longer
provisional and lets each app tell its people. Core imports no app: the tracked models are
reached through the app registry.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.apps import apps
from django.db import models, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django_tasks import task

from . import calendar
from .models import CalendarDay, ProvisionalDeadline
from .scheduler import every


@dataclass(frozen=True)
class Moved:
    """One deadline computed again: before and after, and whether it is still provisional."""

    object_id: int
    before: dt.datetime
    after: dt.datetime
    provisional: bool


@dataclass(frozen=True)
class Tracked:
    model: str  # "app_label.ModelName"
    field: str
    running: Callable[[], Q]  # the rows whose deadline still runs, as of now
    tell: Callable[[list[Moved]], None]  # in the settling transaction


TRACKED: dict[str, Tracked] = {}


def _target(model: type[models.Model] | str, field: str) -> str:
    label = model if isinstance(model, str) else model._meta.label
    return f"{label.lower()}.{field}"


def track(
    model: str, field: str, *, running: Callable[[], Q], tell: Callable[[list[Moved]], None]
) -> None:
    """Declare a deadline field that ``remember`` may be given (from ``AppConfig.ready``)."""
    TRACKED[_target(model, field)] = Tracked(model, field, running, tell)


def remember(field: str, written: Iterable[tuple[models.Model, calendar.Deadline]]) -> None:
    """After saving: keep the basis of every provisional deadline just written to ``field``
    (an earlier basis of the same row is replaced); nothing at all when none is provisional."""
    pairs = [(obj, due) for obj, due in written if due.provisional]
    if not pairs:
        return
    target = _target(type(pairs[0][0]), field)
    if target not in TRACKED:
        raise LookupError(f"{target} is not tracked: call provisional.track in AppConfig.ready")
    ids = [obj.pk for obj, _ in pairs]
    ProvisionalDeadline.objects.filter(target=target, object_id__in=ids).delete()
    now = timezone.now()
    ProvisionalDeadline.objects.bulk_create(
        ProvisionalDeadline(
            target=target,
            object_id=obj.pk,
            start=due.start,
            days=due.days,
            due_at=due.due_at,
            computed_at=now,
        )
        for obj, due in pairs
    )


def settle(*, everything: bool = True) -> dict[str, list[Moved]]:
    """Compute the remembered deadlines again from the table, in the caller's transaction.

    ``everything`` after a load; otherwise only those the table changed under since they were
    computed, or that the table now covers (written by a transaction that overlapped a load).
    Returns the moved deadlines per tracked field.
    """
    rows = ProvisionalDeadline.objects.order_by("target", "object_id")
    if not everything:
        rows = rows.filter(_stale())
    rows = list(rows)
    if not rows:
        return {}
    lookup = _table_from(min(r.start for r in rows))
    groups: dict[str, list[ProvisionalDeadline]] = defaultdict(list)
    for row in rows:
        groups[row.target].append(row)
    found = {}
    for target, group in groups.items():
        spec = TRACKED.get(target)
        if spec is None:  # an app no longer tracks it: nothing to compute
            ProvisionalDeadline.objects.filter(pk__in=[r.pk for r in group]).delete()
            continue
        moved = _settle_group(spec, group, lookup)
        if moved:
            spec.tell(moved)
            found[target] = moved
    return found


def _stale() -> Q:
    changed = CalendarDay.objects.aggregate(changed=Max("updated_at"))["changed"]
    until = calendar.loaded_until()
    if changed is None or until is None:  # an empty table covers nothing
        return Q(pk__in=[])
    covered_end = dt.datetime.combine(
        until + dt.timedelta(days=1), dt.time.min, tzinfo=calendar.SHANGHAI
    )
    return Q(computed_at__lt=changed) | Q(due_at__lte=covered_end)


def _table_from(first: dt.datetime) -> Callable[[dt.date], bool | None]:
    start = timezone.localdate(first)
    return dict(
        CalendarDay.objects.filter(date__gt=start).values_list("date", "is_working_day")
    ).get


def _settle_group(
    spec: Tracked, group: list[ProvisionalDeadline], lookup: Callable[[dt.date], bool | None]
) -> list[Moved]:
    model = apps.get_model(spec.model)
    current = dict(
        model._default_manager.filter(
            spec.running(), pk__in=[r.object_id for r in group]
        ).values_list("pk", spec.field)
    )
    moved, done, now = [], [], timezone.now()
    for row in group:
        if current.get(row.object_id) != row.due_at:  # finished, or set anew since
            done.append(row.pk)
            continue
        again = calendar.deadline(row.start, row.days, lookup)
        if again.due_at != row.due_at:
            model._default_manager.filter(pk=row.object_id, **{spec.field: row.due_at}).update(
                **{spec.field: again.due_at}
            )
            moved.append(Moved(row.object_id, row.due_at, again.due_at, again.provisional))
        if again.provisional:
            row.due_at, row.computed_at = again.due_at, now
            row.save(update_fields=["due_at", "computed_at"])
        else:
            done.append(row.pk)
    ProvisionalDeadline.objects.filter(pk__in=done).delete()
    return moved


@every(dt.timedelta(hours=1))
@task()
def settle_provisional_deadlines() -> int:
    """The worker's catch-up: deadlines registered while a year was being loaded."""
    with transaction.atomic():
        calendar.lock_for_load()
        return sum(len(moved) for moved in settle(everything=False).values())
