"""Indexes for the data board (数据看板) and the 办理时效 page on PostgreSQL.

Covering (INCLUDE) indexes and expression statistics exist on PostgreSQL only, so they are
made here rather than declared on the model (SQLite, the demo's database, needs none of them).
Measured with 1,000,000 applications (docs/benchmarks.md, bench/dashboard.py): the bureau's
board for this year 6.4 s → 1.1 s, a department's 4.8 s → 0.58 s.
"""

from django.db import migrations

OPEN_STATUSES = (
    "submitted",
    "in_review",
    "approved",
    "in_publicity",
    "publicity_passed",
    "objection",
    "in_finance",
)
TABLE = "applications_application"
CREATE = [
    # Counts and sums per status, rule, department, enterprise over a submission period.
    f"CREATE INDEX IF NOT EXISTS app_submitted_board ON {TABLE} (submitted_at)"
    " INCLUDE (status, rule_id, department_id, enterprise_id, approved_amount)",
    # The one-week clock: cases decided in a period, by department and rule.
    f"CREATE INDEX IF NOT EXISTS app_decided_clock ON {TABLE} (decided_at)"
    " INCLUDE (department_id, rule_id, accepted_at, due_at) WHERE decided_at IS NOT NULL",
    # The cases open longest.
    f"CREATE INDEX IF NOT EXISTS app_open_oldest ON {TABLE} (submitted_at, id)"
    f" INCLUDE (department_id) WHERE status IN {OPEN_STATUSES!r}",
    # Without it the planner expects one month per row and plans the month chart badly.
    "CREATE STATISTICS IF NOT EXISTS app_submitted_month ON"
    f" (date_trunc('month', submitted_at AT TIME ZONE 'Asia/Shanghai')) FROM {TABLE}",
]
DROP = [
    "DROP STATISTICS IF EXISTS app_submitted_month",
    "DROP INDEX IF EXISTS app_open_oldest",
    "DROP INDEX IF EXISTS app_decided_clock",
    "DROP INDEX IF EXISTS app_submitted_board",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("applications", "0004_application_approved_amount")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
