"""The data board reads rollups that the database maintains as cases change (dashboard/rollups.py):
after any sequence of changes — through the services, through queryset updates as a moved
deadline is written, an enterprise moving city, the worker's compaction at any moment — every
figure and table of the board equals the full recount from the rows (recount.py), for the
bureau and for one department, over whole and partial months, a day and years. On PostgreSQL
the same holds with the changes made concurrently."""

from __future__ import annotations

import datetime as dt
import io
import random
import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from policywindow.applications import transitions
from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import intake
from policywindow.dashboard import rollups, selectors
from policywindow.dashboard.models import Rollup, RollupChange
from policywindow.enterprises.models import Enterprise, Region
from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.selectors import Period
from policywindow.workflow.services import runtime
from tests.applications.test_intake_factories import (
    all_complete,
    make_case,
    make_enterprise,
    make_version,
    shanghai,
)

from .conftest import dalian_enterprise
from .recount import recount, recount_tables

START = shanghai(2025, 3, 3, 9)
PERIODS = (
    Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31)),  # whole months only
    Period(dt.date(2026, 1, 1), dt.date(2026, 11, 30)),
    Period(dt.date(2023, 12, 7), dt.date(2026, 12, 7)),  # three years, partial months at both ends
    Period(dt.date(2025, 11, 15), dt.date(2026, 2, 10)),
    Period(dt.date(2025, 6, 3), dt.date(2025, 6, 20)),  # within one month
)
SIMPLE_MOVES = {  # what the case's other fields become when it moves without a service
    S.APPROVED: lambda rng, now: {"decided_at": now, "approved_amount": _amount(rng)},
    S.REJECTED: lambda rng, now: {"decided_at": now},
}


def _amount(rng: random.Random) -> Decimal:
    return Decimal(rng.randrange(100_000, 32_000_000)) / 100


def observed(board: selectors.Board, department_names: dict[str, int]) -> dict[str, object]:
    """The board's tables in the shape of ``recount_tables``."""

    def tallies(rows):
        return {r.key: (r.total, r.stages, r.approved_amount, r.paid_amount) for r in rows}

    return {
        "by_status": {row.status: (row.count, row.approved_amount) for row in board.by_status},
        "by_rule": tallies(board.by_rule),
        "by_department": tallies(board.by_department),
        "by_city": tallies(board.by_city),
        "by_month": tallies(board.by_month),
        "timeliness": {
            department_names[row.label]: (
                row.total,
                row.on_time,
                row.open_overdue,
                round(row.avg_hours, 1) if row.avg_hours is not None else None,
            )
            for row in board.timeliness
        },
    }


def headline(board: selectors.Board) -> dict[str, object]:
    timely = board.timeliness_total
    return {
        "total": board.total.total,
        "approved": board.total.approved,
        "approval_rate": board.total.approval_rate,
        "approved_amount": board.total.approved_amount,
        "paid_amount": board.total.paid_amount,
        "budget": board.budget_percent,
        "due": timely.total,
        "open_overdue": timely.open_overdue,
        "on_time_rate": timely.rate,
        "avg_days": timely.avg_days,
    }


def assert_board_is_exact(world: dict, now: dt.datetime) -> None:
    names = {department.name: department.pk for department in world["departments"]}
    for period in PERIODS:
        for user, departments in world["readers"]:
            board = selectors.board(user, period, now)
            where = (period, user.username)
            assert observed(board, names) == recount_tables(period, now, departments), where
            assert headline(board) == recount(period, now, departments), where


@pytest.fixture
def world(make_department, make_user):
    tech, commerce = make_department("省科技厅"), make_department("省商务厅")
    versions = [
        make_version(tech, title="研发费用后补助"),
        make_version(tech, title="首台套保险补偿", review_days=3),
        make_version(commerce, title="出口信用保险保费补助"),
    ]
    cities = [
        Region.objects.get_or_create(code=code, defaults={"name": name, "level": "city"})[0]
        for code, name in (("210100", "沈阳市"), ("210300", "鞍山市"), ("210800", "营口市"))
    ]
    return {
        "departments": [tech, commerce],
        "versions": versions,
        "enterprises": [make_enterprise(), make_enterprise(), dalian_enterprise()],
        "cities": cities,
        "applicant": make_user("walk_qiye", "enterprise", kind="enterprise"),
        "clerk": make_user("walk_clerk", "window_clerk"),
        "readers": [
            (make_user("walk_bureau", "bureau_leader"), None),
            (make_user("walk_tech", "dept_leader", dept=tech), {tech.pk}),
        ],
    }


class Walk:
    """One random change after another, each through the code that makes it in the product."""

    def __init__(self, world: dict, rng: random.Random, clock: list[dt.datetime]) -> None:
        self.world, self.rng, self.clock = world, rng, clock

    @property
    def now(self) -> dt.datetime:
        return self.clock[0]

    def _some(self, **filters) -> Application | None:
        found = list(Application.objects.filter(**filters).order_by("pk"))
        return self.rng.choice(found) if found else None

    def step(self) -> str:
        self.clock[0] += dt.timedelta(hours=self.rng.randrange(1, 60))
        actions = [
            self.file,
            self.file,
            self.accept,
            self.accept,
            self.supplement,
            self.refuse,
            self.decide,
            self.decide,
            self.move,
            self.move,
            self.move_deadline,
            self.backdate,
            self.move_enterprise,
            self.compact,
        ]
        action = self.rng.choice(actions)
        action()
        return action.__name__

    def file(self) -> None:
        submitted = self.now - dt.timedelta(days=self.rng.choice([0, 0, 0, 3, 40, 400]))
        make_case(
            self.rng.choice(self.world["versions"]),
            self.rng.choice(self.world["enterprises"]),
            self.world["applicant"],
            submitted_at=submitted,
        )

    def accept(self) -> None:
        case = self._some(status=S.SUBMITTED)
        if case:
            intake.accept(
                self.world["clerk"], case, all_complete(case), expected_revision=case.revision
            )

    def supplement(self) -> None:
        case = self._some(status=S.SUBMITTED)
        if case:
            items = [{"key": "project_name", "comment": "请写明项目全称"}]
            intake.request_supplement(
                self.world["clerk"], case, items, expected_revision=case.revision
            )

    def refuse(self) -> None:
        case = self._some(status=S.SUBMITTED)
        if case:
            intake.refuse(
                self.world["clerk"], case, "不属于支持范围", expected_revision=case.revision
            )

    def decide(self) -> None:
        tasks = WorkflowTask.objects.filter(status="open", application__status=S.IN_REVIEW)
        if task := self.rng.choice(list(tasks.order_by("pk")) or [None]):
            action = self.rng.choice(["approve", "approve", "reject"])
            amount = _amount(self.rng) if action == "approve" else None
            decision = runtime.Decision(action, "审核意见", amount, "按审定费用核减")
            runtime.decide(task.assignee, task.pk, decision)

    def move(self) -> None:
        """Any move the transition table allows (publicity, finance, payment, archive,
        objection, withdrawal, 补正 resubmitted …) through ``transitions.move``."""
        case = self._some(status__in=[s for s, targets in transitions.ALLOWED.items() if targets])
        if case is None or case.status == S.DRAFT:
            return
        target = self.rng.choice(sorted(transitions.ALLOWED[case.status]))
        changes = SIMPLE_MOVES.get(target, lambda rng, now: {})(self.rng, self.now)
        if target == S.IN_REVIEW and case.accepted_at is None:
            changes = {"accepted_at": self.now, "due_at": self.now + dt.timedelta(days=5)}
        with transaction.atomic():
            locked = transitions.lock(case.pk)
            transitions.move(
                locked, target, actor=self.world["clerk"], action="walk", changes=changes
            )

    def move_deadline(self) -> None:
        """A holiday year loaded moves deadlines with a queryset update (core/provisional.py)."""
        case = self._some(status=S.IN_REVIEW, due_at__isnull=False)
        if case:
            days = dt.timedelta(days=self.rng.choice([-2, -1, 1, 3]))
            Application.objects.filter(pk=case.pk).update(due_at=case.due_at + days)

    def backdate(self) -> None:
        """Demo and import loaders write times directly."""
        case = self._some(accepted_at__isnull=False)
        if case:
            days = dt.timedelta(days=self.rng.randrange(1, 30))
            fields = {"accepted_at": case.accepted_at - days}
            if case.decided_at and self.rng.random() < 0.5:
                fields["decided_at"] = case.decided_at - dt.timedelta(hours=7)
            Application.objects.filter(pk=case.pk).update(**fields)

    def move_enterprise(self) -> None:
        enterprise = self.rng.choice(self.world["enterprises"])
        enterprise.region = self.rng.choice(self.world["cities"])
        enterprise.save(update_fields=["region"])

    def compact(self) -> None:
        rollups.compact()


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [16, 2027])
def test_after_random_changes_every_figure_equals_the_recount(world, monkeypatch, seed):
    clock = [START]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    walk = Walk(world, random.Random(seed), clock)
    done = [walk.step() for _ in range(90)]
    assert {"accept", "decide", "move", "backdate", "move_enterprise", "compact"} <= set(done)
    clock[0] += dt.timedelta(days=8)  # read a week later: deadlines have passed meanwhile
    assert Application.objects.filter(status=S.IN_REVIEW, due_at__lt=clock[0]).exists()
    assert RollupChange.objects.exists()  # not everything folded: the board reads both
    assert_board_is_exact(world, clock[0])
    rollups.compact()
    assert not RollupChange.objects.exists()
    assert not Rollup.objects.filter(cases=0).exists()
    assert_board_is_exact(world, clock[0])
    # The board an hour before: fewer deadlines had passed.
    assert_board_is_exact(world, clock[0] - dt.timedelta(hours=1))


@pytest.mark.django_db
def test_a_recount_gives_the_rows_the_triggers_maintained(world, monkeypatch):
    clock = [START]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    walk = Walk(world, random.Random(7), clock)
    for _ in range(60):
        walk.step()
    rollups.compact()
    fields = [f.name for f in Rollup._meta.fields if f.name != "id"]
    maintained = sorted(Rollup.objects.values_list(*fields))
    assert maintained
    rollups.rebuild()
    assert sorted(Rollup.objects.values_list(*fields)) == maintained


@pytest.mark.django_db
def test_missing_triggers_are_installed_and_the_rollups_recounted(world, clock):
    """SQLite drops a table's triggers when a migration rebuilds it: ``migrate`` puts them back
    (post_migrate) and recounts what changed meanwhile."""
    version, enterprise = world["versions"][0], world["enterprises"][0]
    make_case(version, enterprise, world["applicant"], submitted_at=shanghai(2026, 5, 6, 10))
    rollups.uninstall()
    make_case(version, enterprise, world["applicant"], submitted_at=shanghai(2026, 5, 7, 10))
    period = PERIODS[1]
    bureau = world["readers"][0][0]
    assert selectors.board(bureau, period, clock).total.total == 1  # not counted meanwhile
    assert rollups.ensure_installed() is True
    assert rollups.ensure_installed() is False
    assert selectors.board(bureau, period, clock).total.total == 2
    make_case(version, enterprise, world["applicant"], submitted_at=shanghai(2026, 5, 8, 10))
    assert selectors.board(bureau, period, clock).total.total == 3


@pytest.mark.django_db
def test_the_rebuild_command_recounts_what_was_lost(world, clock):
    """After rows changed behind the triggers' back (here: changes thrown away by hand)."""
    for day in (5, 6):
        make_case(
            world["versions"][0],
            world["enterprises"][0],
            world["applicant"],
            submitted_at=shanghai(2026, 5, day, 10),
        )
    RollupChange.objects.all().delete()
    bureau = world["readers"][0][0]
    assert selectors.board(bureau, PERIODS[1], clock).total.total == 0
    call_command("rebuild_rollups", stdout=io.StringIO())
    assert selectors.board(bureau, PERIODS[1], clock).total.total == 2
    assert_board_is_exact(world, clock)


@pytest.mark.django_db
def test_a_change_that_touches_no_figure_appends_nothing(world):
    case = make_case(world["versions"][0], world["enterprises"][0], world["applicant"])
    before = RollupChange.objects.count()
    case.answers = {**case.answers, "project_name": "新名称"}
    case.save(update_fields=["answers", "updated_at"])  # saving answers, as a draft does
    Application.objects.filter(pk=case.pk).update(revision=5)
    case.refresh_from_db()
    case.save()  # every column written, none changed
    assert RollupChange.objects.count() == before


# --------------------------------------------------------------------------- PostgreSQL
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="concurrent writers need PostgreSQL (DATABASE_URL=postgres://…)",
)
def test_concurrent_changes_keep_the_rollups_exact(world):
    """Clerks accepting, reviewers deciding, enterprises submitting, an enterprise moving city
    and the worker compacting, all at once, on cases that share their rollup keys (same rule,
    day, city)."""
    version = world["versions"][0]
    shenyang, dalian = world["enterprises"][0], world["enterprises"][2]
    submitted = timezone.now() - dt.timedelta(hours=2)
    cases = [
        make_case(version, [shenyang, dalian][i % 2], world["applicant"], submitted_at=submitted)
        for i in range(16)
    ]
    drafts = [  # one open draft per rule and enterprise
        make_case(other, dalian, world["applicant"], status=S.DRAFT, submitted_at=submitted)
        for other in world["versions"]
    ]
    Application.objects.filter(pk__in=[d.pk for d in drafts]).update(submitted_at=None)
    for case in cases[:8]:
        intake.accept(world["clerk"], case, all_complete(case), expected_revision=0)
    tasks = list(WorkflowTask.objects.filter(status="open").order_by("pk"))
    assert len(tasks) == 8
    errors: list[BaseException] = []
    barrier = threading.Barrier(8 + 8 + len(drafts) + 2)
    done = threading.Event()

    def run(work) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    def accept(case: Application) -> None:
        intake.accept(world["clerk"], case, all_complete(case), expected_revision=0)

    def decide(task: WorkflowTask) -> None:
        action = "approve" if task.pk % 3 else "reject"
        amount = Decimal("12345.67") if action == "approve" else None
        runtime.decide(
            task.assignee, task.pk, runtime.Decision(action, "意见", amount, "按审定费用核减")
        )

    def submit(draft: Application) -> None:
        """Locks as ``filing.submit`` does: the draft, then its enterprise."""
        with transaction.atomic():
            locked = transitions.lock(draft.pk)
            Enterprise.objects.select_for_update().get(pk=locked.enterprise_id)
            changes = {"submitted_at": timezone.now()}
            transitions.move(locked, S.SUBMITTED, actor=None, action="submit", changes=changes)

    def move_dalian() -> None:
        for region in [*world["cities"], world["cities"][0]]:
            dalian.region = region
            dalian.save(update_fields=["region"])

    def compact() -> None:
        while not done.is_set():
            rollups.compact()

    workers = [threading.Thread(target=run, args=(lambda c=c: accept(c),)) for c in cases[8:]]
    workers += [threading.Thread(target=run, args=(lambda t=t: decide(t),)) for t in tasks]
    workers += [threading.Thread(target=run, args=(lambda d=d: submit(d),)) for d in drafts]
    workers.append(threading.Thread(target=run, args=(move_dalian,)))
    compactor = threading.Thread(target=run, args=(compact,))
    for thread in [*workers, compactor]:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    done.set()
    compactor.join(timeout=60)

    assert errors == []  # no deadlock between a submission and the region change
    assert Application.objects.filter(status=S.SUBMITTED).count() == len(drafts)
    assert Application.objects.filter(status=S.IN_REVIEW).count() == 8
    assert Application.objects.filter(decided_at__isnull=False).count() == 8
    now = timezone.now()
    assert_board_is_exact(world, now)
    rollups.compact()
    assert not RollupChange.objects.exists()
    assert_board_is_exact(world, now)
