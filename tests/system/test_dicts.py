"""字典管理: dictionary types and their items through the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from policywindow.core.errors import ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.system.models import DictItem, DictType, Status
from policywindow.system.services import config as services

pytestmark = pytest.mark.django_db

LIST = reverse("system:dict_list")
CREATE = reverse("system:dict_create")


@pytest.fixture
def custom(db) -> DictType:
    dict_type = DictType.objects.create(code="award_level", name="奖励等级")
    DictItem.objects.create(dict_type=dict_type, value="a", label="一等奖", order=10)
    return dict_type


@pytest.fixture
def builtin(db) -> DictType:
    return DictType.objects.get(code="enterprise_size")


def test_list_shows_builtin_and_custom_types(login, sysadmin, custom):
    response = login(sysadmin).get(LIST)
    assert response.status_code == 200
    counts = {t.code: t.item_count for t in response.context["types"]}
    assert counts["enterprise_size"] == 4
    assert counts["award_level"] == 1


def test_type_page_lists_its_items(login, sysadmin, builtin):
    response = login(sysadmin).get(reverse("system:dict_items", args=[builtin.pk]))
    assert response.status_code == 200
    assert [i.value for i in response.context["items"]] == ["large", "medium", "small", "micro"]
    assert "小型" in response.content.decode()


@pytest.mark.parametrize("who", ["enterprise_user", "auditor", "secadmin"])
def test_other_roles_are_refused(request, login, builtin, who):
    client = login(request.getfixturevalue(who))
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("system:dict_items", args=[builtin.pk])).status_code == 403
    assert client.post(CREATE, {"code": "x_y", "name": "某字典"}).status_code == 403
    assert not DictType.objects.filter(code="x_y").exists()


def test_create_type_then_item_is_audited(login, sysadmin):
    client = login(sysadmin)
    assert client.post(CREATE, {"code": "fund_source", "name": "资金来源"}).status_code == 302
    dict_type = DictType.objects.get(code="fund_source")
    assert not dict_type.builtin
    url = reverse("system:dict_item_create", args=[dict_type.pk])
    response = client.post(url, {"label": "省级财政", "value": "province", "order": "10"})
    assert response.status_code == 302
    assert response.url == reverse("system:dict_items", args=[dict_type.pk])
    item = dict_type.items.get()
    assert (item.label, item.value) == ("省级财政", "province")
    assert AuditEvent.objects.filter(action="dicttype.create", object_id=str(dict_type.pk)).exists()
    event = AuditEvent.objects.get(action="dictitem.create", object_id=str(item.pk))
    assert event.after["value"] == "province"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"code": "enterprise_size", "name": "重复"}, "code", "字典类型已存在"),
        ({"code": "Bad-Code", "name": "某字典"}, "code", "须以小写字母开头"),
        ({"code": "ok_code", "name": ""}, "name", "请输入字典名称"),
    ],
)
def test_invalid_type_is_a_chinese_field_error(login, sysadmin, data, field, message):
    before = DictType.objects.count()
    response = login(sysadmin).post(CREATE, data)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert DictType.objects.count() == before


def test_duplicate_value_in_the_same_type_is_refused(login, sysadmin, custom):
    url = reverse("system:dict_item_create", args=[custom.pk])
    response = login(sysadmin).post(url, {"label": "另一个", "value": "a", "order": "20"})
    assert response.status_code == 200
    assert response.context["form"].errors["value"] == ["该字典中已存在键值“a”"]
    assert custom.items.count() == 1


def test_same_value_in_another_type_is_fine(login, sysadmin, custom, builtin):
    url = reverse("system:dict_item_create", args=[builtin.pk])
    response = login(sysadmin).post(url, {"label": "A 类", "value": "a", "order": "50"})
    assert response.status_code == 302
    assert builtin.items.filter(value="a").exists()


def test_edit_item_to_a_sibling_value_is_refused(login, sysadmin, builtin):
    small = builtin.items.get(value="small")
    url = reverse("system:dict_item_update", args=[small.pk])
    response = login(sysadmin).post(url, {"label": "小型", "value": "micro", "order": "30"})
    assert response.context["form"].errors["value"] == ["该字典中已存在键值“micro”"]
    response = login(sysadmin).post(url, {"label": "小型企业", "value": "small", "order": "30"})
    assert response.status_code == 302
    small.refresh_from_db()
    assert small.label == "小型企业"
    event = AuditEvent.objects.get(action="dictitem.update", object_id=str(small.pk))
    assert (event.before["label"], event.after["label"]) == ("小型", "小型企业")


def test_builtin_type_keeps_its_code(login, sysadmin, builtin):
    url = reverse("system:dict_update", args=[builtin.pk])
    response = login(sysadmin).post(url, {"code": "renamed", "name": "企业规模（国标）"})
    assert response.status_code == 302
    builtin.refresh_from_db()
    assert builtin.code == "enterprise_size"  # the disabled field ignores the posted code
    assert builtin.name == "企业规模（国标）"


def test_service_refuses_a_new_code_for_a_builtin_type(sysadmin, builtin):
    with pytest.raises(ValidationFailed) as caught:
        services.save_dict_type(sysadmin, builtin, code="renamed", name="企业规模")
    assert caught.value.details == {"code": ["内置字典的字典类型被程序引用，不能修改"]}


def test_builtin_type_cannot_be_disabled_but_its_items_can(login, sysadmin, builtin):
    client = login(sysadmin)
    response = client.post(reverse("system:dict_toggle", args=[builtin.pk]), follow=True)
    assert "内置字典被系统功能引用，不能停用" in response.content.decode()
    builtin.refresh_from_db()
    assert builtin.status == Status.ENABLED
    micro = builtin.items.get(value="micro")
    client.post(reverse("system:dict_item_toggle", args=[micro.pk]))
    micro.refresh_from_db()
    assert micro.status == Status.DISABLED
    assert AuditEvent.objects.filter(action="dictitem.status", object_id=str(micro.pk)).exists()


def test_custom_type_can_be_disabled(login, sysadmin, custom):
    login(sysadmin).post(reverse("system:dict_toggle", args=[custom.pk]))
    custom.refresh_from_db()
    assert custom.status == Status.DISABLED
