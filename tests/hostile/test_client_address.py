"""The client address: X-Forwarded-For is believed only through configured trusted proxies.

An attacker who writes the header himself must not choose the address that login logs,
sessions, audit events, objections and rate limits record (core/requestctx.py).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import Client, RequestFactory

from policywindow.core.models import AuditEvent
from policywindow.core.requestctx import client_ip
from policywindow.system.models import LoginLog, UserSession
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"
CLIENT = "198.51.100.7"
SPOOFED = "203.0.113.66"


def address(remote_addr: str, forwarded: str | None = None) -> str:
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1"]


@pytest.mark.parametrize(
    "forwarded",
    [SPOOFED, f"{SPOOFED}, {CLIENT}", "127.0.0.1", "10.0.0.9", "garbage", "", " , ,"],
)
def test_without_trusted_proxies_the_header_is_ignored(forwarded):
    assert address(CLIENT, forwarded) == CLIENT


def test_a_trusted_proxy_names_the_client(behind_proxy):
    assert address(PROXY, CLIENT) == CLIENT


def test_hops_a_client_wrote_itself_are_never_read(behind_proxy):
    # nginx appends the peer it saw: whatever the client sent stays to the left of it.
    assert address(PROXY, f"{SPOOFED}, {CLIENT}") == CLIENT
    assert address(PROXY, f"{SPOOFED}, 10.0.0.5, {CLIENT}") == CLIENT


def test_a_chain_of_trusted_proxies_is_walked_from_the_right(behind_proxy):
    assert address("127.0.0.1", f"{SPOOFED}, {CLIENT}, 10.0.0.3") == CLIENT
    # Everything trusted (a request from inside the proxy network): the farthest hop.
    assert address("127.0.0.1", "10.0.0.8, 10.0.0.3") == "10.0.0.8"


def test_a_header_from_an_untrusted_peer_is_ignored(behind_proxy):
    assert address(CLIENT, SPOOFED) == CLIENT


@pytest.mark.parametrize(
    "forwarded",
    ["garbage", "", " ", ",", "1.2.3.4:80", "999.1.1.1", "[::1]", "1.2.3.4\x00", "unknown"],
)
def test_a_malformed_hop_falls_back_to_the_address_known_to_be_true(behind_proxy, forwarded):
    assert address(PROXY, forwarded) == PROXY
    assert address(PROXY, f"{CLIENT}, {forwarded}") == PROXY


def test_addresses_are_canonical(behind_proxy):
    assert address("::ffff:198.51.100.7") == CLIENT
    assert address(PROXY, "2001:DB8:0:0::1") == "2001:db8::1"


def test_a_malformed_socket_address_is_unknown_not_an_error():
    assert address("not-an-address", CLIENT) == ""


@pytest.mark.parametrize("forwarded", ["garbage", "\u00e9\u00e9", "1.1.1.1, " * 500, "%00"])
def test_a_hostile_header_on_a_real_page_never_gives_500(behind_proxy, forwarded):
    response = Client().get(
        "/status/",
        {"number": "ZC2026000001", "credit_code": "x" * 18},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    assert response.status_code == 200


def test_login_log_session_and_audit_record_the_trusted_address(behind_proxy, make_user):
    make_user("zhaoliu", "window_clerk")
    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{SPOOFED}, {CLIENT}")
    client.post("/login/", {"username": "zhaoliu", "password": "wrong-Pass1"})
    client.post("/login/", {"username": "zhaoliu", "password": PASSWORD})
    assert set(LoginLog.objects.values_list("ip", flat=True)) == {CLIENT}
    assert UserSession.objects.get().ip == CLIENT
    assert client.get("/system/roles/").status_code == 403  # a refusal is an audit event
    assert AuditEvent.objects.get(action="access.denied").ip == CLIENT


def test_without_trusted_proxies_a_spoofed_header_is_not_recorded(make_user):
    make_user("sunqi", "window_clerk")
    client = Client(REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR=SPOOFED)
    client.post("/login/", {"username": "sunqi", "password": PASSWORD})
    assert LoginLog.objects.get().ip == CLIENT
    assert UserSession.objects.get().ip == CLIENT


def test_an_invalid_trusted_proxy_setting_stops_the_start():
    env = {**os.environ, "POLICYWINDOW_TRUSTED_PROXIES": "10.0.0.0/8,not-a-network"}
    result = subprocess.run(
        [sys.executable, "-c", "import policywindow.settings"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "POLICYWINDOW_TRUSTED_PROXIES" in result.stderr and "not-a-network" in result.stderr
