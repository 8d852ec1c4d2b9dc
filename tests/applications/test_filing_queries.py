"""Submitting costs the same number of SQL queries whatever the number of required items."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from policywindow.applications.models import ApplicationSequence
from policywindow.applications.services import filing
from policywindow.system.models import User

from .test_filing_factories import (
    answer_for,
    link,
    make_enterprise,
    make_rule,
    many_items,
    upload,
)

pytestmark = pytest.mark.django_db


def _queries_to_submit(make_user, department, count: int) -> int:
    items = many_items(count)
    user = make_user(f"q_qiye{count}", "enterprise", kind=User.Kind.ENTERPRISE)
    enterprise = make_enterprise(f"查询计数企业{count}")
    link(user, enterprise)
    application = filing.start_application(user, enterprise, make_rule(department, items=items))
    answers = {item["key"]: answer_for(item["kind"]) for item in items if item["kind"] != "file"}
    filing.save_answers(user, application, answers, {"license": [upload()]})
    with CaptureQueriesContext(connection) as queries:
        submitted = filing.submit(user, application)
    assert submitted.number, "the submit must succeed for the count to mean anything"
    return len(queries)


def test_submit_query_count_does_not_grow_with_the_items(make_user, department):
    # The year's sequence row exists already, as it does after the year's first submission.
    ApplicationSequence.objects.create(year=timezone.localdate().year)
    few = _queries_to_submit(make_user, department, 3)
    many = _queries_to_submit(make_user, department, 15)
    assert few == many
