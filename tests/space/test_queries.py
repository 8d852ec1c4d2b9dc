"""The 法人空间 page reads a fixed number of queries however many applications there are."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from policywindow.applications.models import ApplicationStatus as S
from policywindow.space.models import DocumentKind as K
from policywindow.space.models import SpaceDocument

pytestmark = pytest.mark.django_db


def _a_bit_of_everything(world, n: int) -> None:
    """``n`` rounds of cases in many states, with 补正 notices, issued documents and materials."""
    for round_ in range(n):
        world.case(S.SUBMITTED)
        world.notice(world.case(S.SUPPLEMENT_REQUIRED), "营业执照")
        world.case(S.IN_REVIEW)
        approved = world.case(
            S.DISBURSED, approved_amount=Decimal("1000.00"), year=2025 + round_ % 2
        )
        SpaceDocument.objects.create(
            application=approved,
            kind=K.ACCEPTANCE,
            basis=approved.accepted_at,
            file="space/none.pdf",
            sha256="0" * 64,
            size=1,
        )
        world.material(f"code{round_}", f"材料{round_}.pdf")


def _count(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("space:index"))
    assert response.status_code == 200
    return len(captured)


def test_the_space_page_does_not_grow_with_the_applications(world, login):
    client = login(world.a_user)
    _a_bit_of_everything(world, 2)
    client.get(reverse("space:index"))  # warm per-process caches (menus, parameters)
    few = _count(client)

    _a_bit_of_everything(world, 6)
    many = _count(client)

    assert many == few
    assert few <= 20
