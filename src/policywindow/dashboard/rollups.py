"""The data board's rollups: every application's contribution to the board, summed per key and
maintained by the database itself as cases change.

**Facts.** An application counts in at most three ways (``FACTS``; the words of
``figures.py`` and ``applications.selectors_review.CASE_ON_TIME``):

- *filed* — submitted (not a draft): one case on its local submission day, with its status, rule,
  lead department, the city of its enterprise's region and its approved amount;
- *decided* — accepted, due and decided: one case on its local decision day, whether it was
  decided by its deadline, and the time from acceptance to decision (microseconds);
- *open* — in review and undecided, with a deadline: one case at its deadline, so "overdue as of
  now" is a range read (deadline before now) — the only figure that depends on the clock.

**Maintenance.** Triggers on the applications table append a ``RollupChange`` row per fact that
changed — minus what the case counted before, plus what it counts now — in the transaction of
the change, whoever makes it (``transitions.move``, a queryset ``update()`` of a deadline moved
by a newly loaded holiday year, the demo loader, hand-written hot-path SQL). A trigger on
enterprises moves a case between cities when its enterprise's region changes. Append-only:
no request updates a shared row (issue 16), and no request runs an extra statement. The worker
folds the changes into ``Rollup`` every minute (``compact``), by day and by whole month; the
board reads both tables in one statement (one snapshot), so a figure is exact whether or not
the worker has run. ``rebuild`` recounts everything from the applications (first install, bulk
loads that bypass triggers, a repair).

Both dialects are generated here from the one definition of each fact. Applications are never
deleted (they are archived), so there is no delete trigger: SQLite's ``flush`` deletes tables
in no fixed order and would leave changes behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.money import CENT
from policywindow.enterprises.models import Enterprise
from policywindow.workflow.selectors import Period

from .models import Grain, Kind, Rollup, RollupChange

# Bump when a fact changes: ``ensure_installed`` then replaces the triggers and recounts.
VERSION = 1
PREFIX = "dashboard_rollup_"
NAME = f"{PREFIX}v{VERSION}"
# Days are cut in the product's zone (settings.TIME_ZONE, checked when installing). It has had
# no daylight saving since 1991, so SQLite's fixed offset is the same zone.
ZONE = "Asia/Shanghai"
SQLITE_SHIFT = ("+8 hours", "-8 hours")

APPS = Application._meta.db_table
ENTERPRISES = Enterprise._meta.db_table
ROLLUP = Rollup._meta.db_table
CHANGES = RollupChange._meta.db_table
KEYS = ("kind", "at", "month", "status", "rule_id", "department_id", "city")
SUMS = ("cases", "amount", "on_time", "duration_us")
UNIQUE = ("grain", "kind", "at", "status", "rule_id", "department_id", "city")
GROUP_KEYS = "GROUP BY " + ", ".join(str(n) for n in range(1, len(KEYS) + 1))


# --------------------------------------------------------------------------- the two dialects
@dataclass(frozen=True)
class Dialect:
    postgres: bool

    def day(self, moment: str) -> str:
        """The local midnight that starts ``moment``'s day (a timestamp)."""
        if self.postgres:
            return f"date_trunc('day', {moment}, '{ZONE}')"
        ahead, back = SQLITE_SHIFT
        return f"datetime({moment}, '{ahead}', 'start of day', '{back}')"

    def month(self, moment: str) -> str:
        """The first local date of ``moment``'s month."""
        if self.postgres:
            return f"date_trunc('month', {moment} AT TIME ZONE '{ZONE}')::date"
        return f"date({moment}, '{SQLITE_SHIFT[0]}', 'start of month')"

    def month_start(self, month: str) -> str:
        """The local midnight starting the month whose first date is ``month``."""
        if self.postgres:
            return f"({month}::timestamp AT TIME ZONE '{ZONE}')"
        return f"datetime({month}, '{SQLITE_SHIFT[1]}')"

    def micros(self, later: str, earlier: str) -> str:
        """``later − earlier`` in whole microseconds (exact on both)."""
        if self.postgres:
            return f"(extract(epoch FROM {later} - {earlier}) * 1000000)::bigint"

        # Django stores 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC: seconds, then the fraction.
        def fraction(moment: str) -> str:
            return f"CAST(substr({moment} || '.000000', 21, 6) AS INTEGER)"

        seconds = (
            f"CAST(strftime('%s', {later}) AS INTEGER) - CAST(strftime('%s', {earlier}) AS INTEGER)"
        )
        return f"(({seconds}) * 1000000 + {fraction(later)} - {fraction(earlier)})"

    def changed(self, columns: Iterable[str]) -> str:
        """Whether an update changed any of ``columns`` (NULL-safe)."""
        op = "IS DISTINCT FROM" if self.postgres else "IS NOT"
        return "(" + " OR ".join(f"OLD.{c} {op} NEW.{c}" for c in columns) + ")"


def dialect(connection: Any) -> Dialect:
    return Dialect(connection.vendor == "postgresql")


# --------------------------------------------------------------------------- the facts
@dataclass(frozen=True)
class Fact:
    """One way an application counts: its key and sums as SQL over row ``r``, and the columns
    they read (an update re-counts the fact only when one of them changed)."""

    kind: str
    inputs: tuple[str, ...]
    expressions: Callable[[Dialect, str, str], tuple[dict[str, str], dict[str, str], str]]

    def counts(self, d: Dialect, r: str) -> str:
        """Whether row ``r`` counts in this fact, as SQL."""
        return self.expressions(d, r, "''")[2]

    def select(
        self, d: Dialect, r: str, city: str, sign: int, *, source: str = "", extra: str = ""
    ) -> str:
        """The fact's row (or, with ``source`` — a FROM clause — its rows summed per key)."""
        keys, sums, when = self.expressions(d, r, city)
        if extra:
            when = f"{when} AND {extra}"
        if source:
            values = [*keys.values(), *(f"{sign} * sum({e})" for e in sums.values())]
            return f"SELECT {', '.join(values)} FROM {source} WHERE {when} {GROUP_KEYS}"
        values = [*keys.values(), *(f"{sign} * ({e})" for e in sums.values())]
        return f"SELECT {', '.join(values)} WHERE {when}"


def _filed(d: Dialect, r: str, city: str) -> tuple[dict[str, str], dict[str, str], str]:
    keys = {
        "kind": f"'{Kind.FILED}'",
        "at": d.day(f"{r}.submitted_at"),
        "month": d.month(f"{r}.submitted_at"),
        "status": f"{r}.status",
        "rule_id": f"{r}.rule_id",
        "department_id": f"{r}.department_id",
        "city": city,
    }
    sums = {
        "cases": "1",
        "amount": f"coalesce({r}.approved_amount, 0)",
        "on_time": "0",
        "duration_us": "0",
    }
    when = f"{r}.submitted_at IS NOT NULL AND {r}.status <> '{S.DRAFT}'"
    return keys, sums, when


def _decided(d: Dialect, r: str, city: str) -> tuple[dict[str, str], dict[str, str], str]:
    keys = {
        "kind": f"'{Kind.DECIDED}'",
        "at": d.day(f"{r}.decided_at"),
        "month": d.month(f"{r}.decided_at"),
        "status": "''",
        "rule_id": f"{r}.rule_id",
        "department_id": f"{r}.department_id",
        "city": "''",
    }
    sums = {
        "cases": "1",
        "amount": "0",
        "on_time": f"CASE WHEN {r}.decided_at <= {r}.due_at THEN 1 ELSE 0 END",
        "duration_us": d.micros(f"{r}.decided_at", f"{r}.accepted_at"),
    }
    when = f"{r}.decided_at IS NOT NULL AND {r}.due_at IS NOT NULL AND {r}.accepted_at IS NOT NULL"
    return keys, sums, when


def _open(d: Dialect, r: str, city: str) -> tuple[dict[str, str], dict[str, str], str]:
    keys = {
        "kind": f"'{Kind.OPEN}'",
        "at": f"{r}.due_at",
        "month": d.month(f"{r}.due_at"),
        "status": "''",
        "rule_id": f"{r}.rule_id",
        "department_id": f"{r}.department_id",
        "city": "''",
    }
    sums = {"cases": "1", "amount": "0", "on_time": "0", "duration_us": "0"}
    when = (
        f"{r}.status = '{S.IN_REVIEW}' AND {r}.decided_at IS NULL"
        f" AND {r}.accepted_at IS NOT NULL AND {r}.due_at IS NOT NULL"
    )
    return keys, sums, when


FILED = Fact(
    Kind.FILED,
    ("submitted_at", "status", "rule_id", "department_id", "enterprise_id", "approved_amount"),
    _filed,
)
FACTS = (
    FILED,
    Fact(
        Kind.DECIDED,
        ("decided_at", "due_at", "accepted_at", "rule_id", "department_id"),
        _decided,
    ),
    Fact(
        Kind.OPEN,
        ("status", "decided_at", "accepted_at", "due_at", "rule_id", "department_id"),
        _open,
    ),
)
INPUTS = tuple(dict.fromkeys(column for fact in FACTS for column in fact.inputs))


def _city_of(enterprise_id: str) -> str:
    """The city (地级市: the first four digits of the region code) of an enterprise, as SQL."""
    return (
        f"coalesce((SELECT substr(e.region_id, 1, 4) FROM {ENTERPRISES} e"
        f" WHERE e.id = {enterprise_id}), '')"
    )


# --------------------------------------------------------------------------- the triggers
def _insert_changes(selects: Sequence[str]) -> str:
    return f"INSERT INTO {CHANGES} ({', '.join(KEYS + SUMS)}) " + " UNION ALL ".join(selects)


def _case_changes(d: Dialect, *, update: bool) -> str:
    """What a change of one application appends: for each fact whose inputs changed, minus
    the old row's contribution and plus the new row's."""
    selects = []
    for side, sign in (("OLD", -1), ("NEW", 1)) if update else (("NEW", 1),):
        for fact in FACTS:
            extra = d.changed(fact.inputs) if update else ""
            selects.append(
                fact.select(d, side, _city_of(f"{side}.enterprise_id"), sign, extra=extra)
            )
    return _insert_changes(selects)


def _region_changes(d: Dialect) -> str:
    """An enterprise moved: its filed cases leave the old city and join the new one."""
    source = f"{APPS} a"
    mine = "a.enterprise_id = NEW.id"
    old = FILED.select(
        d, "a", "coalesce(substr(OLD.region_id, 1, 4), '')", -1, source=source, extra=mine
    )
    new = FILED.select(
        d, "a", "coalesce(substr(NEW.region_id, 1, 4), '')", 1, source=source, extra=mine
    )
    return _insert_changes([old, new])


def _counts_anything(d: Dialect) -> str:
    """An inserted row that counts in some fact (a new draft does not: no trigger runs)."""
    return "(" + " OR ".join(f"({fact.counts(d, 'NEW')})" for fact in FACTS) + ")"


def _postgres_ddl(d: Dialect) -> list[str]:
    columns = ", ".join(INPUTS)
    filed_new, filed_old, filed_a = (FILED.counts(d, r) for r in ("NEW", "OLD", "a"))
    # Locks, so that a case and its enterprise's region are counted together (READ COMMITTED):
    # a region change waits for its filed cases' changes in flight, and a case becoming filed
    # waits for a region change in flight (submitting already locks the enterprise row).
    # Drafts are not waited for: filing.submit locks the draft, then the enterprise.
    share_enterprise = f"PERFORM 1 FROM {ENTERPRISES} WHERE id = NEW.enterprise_id FOR SHARE;"
    return [
        f"""CREATE OR REPLACE FUNCTION {NAME}_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF {filed_new} THEN
            {share_enterprise}
        END IF;
        {_case_changes(d, update=False)};
    ELSE
        IF ({filed_new}) AND NOT ({filed_old}) THEN
            {share_enterprise}
        END IF;
        {_case_changes(d, update=True)};
    END IF;
    RETURN NULL;
END $$""",
        f"""CREATE OR REPLACE FUNCTION {NAME}_region() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM {APPS} a WHERE a.enterprise_id = NEW.id AND {filed_a} FOR SHARE;
    {_region_changes(d)};
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER {NAME}_case_insert AFTER INSERT ON {APPS} FOR EACH ROW"
        f" WHEN {_counts_anything(d)} EXECUTE FUNCTION {NAME}_case()",
        f"CREATE TRIGGER {NAME}_case_update AFTER UPDATE OF {columns} ON {APPS} FOR EACH ROW"
        f" WHEN {d.changed(INPUTS)} EXECUTE FUNCTION {NAME}_case()",
        f"CREATE TRIGGER {NAME}_region AFTER UPDATE OF region_id ON {ENTERPRISES} FOR EACH ROW"
        f" WHEN {d.changed(['region_id'])} EXECUTE FUNCTION {NAME}_region()",
    ]


def _sqlite_ddl(d: Dialect) -> list[str]:
    columns = ", ".join(INPUTS)
    return [
        f"CREATE TRIGGER {NAME}_case_insert AFTER INSERT ON {APPS} FOR EACH ROW"
        f" WHEN {_counts_anything(d)} BEGIN {_case_changes(d, update=False)}; END",
        f"CREATE TRIGGER {NAME}_case_update AFTER UPDATE OF {columns} ON {APPS} FOR EACH ROW"
        f" WHEN {d.changed(INPUTS)} BEGIN {_case_changes(d, update=True)}; END",
        f"CREATE TRIGGER {NAME}_region AFTER UPDATE OF region_id ON {ENTERPRISES} FOR EACH ROW"
        f" WHEN {d.changed(['region_id'])} BEGIN {_region_changes(d)}; END",
    ]


def _installed(cursor: Any, postgres: bool) -> list[tuple[str, str]]:
    """(trigger, table) of every rollup trigger in the database, whatever its version."""
    if postgres:
        cursor.execute(
            "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal AND t.tgname LIKE %s",
            [f"{PREFIX}%"],
        )
    else:
        cursor.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
            [f"{PREFIX}%"],
        )
    return list(cursor.fetchall())


def _drop(cursor: Any, postgres: bool) -> None:
    for name, table in _installed(cursor, postgres):
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
    if postgres:
        cursor.execute("SELECT proname FROM pg_proc WHERE proname LIKE %s", [f"{PREFIX}%"])
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")


def ensure_installed(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Install this version's triggers and recount, unless they are there (after ``migrate``:
    SQLite drops a table's triggers when a migration rebuilds the table). True if installed."""
    if settings.TIME_ZONE != ZONE:
        raise ImproperlyConfigured(
            f"看板汇总按 {ZONE} 切分日期，TIME_ZONE 不能改为 {settings.TIME_ZONE}"
        )
    connection = connections[using]
    d = dialect(connection)
    expected = {f"{NAME}_case_insert", f"{NAME}_case_update", f"{NAME}_region"}
    with transaction.atomic(using), connection.cursor() as cursor:
        if not {APPS, ENTERPRISES, ROLLUP, CHANGES} <= set(
            connection.introspection.table_names(cursor)
        ):
            return False  # a partial ``migrate``: the tables come later
        if {name for name, _table in _installed(cursor, d.postgres)} == expected:
            return False
        _drop(cursor, d.postgres)
        for statement in _postgres_ddl(d) if d.postgres else _sqlite_ddl(d):
            cursor.execute(statement)
        rebuild(using)
    return True


def uninstall(using: str = DEFAULT_DB_ALIAS) -> None:
    connection = connections[using]
    with transaction.atomic(using), connection.cursor() as cursor:
        _drop(cursor, dialect(connection).postgres)


# --------------------------------------------------------------------------- rebuild, compact
def _upsert(grain: str, select: str) -> str:
    """``select``'s rows (keys, sums) added into ``Rollup`` at ``grain``."""
    updates = ", ".join(f"{s} = {ROLLUP}.{s} + excluded.{s}" for s in SUMS)
    columns = ", ".join(("grain", *KEYS, *SUMS))
    return (
        f"INSERT INTO {ROLLUP} ({columns}) SELECT '{grain}', * FROM ({select}) AS adding"
        f" WHERE true ON CONFLICT ({', '.join(UNIQUE)}) DO UPDATE SET {updates}"
    )


def _by_month(d: Dialect, source: str) -> str:
    """Day rows of ``source`` summed per month (open cases stay at their deadlines)."""
    keys = ["kind", d.month_start("month"), "month", *KEYS[3:]]
    sums = ", ".join(f"sum({s})" for s in SUMS)
    return (
        f"SELECT {', '.join(keys)}, {sums} FROM {source} WHERE kind <> '{Kind.OPEN}'"
        f" GROUP BY kind, month, {', '.join(KEYS[3:])}"
    )


def _by_day(source: str) -> str:
    sums = ", ".join(f"sum({s})" for s in SUMS)
    return f"SELECT {', '.join(KEYS)}, {sums} FROM {source} {GROUP_KEYS}"


def rebuild(using: str = DEFAULT_DB_ALIAS) -> None:
    """Recount every rollup from the applications (the writers wait meanwhile on PostgreSQL)."""
    connection = connections[using]
    d = dialect(connection)
    source = f"{APPS} a JOIN {ENTERPRISES} e ON e.id = a.enterprise_id"
    city = "coalesce(substr(e.region_id, 1, 4), '')"
    with transaction.atomic(using), connection.cursor() as cursor:
        if d.postgres:
            cursor.execute(f"LOCK TABLE {APPS}, {ENTERPRISES} IN SHARE MODE")
        cursor.execute(f"DELETE FROM {CHANGES}")
        cursor.execute(f"DELETE FROM {ROLLUP}")
        for fact in FACTS:
            cursor.execute(_upsert(Grain.DAY, fact.select(d, "a", city, 1, source=source)))
        cursor.execute(
            _upsert(
                Grain.MONTH,
                _by_month(d, f"(SELECT * FROM {ROLLUP} WHERE grain = '{Grain.DAY}') AS days"),
            )
        )
        if d.postgres:
            cursor.execute(f"ANALYZE {ROLLUP}")


def compact(using: str = DEFAULT_DB_ALIAS) -> int:
    """Fold the appended changes into the day and month rows; returns how many were folded.

    On PostgreSQL one statement deletes the changes it sees and adds exactly those (a change
    committed meanwhile stays for the next run); SQLite has one writer at a time."""
    connection = connections[using]
    d = dialect(connection)
    with transaction.atomic(using), connection.cursor() as cursor:
        if d.postgres:
            cursor.execute(
                f"WITH moved AS (DELETE FROM {CHANGES} RETURNING *),"
                f" days AS ({_upsert(Grain.DAY, _by_day('moved'))} RETURNING 1),"
                f" months AS ({_upsert(Grain.MONTH, _by_month(d, 'moved'))} RETURNING 1)"
                " SELECT count(*) FROM moved"
            )
            (folded,) = cursor.fetchone()
        else:
            cursor.execute(f"SELECT max(id), count(*) FROM {CHANGES}")
            top, folded = cursor.fetchone()
            if not folded:
                return 0
            source = f"(SELECT * FROM {CHANGES} WHERE id <= {int(top)}) AS moved"
            cursor.execute(_upsert(Grain.DAY, _by_day(source)))
            cursor.execute(_upsert(Grain.MONTH, _by_month(d, source)))
            cursor.execute(f"DELETE FROM {CHANGES} WHERE id <= {int(top)}")
        cursor.execute(f"DELETE FROM {ROLLUP} WHERE cases = 0")
    return folded


# --------------------------------------------------------------------------- the board's read
class Count(NamedTuple):
    """The sums of the cases of one kind and status in one row of a table: ``table`` is
    ``rule``, ``department``, ``city`` or ``month`` and ``key`` the rule's or department's id,
    the city code (first four digits) or the first local date of the month."""

    table: str
    kind: str
    key: int | str | dt.date
    status: str
    cases: int
    amount: Decimal
    on_time: int
    duration_us: int


# The board's tables, each a GROUP BY over the period's rows: (table, key column, kinds).
TABLES = (
    ("rule", "rule_id", (Kind.FILED,)),
    ("department", "department_id", (Kind.FILED, Kind.DECIDED, Kind.OPEN)),
    ("city", "city", (Kind.FILED,)),
    ("month", "month", (Kind.FILED,)),
)
KEY_OF = {
    "rule": int,
    "department": int,
    "city": str,
    "month": dt.date.fromisoformat,
}


def _whole_months(period: Period) -> tuple[dt.date, dt.date]:
    """The first and the after-last day of the whole months within ``period`` (equal when
    there are none); the days before and after them are read by day."""
    after = period.end + dt.timedelta(days=1)
    first = period.start
    if first.day != 1:
        first = (first.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    last = after if after.day == 1 else period.end.replace(day=1)
    return (first, last) if first < last else (after, after)


def counts(
    department_ids: Sequence[int] | None, period: Period, now: dt.datetime | None = None
) -> list[Count]:
    """Filed and decided cases of the period's local dates, and open cases whose deadline fell
    in it before ``now``, within ``department_ids`` (``None``: all), summed per table row and
    status. One statement (one snapshot) over the compacted rows — whole months by month, the
    rest by day — and the changes not yet folded in; each table grouped by the database."""
    if department_ids is not None and not department_ids:
        return []
    connection = connections[DEFAULT_DB_ALIAS]
    tz = timezone.get_current_timezone()

    def moment(day: dt.date | dt.datetime) -> Any:
        if not isinstance(day, dt.datetime):
            day = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
        return connection.ops.adapt_datetimefield_value(day)

    first, after = period.bounds()
    start, end, cutoff = moment(first), moment(after), moment(min(after, now or timezone.now()))
    month_start, month_end = (moment(day) for day in _whole_months(period))
    scope, scope_params = "", []
    if department_ids is not None:
        scope = f" AND department_id IN ({', '.join(['%s'] * len(department_ids))})"
        scope_params = list(department_ids)
    counted = f"kind IN ('{Kind.FILED}', '{Kind.DECIDED}')"
    is_open = f"kind = '{Kind.OPEN}'"
    days = f"{ROLLUP} WHERE grain = '{Grain.DAY}'"
    parts = [
        (
            f"{ROLLUP} WHERE grain = '{Grain.MONTH}' AND {counted} AND at >= %s AND at < %s",
            [month_start, month_end],
        ),
        (
            f"{days} AND {counted} AND (at >= %s AND at < %s OR at >= %s AND at < %s)",
            [start, month_start, month_end, end],
        ),
        (f"{days} AND {is_open} AND at >= %s AND at < %s", [start, cutoff]),
        (f"{CHANGES} WHERE {counted} AND at >= %s AND at < %s", [start, end]),
        (f"{CHANGES} WHERE {is_open} AND at >= %s AND at < %s", [start, cutoff]),
    ]
    columns = ", ".join(c for c in KEYS + SUMS if c != "at")
    rows = " UNION ALL ".join(f"SELECT {columns} FROM {where}{scope}" for where, _ in parts)
    params = [value for _, values in parts for value in (*values, *scope_params)]
    sums = ", ".join(f"sum({s})" for s in SUMS)
    tables = " UNION ALL ".join(
        f"SELECT '{table}', kind, CAST({column} AS TEXT), status, {sums} FROM part"
        f" WHERE kind IN ({_listed(kinds)})"
        f" GROUP BY kind, {column}, status"
        for table, column, kinds in TABLES
    )
    with connection.cursor() as cursor:
        cursor.execute(f"WITH part AS ({rows}) {tables}", params)
        found = cursor.fetchall()
    return [_count(row) for row in found]


def _listed(kinds: Iterable[str]) -> str:
    return ", ".join(f"'{kind}'" for kind in kinds)


def _count(row: Sequence[Any]) -> Count:
    table, kind, key, status, cases, amount, on_time, duration = row
    return Count(
        table,
        kind,
        KEY_OF[table](key),
        status,
        int(cases),
        Decimal(str(amount)).quantize(CENT),
        int(on_time),
        int(duration),
    )
