"""Two matchings of the same enterprise at the same instant on PostgreSQL, with real parallel
connections (the publish task and a data-change task, say): one push and one message per rule,
one 免申即享 case per rule version."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection

from policywindow.applications.models import Application
from policywindow.matching import services
from policywindow.matching.models import AutoGrant, MatchPush
from policywindow.notifications.models import Notification
from tests.waiting import join_all

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="row locks need PostgreSQL (DATABASE_URL=postgres://…)",
    ),
]


def together(count: int, work) -> list[str]:
    barrier = threading.Barrier(count)
    outcomes: list[str] = []

    def run():
        try:
            barrier.wait()
            work()
            outcomes.append("ok")
        except Exception as exc:  # reported by the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    join_all(threads)
    return outcomes


def test_simultaneous_matchings_push_once_and_open_one_case(rule_for, enterprise_with_agent):
    rule_for(title="研发费用后补助")
    rule_for(title="免申即享奖励", auto_grant=True)
    enterprise, agent = enterprise_with_agent()

    outcomes = together(3, lambda: services.match_enterprise(enterprise.pk))

    assert outcomes == ["ok"] * 3
    assert MatchPush.objects.count() == 1
    assert Notification.objects.filter(recipient=agent, kind=services.PUSH_KIND).count() == 1
    assert AutoGrant.objects.count() == 1
    assert Application.objects.count() == 1
