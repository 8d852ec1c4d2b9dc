"""法人空间 is the enterprise user's home and the first entry of 企业服务."""

from __future__ import annotations

import pytest
from django.urls import reverse

from policywindow.system.models import Menu, Role

pytestmark = pytest.mark.django_db


def test_an_enterprise_user_lands_in_the_space(world, login):
    response = login(world.a_user).get(reverse("system:home"))
    assert response.status_code == 302 and response.url == reverse("space:index")


def test_staff_keep_the_workbench(world, login):
    response = login(world.clerk).get(reverse("system:home"))
    assert response.status_code == 200 and "工作台" in response.content.decode()


def test_an_enterprise_role_without_the_space_keeps_the_workbench(world, login):
    role = Role.objects.get(code="enterprise")
    role.menus.remove(Menu.objects.get(key="portal.space"))
    response = login(world.a_user).get(reverse("system:home"))
    assert response.status_code == 200


def test_the_space_is_the_first_portal_entry_granted_to_enterprises(world, login):
    space = Menu.objects.get(key="portal.space")
    assert space.permission == "portal:space:view" and space.url_name == "space:index"
    siblings = Menu.objects.filter(parent=space.parent).order_by("order", "id")
    assert siblings.first() == space
    assert Role.objects.get(code="enterprise").menus.filter(pk=space.pk).exists()
    html = login(world.a_user).get(reverse("space:index")).content.decode()
    assert 'data-menu="portal.space"' in html
