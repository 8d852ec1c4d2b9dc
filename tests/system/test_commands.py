"""The console commands a newcomer and an operator use: demo data and the first administrators."""

import pytest
from django.core.management import CommandError, call_command

from policywindow.system.demo import DEMO_PASSWORD, DEPARTMENTS, USERS, load_demo
from policywindow.system.models import Department, User

pytestmark = pytest.mark.django_db


def test_demo_data_loads_once_with_reform_table_departments():
    assert load_demo() == len(USERS) + len({d[0] for d in DEPARTMENTS})
    names = set(Department.objects.values_list("name", flat=True))
    # Departments named in the reform task table, plus 省财政厅 and city bureaus.
    assert {
        "省营商局",
        "省教育厅",
        "省公安厅",
        "大连海关",
        "沈阳海关",
        "省财政厅",
        "沈阳市营商局",
        "大连市营商局",
    } <= names
    assert User.objects.count() == len(USERS)
    assert User.objects.get(username="clerk").check_password(DEMO_PASSWORD)
    assert Department.objects.get(code="KJT").leader.username == "kjt_leader"
    city = Department.objects.get(code="SY-YSJ")
    assert city.parent.code == "YSJ" and city.path.startswith(city.parent.path)
    assert load_demo() == 0  # a second run changes nothing
    assert User.objects.count() == len(USERS)


def test_demo_command_prints_accounts_without_serving(capsys):
    call_command("demo", no_serve=True)
    out = capsys.readouterr().out
    assert "sysadmin" in out and DEMO_PASSWORD in out and "审计管理员" in out


def test_create_admins_makes_three_separate_accounts(capsys):
    call_command("create_admins")
    out = capsys.readouterr().out
    admins = {
        u.username: u for u in User.objects.filter(username__in=["sysadmin", "secadmin", "auditor"])
    }
    assert len(admins) == 3
    assert {u.roles.get().admin_kind for u in admins.values()} == {"system", "security", "audit"}
    assert all(u.must_change_password for u in admins.values())
    password = out.split("初始密码：")[1].split("（")[0]
    assert admins["sysadmin"].check_password(password)
    with pytest.raises(CommandError, match="已存在三员账号"):
        call_command("create_admins")


def test_demo_upgrade_adds_only_missing_records():
    load_demo()
    Department.objects.filter(code="RMYH").delete()  # a department no demo user belongs to
    assert load_demo() == 1
    assert Department.objects.filter(code="RMYH").exists()
