"""The status transition table: every move it does not list is refused in Chinese."""

from __future__ import annotations

import pytest
from django.db import transaction

from policywindow.applications import transitions
from policywindow.applications.models import ApplicationEvent
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.errors import Conflict

from .test_intake_factories import make_case, make_enterprise, make_version

pytestmark = pytest.mark.django_db

DISALLOWED = [
    (src, dst) for src in S.values for dst in S.values if dst not in transitions.ALLOWED[src]
]
ALLOWED = [(src, dst) for src in S.values for dst in transitions.ALLOWED[src]]


@pytest.fixture
def case(department, make_user):
    applicant = make_user("qiye", "enterprise", kind="enterprise")
    return make_case(make_version(department), make_enterprise(), applicant)


def _set_status(application, status):
    type(application).objects.filter(pk=application.pk).update(status=status)


def test_the_table_covers_every_status():
    assert set(transitions.ALLOWED) == set(S.values)
    assert len(DISALLOWED) + len(ALLOWED) == len(S.values) ** 2


@pytest.mark.parametrize(("src", "dst"), DISALLOWED)
def test_every_move_outside_the_table_is_refused(case, src, dst):
    _set_status(case, src)
    with pytest.raises(Conflict) as caught, transaction.atomic():
        transitions.move(transitions.lock(case.pk), dst, actor=None, action="test")
    assert caught.value.message == f"当前状态“{S(src).label}”不能变为“{S(dst).label}”"
    case.refresh_from_db()
    assert (case.status, case.revision) == (src, 0)
    assert not ApplicationEvent.objects.filter(application=case, action="test").exists()


@pytest.mark.parametrize(("src", "dst"), ALLOWED)
def test_every_move_in_the_table_is_made_and_recorded(case, src, dst):
    _set_status(case, src)
    with transaction.atomic():
        moved = transitions.move(transitions.lock(case.pk), dst, actor=None, action="test")
    assert (moved.status, moved.revision) == (dst, 1)
    event = ApplicationEvent.objects.get(application=case, action="test")
    assert (event.from_status, event.to_status, event.actor_name) == (src, dst, "系统")


def test_a_stale_revision_is_refused_before_the_table(case):
    with pytest.raises(Conflict, match="该申报已被他人处理"), transaction.atomic():
        transitions.move(
            transitions.lock(case.pk), S.IN_REVIEW, actor=None, action="test", expected_revision=7
        )


@pytest.mark.django_db(transaction=True)
def test_move_outside_a_transaction_is_a_programming_error(case):
    with pytest.raises(RuntimeError, match="inside the caller's transaction"):
        transitions.move(case, S.IN_REVIEW, actor=None, action="test")
