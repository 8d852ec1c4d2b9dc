"""The big data set of the to-do list benchmark: N applications with N × T workflow tasks.

Set-based SQL only — ``INSERT … SELECT`` over ``generate_series`` and one ``COPY`` for the
enterprises (their credit codes carry a check character computed in Python) — on a
connection of its own, in one transaction. The product's secondary indexes on the three big
tables are dropped first and rebuilt from their own definitions afterwards (a sorted build
is several times faster than maintaining them row by row); primary keys and unique
constraints stay. Foreign keys are not checked row by row (``session_replication_role =
replica``, which also skips the data board's rollup triggers: the rollups are rebuilt at the
end); ``verify`` checks every reference with one anti-join per table instead.

What it makes (``Shape``):

- ``departments`` departments and ``approvers`` 审核科员 (unusable passwords), spread
  over them; ``rules`` published rules with the same T-node workflow: T − 1 department
  reviews in parallel, then the leader (T = 1: one review);
- one enterprise per ``2 × rules`` applications, each with one enterprise user (经办人);
- N applications over the last three years, numbered ``ZC<year><6 digits>`` after the
  year's sequence (which is moved on); each with its workflow instance and T tasks. Finished
  cases (most) have every task decided, 1 in 20 rejected at the last level; the newest
  cases, as many as ``open_share`` of the tasks, are in review with their last task open;
- the tasks are spread over the approvers by a fixed hash of (application, node), so each
  approver has the same mix; then ``heavy_open`` open tasks go to approver 0 (a backlog).

Instance JSON is minimal but parses (``definition_from_json`` / ``state_from_json``): the
measured pages open only cases made through the services.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb

if TYPE_CHECKING:
    from ._fixtures import Filer

BIG_TABLES = ("applications_application", "workflow_workflowinstance", "workflow_workflowtask")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
HASH_APP, HASH_NODE = 7919, 104729  # spread (application, node) over the approvers


@dataclass(frozen=True)
class Shape:
    apps: int
    tasks_per_app: int
    approvers: int = 2000
    departments: int = 20
    rules: int = 8
    open_share: float = 0.03
    heavy_open: int = 2000
    rejected_every: int = 20

    @property
    def in_review(self) -> int:
        """Cases in review: one open task each, ``open_share`` of all tasks."""
        return min(self.apps, round(self.apps * self.tasks_per_app * self.open_share))

    @property
    def heavy_target(self) -> int:
        """Approver 0's backlog; at most half the open tasks (small runs keep some for others)."""
        return min(self.heavy_open, self.in_review // 2)

    @property
    def enterprises(self) -> int:
        """Enough that no enterprise files one rule twice in a year (an index range > a year)."""
        return max(1, math.ceil(self.apps / (2 * self.rules)))

    def nodes(self) -> list[tuple[str, str, int]]:
        """(key, name, level) of the workflow's nodes."""
        if self.tasks_per_app == 1:
            return [("review", "部门审核", 0)]
        reviews = [(f"dept{j + 1}", f"部门审核{j + 1}", 0) for j in range(self.tasks_per_app - 1)]
        return [*reviews, ("leader", "分管领导审批", 1)]


@dataclass
class Loaded:
    """What the load made, for the measurements and the report."""

    shape: Shape
    approver_ids: list[int]
    rule_ids: list[int]
    steps: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    first_ids: dict[str, int] = field(default_factory=dict)  # app_base, instance_base, task_base

    @property
    def heavy_id(self) -> int:
        return self.approver_ids[0]

    @property
    def seconds(self) -> float:
        return sum(self.steps.values())


class _Clock:
    def __init__(self, steps: dict[str, float]) -> None:
        self.steps = steps

    def run(self, name: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = call()
        self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - started
        print(f"    {name}: {self.steps[name]:.1f} s", flush=True)
        return result


# ---------------------------------------------------------------- made through the services


def _departments(count: int) -> list[int]:
    from policywindow.system.models import Department
    from policywindow.system.services.departments import save_department

    return [
        save_department(
            None, Department(), name=f"省直审核部门{n:02d}（基准测试）", code=f"BULK{n:02d}"
        ).pk
        for n in range(1, count + 1)
    ]


def _rules(shape: Shape, department_ids: list[int]) -> list[Any]:
    from policywindow.system.models import Department

    from . import _cases

    admin = _cases.policy_admin()
    departments = Department.objects.in_bulk(department_ids)
    policy = _cases.create_policy(admin, departments[department_ids[0]])
    return [
        _cases.create_rule(
            admin, policy, departments[department_ids[r % len(department_ids)]], f"BULK-RD-{r:02d}"
        )
        for r in range(shape.rules)
    ]


def _publish_workflows(shape: Shape, rules: list[Any], approver_ids: list[int]) -> list[int]:
    """The same T-node workflow on every bulk rule, drawn and published with the services."""
    from policywindow.workflow.models import WorkflowDefinition

    from . import _cases

    admin = _cases.policy_admin()
    by_level: dict[int, list[dict[str, Any]]] = {}
    for j, (key, name, level) in enumerate(shape.nodes()):
        by_level.setdefault(level, []).append(_cases.node(key, name, [approver_ids[j]]))
    levels = [
        {"name": "部门审核" if level == 0 else "领导审批", "parallel": True, "nodes": nodes}
        for level, nodes in sorted(by_level.items())
    ]
    for rule in rules:
        _cases.publish_workflow(admin, rule, levels)
    published = WorkflowDefinition.objects.filter(rule__in=rules, status="published")
    return [published.get(rule=rule).pk for rule in rules]


# ---------------------------------------------------------------- set-based SQL


def _next_id(cur: psycopg.Cursor, table: str) -> int:
    return cur.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]  # noqa: S608


def _reset_sequence(cur: psycopg.Cursor, table: str) -> None:
    cur.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
    )


def _insert_approvers(cur: psycopg.Cursor, shape: Shape, department_ids: list[int]) -> list[int]:
    base = _next_id(cur, "system_user")
    cur.execute(
        """
        INSERT INTO system_user (id, password, is_superuser, username, email, is_staff,
            date_joined, is_active, kind, real_name, mobile, password_changed_at,
            must_change_password, totp_secret, totp_confirmed, remark, department_id)
        SELECT %(base)s + g, '!bulk' || g, false, 'bulk_sp' || lpad(g::text, 4, '0'), '',
            false, now(), true, 'staff',
            substr(%(surnames)s, 1 + g %% 20, 1) || substr(%(given)s, 1 + (g / 20) %% 20, 1)
                || substr(%(given)s, 1 + (g / 400) %% 20, 1),
            '', now(), false, '', false, '基准测试审核人员',
            (%(departments)s::bigint[])[1 + g %% %(n_departments)s]
        FROM generate_series(0, %(count)s - 1) AS g
        """,
        {
            "base": base,
            "count": shape.approvers,
            "surnames": SURNAMES,
            "given": GIVEN,
            "departments": department_ids,
            "n_departments": len(department_ids),
        },
    )
    cur.execute(
        """
        INSERT INTO system_user_roles (user_id, role_id)
        SELECT u.id, (SELECT r.id FROM system_role r WHERE r.code = 'reviewer')
        FROM system_user u WHERE u.id >= %(base)s ORDER BY u.id
        """,
        {"base": base},
    )
    _reset_sequence(cur, "system_user")
    return list(range(base, base + shape.approvers))


ENTERPRISE_COLUMNS = (
    "id, credit_code, name, legal_representative, registered_capital, established_on, address,"
    " contact_name, contact_email, bank_name, employees, revenue,"
    " total_assets, rd_spend, high_tech, tech_sme, specialized, size, is_demo, created_at,"
    " updated_at, industry_id, region_id, "
)


def _copy_enterprises(cur: psycopg.Cursor, shape: Shape) -> int:
    """COPY the enterprises (valid credit codes, ``MB`` block: no clash with the others)."""
    from policywindow.core.codes import make_uscc

    from . import _fixtures as fx

    base = _next_id(cur, "enterprises_enterprise")
    now = dt.datetime.now(dt.UTC)
    columns = ENTERPRISE_COLUMNS + fx.ENTERPRISE_PERSONAL_COLUMNS
    with cur.copy(f"COPY enterprises_enterprise ({columns}) FROM STDIN") as copy:
        for n in range(shape.enterprises):
            city = fx.CITIES[n % len(fx.CITIES)]
            copy.write_row(
                (
                    base + n,
                    make_uscc(f"91{city}MB{n:07d}"),
                    f"辽宁省基准数据科技有限公司{n:06d}",
                    "王立新",
                    10_000_000,
                    dt.date(2010 + n % 12, 1 + n % 12, 1 + n % 28),
                    f"辽宁省沈阳市浑南区智慧路 {n} 号",
                    "李晓梅",
                    "",
                    "中国工商银行沈阳分行",
                    50 + n % 400,
                    30_000_000 + n,
                    60_000_000,
                    3_500_000,
                    n % 3 == 0,
                    n % 4 == 0,
                    "",
                    "",
                    False,
                    now,
                    now,
                    fx.INDUSTRIES[n % len(fx.INDUSTRIES)],
                    city,
                    *fx.enterprise_personal(base + n, "024-23456789", f"6222{n:012d}"),
                )
            )
    _reset_sequence(cur, "enterprises_enterprise")
    return base


def _insert_applicants(cur: psycopg.Cursor, enterprise_base: int, shape: Shape) -> int:
    """One enterprise user (经办人) per enterprise, linked to it."""
    base = _next_id(cur, "system_user")
    params = {"base": base, "count": shape.enterprises, "enterprise_base": enterprise_base}
    cur.execute(
        """
        INSERT INTO system_user (id, password, is_superuser, username, email, is_staff,
            date_joined, is_active, kind, real_name, mobile, password_changed_at,
            must_change_password, totp_secret, totp_confirmed, remark, department_id)
        SELECT %(base)s + g, '!bulk' || g, false, 'bulk_qy' || lpad(g::text, 6, '0'), '',
            false, now(), true, 'enterprise', '经办人' || g, '', now(), false, '', false, '',
            NULL
        FROM generate_series(0, %(count)s - 1) AS g
        """,
        params,
    )
    cur.execute(
        """
        INSERT INTO system_user_roles (user_id, role_id)
        SELECT %(base)s + g, (SELECT r.id FROM system_role r WHERE r.code = 'enterprise')
        FROM generate_series(0, %(count)s - 1) AS g
        """,
        params,
    )
    cur.execute(
        """
        INSERT INTO enterprises_enterprisemember (is_admin, joined_at, enterprise_id, user_id)
        SELECT true, now(), %(enterprise_base)s + g, %(base)s + g
        FROM generate_series(0, %(count)s - 1) AS g
        """,
        params,
    )
    _reset_sequence(cur, "system_user")
    return base


def _secondary_indexes(cur: psycopg.Cursor) -> list[tuple[str, str]]:
    """(name, definition) of the big tables' indexes that back no constraint."""
    return cur.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%(tables)s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        ORDER BY i.tablename, i.indexname
        """,
        {"tables": list(BIG_TABLES)},
    ).fetchall()


# The time line of application i (0 = oldest): finished cases over three years up to twelve
# days ago, the cases in review over the ten days after that.
APPLICATIONS = """
    CREATE TEMP TABLE bulk_app ON COMMIT DROP AS
    SELECT i,
        %(app_base)s + i AS id,
        (%(rule_ids)s::bigint[])[1 + i %% %(n_rules)s] AS rule_id,
        %(enterprise_base)s + (i / %(n_rules)s) %% %(n_enterprises)s AS enterprise_id,
        i >= %(finished)s AS open,
        NOT (i >= %(finished)s) AND i %% %(rejected_every)s = 7 AS rejected,
        CASE WHEN i < %(finished)s
            THEN %(now)s - interval '12 days'
                 - (%(finished)s - 1 - i) * (interval '1095 days' / greatest(%(finished)s, 1))
            ELSE %(now)s - interval '12 days'
                 + (i - %(finished)s) * (interval '10 days' / greatest(%(in_review)s, 1))
        END AS submitted_at
    FROM generate_series(0, %(apps)s - 1) AS i
"""

INSERT_APPLICATIONS = """
    INSERT INTO applications_application (id, number, channel, status, year, form_snapshot,
        answers, eligibility, requested_amount, submitted_at, accepted_at, due_at, decided_at,
        revision, created_at, updated_at, accepted_by_id, applicant_id, department_id,
        enterprise_id, rule_id, rule_version_id, approved_amount)
    SELECT a.id,
        'ZC' || a.year || lpad((coalesce(s.last, 0)
            + row_number() OVER (PARTITION BY a.year ORDER BY a.i))::text, 6, '0'),
        'online',
        CASE WHEN a.open THEN 'in_review' WHEN a.rejected THEN 'rejected' ELSE 'approved' END,
        a.year, %(form_snapshot)s, b.answers, %(eligibility)s, 100000 + (a.i %% 50) * 10000,
        a.submitted_at, a.submitted_at + interval '1 day', a.submitted_at + interval '8 days',
        CASE WHEN a.open THEN NULL ELSE a.submitted_at + interval '3 days' END,
        CASE WHEN a.open THEN 2 ELSE 3 END,
        a.submitted_at - interval '1 hour',
        a.submitted_at + interval '3 days',
        %(clerk)s, a.enterprise_id - %(enterprise_base)s + %(applicant_base)s,
        v.lead_department_id, a.enterprise_id, a.rule_id, r.current_id,
        CASE WHEN a.open OR a.rejected THEN NULL ELSE 100000 + (a.i %% 50) * 10000 END
    FROM (
        SELECT *, extract(year FROM submitted_at AT TIME ZONE 'Asia/Shanghai')::int AS year
        FROM bulk_app
    ) AS a
    JOIN bulk_answers b ON b.id = a.id
    JOIN policies_rule r ON r.id = a.rule_id
    JOIN policies_ruleversion v ON v.id = r.current_id
    LEFT JOIN applications_applicationsequence s ON s.year = a.year
"""

INSERT_INSTANCES = """
    INSERT INTO workflow_workflowinstance (id, definition, notes, state, status, current_level,
        started_at, finished_at, paused_at, remaining_days, version, application_id,
        workflow_id, subject_type, subject_id)
    SELECT %(instance_base)s + a.i, %(definition)s, '{}',
        CASE WHEN a.open THEN %(running)s WHEN a.rejected THEN %(rejected_state)s
             ELSE %(approved)s END,
        CASE WHEN a.open THEN 'running' WHEN a.rejected THEN 'rejected' ELSE 'approved' END,
        %(last_level)s, a.submitted_at + interval '1 day',
        CASE WHEN a.open THEN NULL ELSE a.submitted_at + interval '3 days' END,
        NULL, NULL, %(version)s, a.id,
        (%(workflow_ids)s::bigint[])[1 + a.i %% %(n_rules)s], 'application', a.id
    FROM bulk_app a
"""

# Node j of application i: level-0 nodes open at acceptance and are decided within two days;
# the last level opens two days after acceptance.
INSERT_TASKS = """
    INSERT INTO workflow_workflowtask (id, key, node_key, node_name, level, round, mode, status,
        opened_at, due_at, decided_at, opinion, reason, approved_amount, amount_reason,
        reminded_at, overdue_at, escalated_at, application_id, assignee_id, department_id,
        instance_id, subject_type, subject_id)
    SELECT %(task_base)s + t.i * %(per_app)s + t.j,
        t.node_key || '#1#' || u.id, t.node_key, t.node_name, t.level, 1, 'any',
        CASE WHEN t.open AND t.last THEN 'open' WHEN t.rejected AND t.last THEN 'rejected'
             ELSE 'approved' END,
        t.opened_at, t.opened_at + interval '3 days',
        CASE WHEN t.open AND t.last THEN NULL
             ELSE t.opened_at + interval '1 hour' * (2 + (t.i * 13 + t.j * 7) %% 40) END,
        CASE WHEN t.open AND t.last THEN '' WHEN t.rejected AND t.last THEN '申报材料不符合要求'
             ELSE '同意' END,
        '', NULL, '', NULL, NULL, NULL,
        %(app_base)s + t.i, u.id, u.department_id, %(instance_base)s + t.i,
        'application', %(app_base)s + t.i
    FROM (
        SELECT a.i, a.open, a.rejected, j,
            (%(keys)s::text[])[j + 1] AS node_key,
            (%(names)s::text[])[j + 1] AS node_name,
            (%(levels)s::int[])[j + 1] AS level,
            j = %(per_app)s - 1 AS last,
            a.submitted_at + interval '1 day'
                + CASE WHEN (%(levels)s::int[])[j + 1] > 0 THEN interval '2 days'
                       ELSE interval '0' END AS opened_at
        FROM bulk_app a CROSS JOIN generate_series(0, %(per_app)s - 1) AS j
    ) AS t
    JOIN system_user u ON u.id = %(approver_base)s
        + (t.i::bigint * %(hash_app)s + t.j * %(hash_node)s) %% %(n_approvers)s
"""

HEAVY = """
    UPDATE workflow_workflowtask t
    SET assignee_id = u.id, department_id = u.department_id, key = t.node_key || '#1#' || u.id
    FROM system_user u
    WHERE u.id = %(heavy)s AND t.id IN (
        SELECT id FROM workflow_workflowtask
        WHERE status = 'open' AND assignee_id <> %(heavy)s AND id >= %(task_base)s
        ORDER BY id DESC LIMIT %(extra)s
    )
"""

SEQUENCES = """
    INSERT INTO applications_applicationsequence (year, last)
    SELECT year, max(right(number, 6)::int) FROM applications_application
    WHERE id >= %(app_base)s GROUP BY year
    ON CONFLICT (year) DO UPDATE SET last = greatest(applications_applicationsequence.last,
                                                     EXCLUDED.last)
"""


def _instance_json(shape: Shape, approver_id: int) -> dict[str, Any]:
    """Minimal engine JSON that parses: the definition's nodes, and a state per outcome."""
    levels: dict[int, list[dict[str, Any]]] = {}
    for key, _name, level in shape.nodes():
        levels.setdefault(level, []).append(
            {
                "key": key,
                "candidates": [approver_id],
                "mode": "any",
                "on_reject": "end",
                "applies": True,
            }
        )
    definition = {
        "levels": [{"parallel": True, "nodes": nodes} for _, nodes in sorted(levels.items())]
    }
    node_rounds = [[key, 1] for key, _name, _level in shape.nodes()]

    def state(status: str) -> Jsonb:
        return Jsonb(
            {
                "status": status,
                "level": len(levels) - 1,
                "tasks": [],
                "level_rounds": [1] * len(levels),
                "node_rounds": node_rounds,
                "supplement_node": None,
                "clock": shape.tasks_per_app + 1,
            }
        )

    return {
        "definition": Jsonb(definition),
        "running": state("running"),
        "approved": state("approved"),
        "rejected_state": state("rejected"),
        "last_level": len(levels) - 1,
        "version": shape.tasks_per_app + 1,
    }


def _form_json(model: Any) -> dict[str, Jsonb]:
    """The form copy and eligibility of a really filed application."""
    return {"form_snapshot": Jsonb(model.form_snapshot), "eligibility": Jsonb(model.eligibility)}


def _copy_answers(cur: psycopg.Cursor, model: Any, app_base: int, count: int) -> None:
    """The real application's answers (file answers emptied: the material is another
    enterprise's) for every bulk row, encrypted for that row as ``save()`` would."""
    from policywindow.core.encrypted import stored_value

    answers = {k: [] if isinstance(v, list) else v for k, v in model.answers.items()}
    cur.execute(
        "CREATE TEMP TABLE bulk_answers (id bigint PRIMARY KEY, answers text) ON COMMIT DROP"
    )
    with cur.copy("COPY bulk_answers (id, answers) FROM STDIN") as copy:
        for pk in range(app_base, app_base + count):
            copy.write_row((pk, stored_value(type(model), "answers", answers, pk)))


def _load_cases(
    cur: psycopg.Cursor,
    clock: _Clock,
    shape: Shape,
    *,
    model: Any,
    rule_ids: list[int],
    workflow_ids: list[int],
    approver_ids: list[int],
    enterprise_base: int,
    applicant_base: int,
    clerk_id: int,
) -> dict[str, int]:
    nodes = shape.nodes()
    params: dict[str, Any] = {
        "app_base": _next_id(cur, "applications_application"),
        "instance_base": _next_id(cur, "workflow_workflowinstance"),
        "task_base": _next_id(cur, "workflow_workflowtask"),
        "apps": shape.apps,
        "finished": shape.apps - shape.in_review,
        "in_review": shape.in_review,
        "rule_ids": rule_ids,
        "workflow_ids": workflow_ids,
        "n_rules": len(rule_ids),
        "n_enterprises": shape.enterprises,
        "enterprise_base": enterprise_base,
        "applicant_base": applicant_base,
        "rejected_every": shape.rejected_every,
        "now": dt.datetime.now(dt.UTC),
        "clerk": clerk_id,
        "per_app": shape.tasks_per_app,
        "keys": [key for key, _, _ in nodes],
        "names": [name for _, name, _ in nodes],
        "levels": [level for _, _, level in nodes],
        "approver_base": approver_ids[0],
        "n_approvers": len(approver_ids),
        "hash_app": HASH_APP,
        "hash_node": HASH_NODE,
        "heavy": approver_ids[0],
        **_instance_json(shape, approver_ids[0]),
        **_form_json(model),
    }
    clock.run("application time line (temp table)", lambda: cur.execute(APPLICATIONS, params))
    clock.run(
        "answers, encrypted per row (temp table)",
        lambda: _copy_answers(cur, model, params["app_base"], shape.apps),
    )
    clock.run("applications", lambda: cur.execute(INSERT_APPLICATIONS, params))
    clock.run("workflow instances", lambda: cur.execute(INSERT_INSTANCES, params))
    clock.run("workflow tasks", lambda: cur.execute(INSERT_TASKS, params))
    has = cur.execute(
        "SELECT count(*) FROM workflow_workflowtask WHERE status = 'open' AND assignee_id = %s",
        [params["heavy"]],
    ).fetchone()[0]
    params["extra"] = max(shape.heavy_target - has, 0)
    clock.run("backlog of approver 0", lambda: cur.execute(HEAVY, params))
    cur.execute(SEQUENCES, params)
    for table in BIG_TABLES:
        _reset_sequence(cur, table)
    return {key: params[key] for key in ("app_base", "instance_base", "task_base")}


def load(url: str, shape: Shape, clerk_id: int, filer: Filer, pdf: bytes) -> Loaded:
    """Make the data set; returns ids and the time each step took.

    ``filer`` files one real application on the first rule first: every bulk application
    carries its form copy and answers, so the rows are as wide as real ones.
    """
    from policywindow.dashboard import rollups

    from . import _cases

    steps: dict[str, float] = {}
    clock = _Clock(steps)
    department_ids = clock.run("departments (services)", lambda: _departments(shape.departments))
    rules = clock.run("rules with eight items (services)", lambda: _rules(shape, department_ids))
    model = clock.run("one real filing (services)", lambda: _cases.file_case(filer, rules[0], pdf))
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        approver_ids = clock.run("approvers", lambda: _insert_approvers(cur, shape, department_ids))
        conn.commit()  # the workflows below name approvers; they must be visible to Django
    workflow_ids = clock.run(
        "workflows (services)", lambda: _publish_workflows(shape, rules, approver_ids)
    )
    loaded = Loaded(shape, approver_ids, [rule.pk for rule in rules], steps)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cur.execute("SET LOCAL synchronous_commit = off")
        enterprise_base = clock.run("enterprises (COPY)", lambda: _copy_enterprises(cur, shape))
        applicant_base = clock.run(
            "enterprise users", lambda: _insert_applicants(cur, enterprise_base, shape)
        )
        indexes = _secondary_indexes(cur)
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        loaded.first_ids = _load_cases(
            cur,
            clock,
            shape,
            model=model,
            rule_ids=loaded.rule_ids,
            workflow_ids=workflow_ids,
            approver_ids=approver_ids,
            enterprise_base=enterprise_base,
            applicant_base=applicant_base,
            clerk_id=clerk_id,
        )

        def rebuild() -> None:
            for _name, definition in indexes:
                cur.execute(definition)

        clock.run(f"rebuild {len(indexes)} secondary indexes", rebuild)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        clock.run(
            "VACUUM ANALYZE",
            lambda: [conn.execute(f"VACUUM ANALYZE {table}") for table in BIG_TABLES],
        )
    # The rows went in without triggers (replica role): count them as the triggers would.
    clock.run("data board rollups (rebuild)", rollups.rebuild)
    return loaded


# ---------------------------------------------------------------- checks

ORPHANS = {
    "tasks without their instance": """
        SELECT count(*) FROM workflow_workflowtask t
        LEFT JOIN workflow_workflowinstance i ON i.id = t.instance_id WHERE i.id IS NULL""",
    "tasks without their application": """
        SELECT count(*) FROM workflow_workflowtask t
        LEFT JOIN applications_application a ON a.id = t.application_id WHERE a.id IS NULL""",
    "tasks of another application than their instance's": """
        SELECT count(*) FROM workflow_workflowtask t
        JOIN workflow_workflowinstance i ON i.id = t.instance_id
        WHERE i.application_id <> t.application_id""",
    "tasks without their assignee": """
        SELECT count(*) FROM workflow_workflowtask t
        LEFT JOIN system_user u ON u.id = t.assignee_id WHERE u.id IS NULL""",
    "instances without their application": """
        SELECT count(*) FROM workflow_workflowinstance i
        LEFT JOIN applications_application a ON a.id = i.application_id WHERE a.id IS NULL""",
    "applications without their enterprise or applicant": """
        SELECT count(*) FROM applications_application a
        LEFT JOIN enterprises_enterprise e ON e.id = a.enterprise_id
        LEFT JOIN system_user u ON u.id = a.applicant_id WHERE e.id IS NULL OR u.id IS NULL""",
}


def verify(url: str, loaded: Loaded) -> list[tuple[str, bool]]:
    """Counts as asked, references intact (the load skipped the FK triggers), JSON parses."""
    from policywindow.workflow.models import WorkflowInstance
    from policywindow.workflow.serialize import definition_from_json, state_from_json

    shape = loaded.shape
    with psycopg.connect(url, autocommit=True) as conn:
        apps, tasks, open_tasks, heavy = conn.execute(
            """
            SELECT (SELECT count(*) FROM applications_application WHERE id >= %(app_base)s),
                   (SELECT count(*) FROM workflow_workflowtask WHERE id >= %(task_base)s),
                   (SELECT count(*) FROM workflow_workflowtask
                    WHERE id >= %(task_base)s AND status = 'open'),
                   (SELECT count(*) FROM workflow_workflowtask
                    WHERE assignee_id = %(h)s AND status = 'open')
            """,
            {**loaded.first_ids, "h": loaded.heavy_id},
        ).fetchone()
        orphans = {label: conn.execute(query).fetchone()[0] for label, query in ORPHANS.items()}
    loaded.counts.update(apps=apps, tasks=tasks, open=open_tasks)
    sample = WorkflowInstance.objects.filter(application__rule_id__in=loaded.rule_ids).first()
    try:
        parsed = sample is not None and bool(
            definition_from_json(sample.definition).levels and state_from_json(sample.state)
        )
    except (KeyError, TypeError, ValueError):
        parsed = False
    return [
        (f"bulk: {apps:,} applications loaded ({shape.apps:,} asked)", apps == shape.apps),
        (
            f"bulk: {tasks:,} tasks loaded ({shape.apps * shape.tasks_per_app:,} asked), "
            f"{open_tasks:,} open ({open_tasks / max(tasks, 1):.1%})",
            tasks == shape.apps * shape.tasks_per_app and open_tasks == shape.in_review,
        ),
        (
            f"bulk: approver 0 has {heavy:,} open tasks ({shape.heavy_target:,} asked)",
            heavy >= shape.heavy_target,
        ),
        *[(f"bulk: {label}: {n}", n == 0) for label, n in orphans.items()],
        ("bulk: instance JSON parses as the engine's definition and state", parsed),
    ]
