"""Rate limits hold against a client that changes headers, cookies or connections, and are
shared by every server process: Redis when configured, the database otherwise (core/ratelimit.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import uuid

import pytest
import redis
from django.db import connection
from django.test import Client
from django.utils import timezone

from policywindow.applications.selectors import PUBLIC_LOOKUP_LIMIT
from policywindow.core import ratelimit
from policywindow.core.models import RateCounter
from policywindow.core.tasks import purge_rate_counters
from policywindow.finance.services.objections import FILING_LIMIT
from policywindow.matching.views.calculator import PUBLIC_LIMIT as CALCULATOR_LIMIT
from policywindow.system.models import LoginLog, SystemParameter
from tests.conftest import PASSWORD
from tests.waiting import HANG_GUARD_S

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.20"
STATUS_QUERY = {"number": "ZC2026000001", "credit_code": "x" * 18}
MOMENT = dt.datetime(2026, 12, 1, 10, 0, 30, tzinfo=dt.UTC)
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def clock(monkeypatch):
    """A fixed clock that a test can move, so no count straddles a window by chance."""
    now = [MOMENT]
    monkeypatch.setattr(timezone, "now", lambda: now[0])
    return now


@pytest.fixture(autouse=True)
def _redis_not_marked_down(monkeypatch):
    monkeypatch.setattr(ratelimit, "_redis_down_until", 0.0)


@pytest.fixture
def redis_url(settings):
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379 (.ci/run starts one)")
    settings.REDIS_URL = REDIS_TEST_URL
    yield REDIS_TEST_URL
    keys = list(client.scan_iter(f"{ratelimit.REDIS_PREFIX}test:*"))
    if keys:
        client.delete(*keys)


def status_page(client: Client | None = None, **extra):
    return (client or Client()).get("/status/", STATUS_QUERY, **extra)


def status_api(**extra):
    return Client().get("/api/v1/status", STATUS_QUERY, **extra)


def calculator(**extra):
    return Client().get("/policies/calculator/", {"calculate": "1"}, **extra)


def exhaust(request, limit: int, **extra) -> list[int]:
    return [request(**extra).status_code for _ in range(limit)]


# --------------------------------------------------------------------- no bypass by the client
@pytest.mark.parametrize(
    ("request_", "limit"),
    [
        (status_page, PUBLIC_LOOKUP_LIMIT),
        (status_api, PUBLIC_LOOKUP_LIMIT),
        (calculator, CALCULATOR_LIMIT),
    ],
)
def test_a_new_header_or_a_new_client_does_not_reset_a_limit(clock, request_, limit):
    # Every request comes from a fresh client (no cookie, new session) with a new header.
    for n in range(limit):
        assert (
            request_(REMOTE_ADDR=ADDRESS, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code != 429
        )
    refused = request_(REMOTE_ADDR=ADDRESS, HTTP_X_FORWARDED_FOR="192.0.2.250")
    assert refused.status_code == 429
    assert request_(REMOTE_ADDR="198.51.100.21").status_code != 429  # another client is not held


def test_the_status_page_and_the_status_api_share_one_count(clock):
    exhaust(status_page, PUBLIC_LOOKUP_LIMIT, REMOTE_ADDR=ADDRESS)
    response = status_api(REMOTE_ADDR=ADDRESS)
    assert response.status_code == 429 and response.json()["code"] == "too_many_requests"


def test_behind_a_trusted_proxy_the_limit_follows_the_real_client(clock, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    via_proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(PUBLIC_LOOKUP_LIMIT):  # the client rotates what it writes left of nginx's hop
        status_page(**via_proxy, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, {ADDRESS}")
    assert status_page(**via_proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.1, {ADDRESS}").status_code == 429
    other = status_page(**via_proxy, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert other.status_code == 200  # the proxy's own address is not what is counted


def test_ipv6_clients_cannot_rotate_through_their_own_prefix(clock):
    for n in range(PUBLIC_LOOKUP_LIMIT):
        status_page(REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}")
    assert status_page(REMOTE_ADDR="2001:db8:1:2:ffff::9").status_code == 429
    assert status_page(REMOTE_ADDR="2001:db8:1:3::1").status_code == 200


def test_objection_filing_is_counted_per_address_key(clock):
    key = f"finance:objection:{ratelimit.address_key(ADDRESS)}"
    assert [ratelimit.over_limit(key, FILING_LIMIT, 3600) for _ in range(FILING_LIMIT + 1)] == [
        False
    ] * FILING_LIMIT + [True]


# --------------------------------------------------------------------- login per address
def test_login_is_limited_per_address_whatever_the_username(clock, make_user):
    SystemParameter.objects.update_or_create(
        key="security.login_attempts_per_address",
        defaults={"name": "同一地址每分钟登录尝试上限", "value": "5", "value_type": "int"},
    )
    make_user("victim", "window_clerk")
    for n in range(5):  # spraying: one wrong password on each of many accounts
        Client(REMOTE_ADDR=ADDRESS).post("/login/", {"username": f"u{n}", "password": "Spray@2026"})
    refused = Client(REMOTE_ADDR=ADDRESS).post(
        "/login/", {"username": "victim", "password": PASSWORD}
    )
    assert refused.status_code == 200 and "登录尝试过于频繁" in refused.content.decode()
    log = LoginLog.objects.filter(username="victim").get()
    assert not log.success and log.ip == ADDRESS and "过于频繁" in log.message
    elsewhere = Client(REMOTE_ADDR="198.51.100.21").post(
        "/login/", {"username": "victim", "password": PASSWORD}
    )
    assert elsewhere.status_code == 302
    clock[0] += dt.timedelta(seconds=60)  # the next minute
    later = Client(REMOTE_ADDR=ADDRESS).post(
        "/login/", {"username": "victim", "password": PASSWORD}
    )
    assert later.status_code == 302


# --------------------------------------------------------------------- the counter itself
def test_counts_and_the_previous_window(clock):
    assert [ratelimit.hit("test:k", 60) for _ in range(3)] == [
        ratelimit.Count(1),
        ratelimit.Count(2),
        ratelimit.Count(3),
    ]
    clock[0] += dt.timedelta(minutes=5)
    assert ratelimit.hit("test:k", 60) == ratelimit.Count(1, before=3)
    assert ratelimit.hit("test:k", 60) == ratelimit.Count(2)


def test_long_keys_are_bounded(clock):
    long_key = "test:" + "用户" * 300
    assert [ratelimit.hit(long_key, 60).hits for _ in range(2)] == [1, 2]
    assert ratelimit.hit(long_key + "x", 60).hits == 1
    assert all(
        len(key) <= ratelimit.MAX_KEY_LENGTH
        for key in RateCounter.objects.values_list("key", flat=True)
    )


def test_housekeeping_purges_old_windows(clock):
    ratelimit.hit("test:old", 60)
    clock[0] += dt.timedelta(seconds=ratelimit.KEEP_SECONDS + 120)
    ratelimit.hit("test:new", 60)
    assert purge_rate_counters.call() == 1
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["test:new"]


def test_redis_counts_when_configured(clock, redis_url):
    key = f"test:{uuid.uuid4().hex}"
    assert [ratelimit.hit(key, 60).hits for _ in range(3)] == [1, 2, 3]
    clock[0] += dt.timedelta(minutes=5)
    assert ratelimit.hit(key, 60) == ratelimit.Count(1, before=3)
    assert not RateCounter.objects.exists()  # nothing went to the database
    client = redis.Redis.from_url(redis_url)
    window = int(clock[0].timestamp()) // 60 * 60
    assert 0 < client.ttl(f"{ratelimit.REDIS_PREFIX}{key}:{window}") <= 60 + ratelimit.KEEP_SECONDS


def test_when_redis_is_down_the_database_counts(clock, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="policywindow.core.ratelimit"):
        statuses = exhaust(status_page, PUBLIC_LOOKUP_LIMIT + 1, REMOTE_ADDR=ADDRESS)
    assert statuses == [200] * PUBLIC_LOOKUP_LIMIT + [429]
    assert RateCounter.objects.get().hits == PUBLIC_LOOKUP_LIMIT + 1
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # then the database counts without asking Redis each time


# --------------------------------------------------------------------- shared by processes
COUNTING_PROCESS = """
import datetime as dt, sys
import django
django.setup()
from django.utils import timezone
from policywindow.core import ratelimit
timezone.now = lambda: dt.datetime(2026, 12, 1, 10, 0, 30, tzinfo=dt.UTC)
key, n = sys.argv[1], int(sys.argv[2])
print(" ".join(str(ratelimit.hit(key, 60).hits) for _ in range(n)))
"""


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _count_in_two_processes(key: str, each: int, redis_url: str = "") -> list[list[int]]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DJANGO_SETTINGS_MODULE="policywindow.settings", REDIS_URL=redis_url)
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = _database_url()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", COUNTING_PROCESS, key, str(each)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=HANG_GUARD_S) for process in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    return [[int(n) for n in out.split()] for out, _ in outputs]


def _assert_one_shared_count(counts: list[list[int]], each: int) -> None:
    # Per-process counters would give each process 1..each; a shared one hands out every
    # number once, and each process sees its own numbers rising.
    assert sorted(counts[0] + counts[1]) == list(range(1, 2 * each + 1))
    assert all(seen == sorted(seen) for seen in counts)


@pytest.mark.django_db(transaction=True)
def test_two_server_processes_share_the_database_count():
    if connection.vendor != "postgresql":
        pytest.skip("two processes need a shared test database: run on PostgreSQL")
    counts = _count_in_two_processes("test:shared", 100)
    _assert_one_shared_count(counts, 100)
    assert RateCounter.objects.get(key="test:shared").hits == 200


def test_two_server_processes_share_the_redis_count(redis_url):
    _assert_one_shared_count(
        _count_in_two_processes(f"test:{uuid.uuid4().hex}", 100, redis_url), 100
    )
