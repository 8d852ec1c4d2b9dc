"""参数设置: grouped list, validated edits, and the security/business split of 三员分立."""

from __future__ import annotations

import pytest
from django.urls import reverse

from policywindow.core.errors import PermissionDenied, ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.system.models import SystemParameter
from policywindow.system.params import get_param
from policywindow.system.services import config as services

pytestmark = pytest.mark.django_db

LIST = reverse("system:param_list")


def param(key: str) -> SystemParameter:
    return SystemParameter.objects.get(key=key)


def edit_url(key: str) -> str:
    return reverse("system:param_update", args=[param(key).pk])


@pytest.mark.parametrize("who", ["sysadmin", "secadmin"])
def test_both_administrators_see_both_groups(request, login, who):
    response = login(request.getfixturevalue(who)).get(LIST)
    assert response.status_code == 200
    groups = {value: [p.key for p in params] for value, _, params in response.context["groups"]}
    assert "security.lockout_threshold" in groups["security"]
    assert "general.review_limit_days" in groups["general"]


@pytest.mark.parametrize("who", ["enterprise_user", "auditor"])
def test_other_roles_are_refused(request, login, who):
    client = login(request.getfixturevalue(who))
    assert client.get(LIST).status_code == 403
    assert client.post(edit_url("general.publicity_days"), {"value": "7"}).status_code == 403
    assert get_param("general.publicity_days") == 5


def test_each_administrator_gets_edit_links_only_for_their_group(login, sysadmin, secadmin):
    assert login(sysadmin).get(LIST).context["editable"] == {"general"}
    assert login(secadmin).get(LIST).context["editable"] == {"security"}
    body = login(sysadmin).get(LIST).content.decode()
    assert edit_url("general.publicity_days") in body
    assert edit_url("security.lockout_threshold") not in body


def test_system_admin_changes_a_business_parameter_with_audit(login, sysadmin):
    response = login(sysadmin).post(edit_url("general.review_limit_days"), {"value": " 7 "})
    assert response.status_code == 302
    assert get_param("general.review_limit_days") == 7
    event = AuditEvent.objects.get(action="systemparameter.update")
    assert event.before == {"value": "5"}
    assert event.after == {"value": "7"}
    assert event.actor == sysadmin


def test_system_admin_cannot_weaken_security_settings(login, sysadmin):
    client = login(sysadmin)
    url = edit_url("security.lockout_threshold")
    assert client.get(url).status_code == 403
    assert client.post(url, {"value": "10"}).status_code == 403
    assert get_param("security.lockout_threshold") == 5
    with pytest.raises(PermissionDenied):
        services.update_parameter(sysadmin, param("security.lockout_threshold"), "10")
    assert not AuditEvent.objects.filter(action="systemparameter.update").exists()


def test_security_admin_changes_a_security_parameter(login, secadmin):
    response = login(secadmin).post(edit_url("security.lockout_threshold"), {"value": "3"})
    assert response.status_code == 302
    assert get_param("security.lockout_threshold") == 3
    event = AuditEvent.objects.get(action="systemparameter.update")
    assert (event.before, event.after) == ({"value": "5"}, {"value": "3"})


def test_security_admin_cannot_change_business_parameters(login, secadmin):
    client = login(secadmin)
    url = edit_url("general.review_limit_days")
    assert client.get(url).status_code == 403
    assert client.post(url, {"value": "1"}).status_code == 403
    assert get_param("general.review_limit_days") == 5


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("security.lockout_threshold", "11", "取值范围为 3 至 10"),
        ("security.lockout_threshold", "2", "取值范围为 3 至 10"),
        ("security.lockout_threshold", "五", "请输入整数"),
        ("security.lockout_threshold", "4.5", "请输入整数"),
        ("security.lockout_threshold", "", "请输入参数值"),
        ("security.totp_required", "maybe", "请选择“是”或“否”"),
    ],
)
def test_invalid_values_are_chinese_field_errors(login, secadmin, key, value, message):
    before = param(key).value
    response = login(secadmin).post(edit_url(key), {"value": value})
    assert response.status_code == 200
    assert response.context["form"].errors["value"] == [message]
    assert param(key).value == before


def test_boolean_parameter_round_trip(login, secadmin):
    login(secadmin).post(edit_url("security.totp_required"), {"value": "true"})
    assert param("security.totp_required").value == "true"
    assert get_param("security.totp_required") is True


def test_text_parameter_allows_empty_and_limits_length(login, sysadmin):
    client = login(sysadmin)
    url = edit_url("general.site_notice")
    assert client.post(url, {"value": "春节期间窗口暂停受理"}).status_code == 302
    assert get_param("general.site_notice") == "春节期间窗口暂停受理"
    response = client.post(url, {"value": "长" * 501})
    assert response.context["form"].errors["value"] == ["不能超过 500 个字符"]


def test_unchanged_value_writes_no_audit_event(sysadmin):
    services.update_parameter(sysadmin, param("general.publicity_days"), "5")
    assert not AuditEvent.objects.filter(action="systemparameter.update").exists()


def test_range_with_only_a_lower_bound():
    loose = SystemParameter(key="x", value_type="int", group="general", min_value=1)
    with pytest.raises(ValidationFailed) as caught:
        services.clean_param_value(loose, "0")
    assert caught.value.details == {"value": ["不能小于 1"]}
    assert services.clean_param_value(loose, "+12") == "12"


def test_within_a_request_parameters_are_read_once_and_again_after_a_save(secadmin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from policywindow.system.params import read_once_per_request

    with read_once_per_request(), CaptureQueriesContext(connection) as captured:
        before = get_param("security.lockout_threshold")
        get_param("security.password_expiry_days")
        get_param("general.site_notice")
        reads = len(captured)
        services.update_parameter(secadmin, param("security.lockout_threshold"), str(before + 1))
        after = get_param("security.lockout_threshold")
    assert reads == 1  # every parameter, one statement
    assert after == before + 1  # the save made the request read them again


def test_a_parameter_changed_elsewhere_applies_to_the_next_request(login, secadmin):
    client = login(secadmin)
    assert client.get(LIST).status_code == 200
    SystemParameter.objects.filter(key="security.session_idle_minutes").update(value="5")
    session = client.session
    session["pw_last_seen"] = session["pw_last_seen"] - 6 * 60
    session.save()
    assert client.get(LIST).status_code == 302  # idle 6 minutes > the new 5: signed out
