"""安全审计: the operation log (read and verify only) and the login log, for the auditor alone."""

import datetime
import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from policywindow.core import audit
from policywindow.core.models import AuditEvent
from policywindow.system.models import LoginLog, Menu, Role
from policywindow.system.services import rbac
from policywindow.system.views import logs as log_views

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(secadmin, sysadmin):
    """A role grant (with before/after menus), a failed action and a plain message."""
    role = Role.objects.create(code="log_case", name="日志测试角色", data_scope="dept")
    rbac.grant_role(
        secadmin, role, menus=Menu.objects.filter(key="window.cases"), data_scope="dept_below"
    )
    audit.record(
        "user.disable",
        actor=sysadmin,
        object_type="system.user",
        object_id=7,
        object_repr="王强",
        result="failure",
        message="不能停用当前登录的账号",
    )
    audit.record("calendar.seed", actor=sysadmin, message="导入 2026 年法定节假日")
    audit.seal_pending()
    return AuditEvent.objects.order_by("seq")


def _rows(page: str) -> list[str]:
    return [chunk.split('"')[0] for chunk in page.split('data-seq="')[1:]]


# ---------------------------------------------------------------- access


@pytest.mark.parametrize("name", ["operlog_list", "operlog_detail", "loginlog_list"])
def test_logs_are_read_only_by_the_audit_administrator(
    name, events, login, auditor, sysadmin, secadmin, enterprise_user
):
    url = reverse(f"system:{name}", args=[events[0].pk] if name == "operlog_detail" else [])
    assert login(auditor).get(url).status_code == 200
    for other in (sysadmin, secadmin, enterprise_user):
        assert login(other).get(url).status_code == 403, other.username


def test_verify_is_refused_to_other_administrators(login, sysadmin, secadmin):
    for other in (sysadmin, secadmin):
        assert login(other).post("/audit/operlog/verify/").status_code == 403


def test_operation_log_has_no_write_routes(events, login, auditor):
    names = [p.name for p in log_views.urlpatterns]
    assert not [n for n in names if any(w in n for w in ("edit", "update", "delete", "create"))]
    client = login(auditor)
    pk = events[0].pk
    for url in ("/audit/operlog/", f"/audit/operlog/{pk}/", "/audit/loginlog/"):
        for method in (client.post, client.put, client.delete):
            assert method(url).status_code == 405, (method, url)
    assert AuditEvent.objects.count() == len(events)
    assert client.get("/audit/operlog/verify/").status_code == 405


# ---------------------------------------------------------------- operation log


def test_operation_log_lists_newest_first_with_filters(events, login, auditor):
    client = login(auditor)
    page = client.get("/audit/operlog/").content.decode()
    assert _rows(page) == [str(e.seq) for e in reversed(events)]
    assert "不能停用当前登录的账号" in page

    def seqs(**params) -> list[str]:
        return _rows(client.get("/audit/operlog/", params).content.decode())

    by_action = {str(e.seq) for e in events if e.action == "role.grant"}
    assert set(seqs(action="role.")) == by_action
    assert seqs(result="failure") == [str(events.get(action="user.disable").seq)]
    assert set(seqs(actor="secadmin")) == by_action
    assert seqs(object_type="system.user") == [str(events.get(action="user.disable").seq)]
    today = timezone.localdate()
    assert len(seqs(date_from=today.isoformat(), date_to=today.isoformat())) == len(events)
    assert seqs(date_to=(today - datetime.timedelta(days=1)).isoformat()) == []


def test_bad_filter_dates_are_field_errors_not_failures(events, login, auditor):
    client = login(auditor)
    response = client.get("/audit/operlog/", {"date_from": "2026-13-45", "action": "role."})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-field-error="date_from"' in page and "请输入正确的日期" in page
    assert len(_rows(page)) == events.filter(action__startswith="role.").count()

    page = client.get("/audit/operlog/", {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert "结束日期不能早于开始日期" in page.content.decode()
    page = client.get("/audit/operlog/", {"object_type": "no.such", "page": "abc"})
    assert page.status_code == 200 and 'data-field-error="object_type"' in page.content.decode()


def test_operation_log_pages(login, auditor):
    for n in range(25):
        audit.record("test.paging", message=f"第{n}条")
    client = login(auditor)
    first = client.get("/audit/operlog/", {"action": "test.paging"}).content.decode()
    second = client.get("/audit/operlog/", {"action": "test.paging", "page": 2}).content.decode()
    assert len(_rows(first)) == 20 and len(_rows(second)) == 5
    assert "共 25 条" in first and "?action=test.paging&page=2" in first


def test_detail_shows_before_and_after_as_a_diff(events, login, auditor):
    grant = events.get(action="role.grant")
    page = login(auditor).get(f"/audit/operlog/{grant.pk}/").content.decode()
    assert "菜单权限" in page and "数据范围" in page  # labels from the model's fields
    menus_row = page.split('data-field="menus"')[1].split("</tr>")[0]
    assert "pw-diff-added" in menus_row and "办件查询（window.cases）" in menus_row
    assert "pw-diff-removed" not in menus_row
    scope_row = page.split('data-field="data_scope"')[1].split("</tr>")[0]
    assert (
        "本部门及以下" in scope_row
        and "pw-diff-changed" in page.split('data-field="data_scope"')[0][-80:]
    )
    assert grant.hash in page and grant.entry_mac in page


def test_detail_of_an_unknown_record_is_not_found(login, auditor):
    assert login(auditor).get("/audit/operlog/999999/").status_code == 404


def test_verify_reports_an_intact_chain(events, login, auditor):
    response = login(auditor).post("/audit/operlog/verify/", follow=True)
    assert f"操作日志哈希链完整：已封存 {len(events)} 条" in response.content.decode()


def test_unsealed_events_are_listed_and_reported_as_pending(events, login, auditor):
    pending = audit.record("calendar.seed", message="尚未封存")
    client = login(auditor)
    page = client.get("/audit/operlog/").content.decode()
    first_row = page.split(f'data-id="{pending.pk}"')[1].split("</tr>")[0]
    assert "待封存" in first_row
    assert "待封存" in client.get(f"/audit/operlog/{pending.pk}/").content.decode()
    response = client.post("/audit/operlog/verify/", follow=True).content.decode()
    assert "操作日志哈希链完整" in response and "待封存 1 条" in response


def test_verify_reports_a_tampered_row(events, login, auditor):
    tampered = events.get(action="user.disable")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The append-only trigger stops UPDATE; a table owner could switch it off, and
            # that is exactly what the hash chain must still catch.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE core_auditevent SET message = %s WHERE seq = %s", ["已停用", tampered.seq]
        )
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER USER")
    page = login(auditor).post("/audit/operlog/verify/", follow=True).content.decode()
    assert f"【内容被篡改】序号 {tampered.seq}：" in page
    assert "操作日志哈希链校验未通过" in page and "操作日志哈希链完整" not in page


# ---------------------------------------------------------------- login log


@pytest.fixture
def login_logs(make_user):
    user = make_user("zhaolei", real_name="赵磊")
    yesterday = timezone.now() - datetime.timedelta(days=1)
    return [
        LoginLog.objects.create(
            username="zhaolei", user=user, success=True, message="登录成功", ip="10.0.0.1"
        ),
        LoginLog.objects.create(
            username="zhaolei", success=False, message="密码错误", occurred_at=yesterday
        ),
        LoginLog.objects.create(username="ghost", success=False, message="用户不存在"),
    ]


def test_login_log_filters(login_logs, login, auditor):
    client = login(auditor)

    def usernames(**params) -> list[str]:
        page = client.get("/audit/loginlog/", params).content.decode()
        return [chunk.split('"')[0] for chunk in page.split('data-username="')[1:]]

    assert sorted(usernames()) == ["ghost", "zhaolei", "zhaolei"]
    assert usernames(username="zhao") == ["zhaolei", "zhaolei"]
    assert usernames(success="1") == ["zhaolei"]
    assert sorted(usernames(success="0")) == ["ghost", "zhaolei"]
    today = timezone.localdate().isoformat()
    assert sorted(usernames(date_from=today)) == ["ghost", "zhaolei"]
    page = client.get("/audit/loginlog/", {"success": "1"}).content.decode()
    assert "赵磊" in page and "登录成功" in page


def test_login_log_bad_date_is_a_field_error(login_logs, login, auditor):
    response = login(auditor).get("/audit/loginlog/", {"date_to": "yesterday"})
    assert response.status_code == 200
    assert 'data-field-error="date_to"' in response.content.decode()


# ---------------------------------------------------------------- Chinese names, not codes


def test_the_filter_and_the_rows_name_object_types_and_actions_in_chinese(events, login, auditor):
    audit.record("access.denied", object_type="url", object_repr="/system/users/")
    client = login(auditor)
    page = client.get("/audit/operlog/").content.decode()
    select = page.split('name="object_type"')[1].split("</select>")[0]
    options = dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select))
    assert options["system.user"] == "用户" and options["system.role"] == "角色"
    assert options["url"] == "页面地址"
    assert not [label for value, label in options.items() if value and value in label]
    table = page.split('data-testid="operlog-table"')[1]
    assert "停用用户" in table and "user.disable" not in table and "system.user" not in table

    by_label = _rows(client.get("/audit/operlog/", {"action": "分配权限"}).content.decode())
    assert by_label == [str(events.get(action="role.grant").seq)]
    by_verb = _rows(client.get("/audit/operlog/", {"action": "停用用户"}).content.decode())
    assert by_verb == [str(events.get(action="user.disable").seq)]


def test_the_detail_names_the_object_type_and_fields_in_chinese(events, login, auditor):
    grant = events.get(action="role.grant")
    page = login(auditor).get(f"/audit/operlog/{grant.pk}/").content.decode()
    meta = page.split('data-testid="operlog-meta"')[1].split("</table>")[0]
    assert "<th>对象类型</th><td>角色</td>" in meta and "system.role" not in meta
    assert "role.grant" not in meta
    diff = page.split('data-testid="operlog-diff"')[1]
    assert "data_scope</div>" not in diff and "数据范围" in diff
