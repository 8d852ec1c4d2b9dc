"""岗位管理: list, create, edit, enable and disable through the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from policywindow.core.models import AuditEvent
from policywindow.system.models import Post, Status

pytestmark = pytest.mark.django_db

LIST = reverse("system:post_list")
CREATE = reverse("system:post_create")


@pytest.fixture
def post(db) -> Post:
    return Post.objects.create(code="clerk", name="科员", order=30)


def test_system_admin_sees_posts_with_their_user_count(login, sysadmin, post, make_user):
    make_user("kuanyuan").posts.add(post)
    response = login(sysadmin).get(LIST)
    assert response.status_code == 200
    row = next(p for p in response.context["page"] if p.pk == post.pk)
    assert row.user_count == 1
    assert "科员" in response.content.decode()


@pytest.mark.parametrize("who", ["enterprise_user", "auditor", "secadmin"])
def test_other_roles_are_refused(request, login, post, who):
    client = login(request.getfixturevalue(who))
    assert client.get(LIST).status_code == 403
    assert client.post(CREATE, {"code": "x", "name": "x", "order": 1}).status_code == 403
    assert client.post(reverse("system:post_toggle", args=[post.pk])).status_code == 403
    post.refresh_from_db()
    assert post.status == Status.ENABLED


def test_search_by_name_or_code(login, sysadmin, post):
    Post.objects.create(code="window", name="窗口受理员", order=40)
    page = login(sysadmin).get(LIST, {"q": "窗口"}).context["page"]
    assert [p.code for p in page] == ["window"]


def test_create_post_is_audited(login, sysadmin):
    data = {"code": "finance", "name": "财务专员", "order": "50", "remark": "财政拨付"}
    response = login(sysadmin).post(CREATE, data)
    assert response.status_code == 302
    created = Post.objects.get(code="finance")
    assert created.name == "财务专员"
    event = AuditEvent.objects.get(action="post.create", object_id=str(created.pk))
    assert event.after == {"code": "finance", "name": "财务专员", "order": 50, "remark": "财政拨付"}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"code": "CLERK", "name": "重复", "order": "1"}, "code", "岗位编码已存在"),
        ({"code": "1abc", "name": "岗位", "order": "1"}, "code", "岗位编码须以字母开头"),
        ({"code": "abc", "name": "", "order": "1"}, "name", "请输入岗位名称"),
        ({"code": "abc", "name": "岗位", "order": "-1"}, "order", "显示顺序不能小于 0"),
        ({"code": "abc", "name": "岗位", "order": "x"}, "order", "显示顺序须为整数"),
    ],
)
def test_invalid_input_is_a_chinese_field_error(login, sysadmin, post, data, field, message):
    response = login(sysadmin).post(CREATE, data)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert Post.objects.count() == 1


def test_edit_keeps_its_own_code_and_records_before_and_after(login, sysadmin, post):
    url = reverse("system:post_update", args=[post.pk])
    page = login(sysadmin).get(url)
    assert page.context["form"].initial["code"] == "clerk"
    response = login(sysadmin).post(url, {"code": "clerk", "name": "一级科员", "order": "31"})
    assert response.status_code == 302
    post.refresh_from_db()
    assert (post.name, post.order) == ("一级科员", 31)
    event = AuditEvent.objects.get(action="post.update", object_id=str(post.pk))
    assert event.before["name"] == "科员"
    assert event.after["name"] == "一级科员"


def test_edit_to_another_posts_code_is_refused(login, sysadmin, post):
    other = Post.objects.create(code="director", name="处长")
    response = login(sysadmin).post(
        reverse("system:post_update", args=[other.pk]),
        {"code": "clerk", "name": "处长", "order": 1},
    )
    assert response.context["form"].errors["code"] == ["岗位编码已存在"]
    other.refresh_from_db()
    assert other.code == "director"


def test_disable_and_enable(login, sysadmin, post):
    client = login(sysadmin)
    url = reverse("system:post_toggle", args=[post.pk])
    assert client.get(url).status_code == 405
    client.post(url)
    post.refresh_from_db()
    assert post.status == Status.DISABLED
    client.post(url)
    post.refresh_from_db()
    assert post.status == Status.ENABLED
    statuses = AuditEvent.objects.filter(action="post.status").order_by("id")
    assert [e.after["status"] for e in statuses] == ["disabled", "enabled"]
