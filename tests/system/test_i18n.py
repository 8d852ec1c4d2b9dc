"""Chinese by default, whatever the browser says; English when the user chooses it."""

import pytest
from django.test import Client
from django.utils import translation

pytestmark = pytest.mark.django_db


def test_chinese_by_default_even_for_an_english_browser():
    response = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "用户登录" in response.content.decode()
    assert response["Content-Language"] == "zh-hans"


def test_english_when_chosen_with_the_switch(make_user, login):
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    page = client.get("/login/").content.decode()
    assert "Policy Fulfillment Single Window" in page and "Sign in" in page


def test_sidebar_menu_names_are_translated(make_user):
    from policywindow.system.selectors import sidebar_for

    user = make_user("english", "sys_admin")
    with translation.override("en"):
        names = [child.name for item in sidebar_for(user) for child in item.children]
    assert "Users" in names and "Holiday calendar" in names


def test_every_english_message_is_translated():
    from pathlib import Path

    import policywindow

    po = (Path(policywindow.__file__).parent / "locale/en/LC_MESSAGES/django.po").read_text(
        encoding="utf-8"
    )
    entries = po.split("\n\n")[1:]  # the first block is the header
    untranslated = [e for e in entries if e.rstrip().endswith('msgstr ""')]
    assert untranslated == []
