"""Built-in menus follow their routes as the code names them (system/bootstrap.py): a database
made before a page moved to another app gets the new route name on the next migrate."""

from __future__ import annotations

import pytest
from django.urls import reverse

from policywindow.system.bootstrap import sync_builtin_data
from policywindow.system.models import Menu
from policywindow.system.selectors import sidebar_for

pytestmark = pytest.mark.django_db


def _links(user) -> set[str]:
    found = set()
    stack = list(sidebar_for(user))
    while stack:
        item = stack.pop()
        found.add(item.url)
        stack.extend(item.children)
    return found


def test_a_builtin_menu_gets_its_renamed_route_on_the_next_sync(make_user, login):
    chief = make_user("sync_chief", "section_chief")
    stats = reverse("applications:review_stats")
    # 办理时效 as a database made before it moved from the workflow app names it.
    Menu.objects.filter(key="approval.stats").update(url_name="workflow:stats")
    assert stats not in _links(chief)  # an unknown route: the menu is not drawn
    before = login(chief).get(reverse("workflow:todo")).content.decode()  # sidebar cached now
    assert f'href="{stats}"' not in before

    sync_builtin_data()

    assert Menu.objects.get(key="approval.stats").url_name == "applications:review_stats"
    assert stats in _links(chief)
    page = login(chief).get(reverse("workflow:todo")).content.decode()
    assert f'href="{stats}"' in page
