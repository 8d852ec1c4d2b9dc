"""Helpers for API tests: access tokens and JSON calls."""

from __future__ import annotations

import datetime as dt

import pytest

from policywindow.api import services
from policywindow.system.models import User


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def token_for(db):
    """Issue a token for ``user`` through the service and return its plain text."""

    def issue(user: User, days: int = 30) -> str:
        return services.issue_token(
            user, name="测试令牌", lifetime=dt.timedelta(days=days)
        ).plaintext

    return issue
