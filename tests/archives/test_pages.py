"""The 归档 pages: disbursed cases to archive, archived cases searched and paged, downloads
through permission and data-scope checks (an enterprise only ever gets its own zip)."""

from __future__ import annotations

import hashlib
import zipfile
from io import BytesIO

import pytest
from django.urls import reverse

from policywindow.applications.models import ApplicationStatus as S
from policywindow.archives import services
from policywindow.archives.models import Archive
from policywindow.enterprises.models import EnterpriseMember

pytestmark = pytest.mark.django_db


def _content(response) -> bytes:
    return b"".join(response.streaming_content)


def _owner(case):
    """The enterprise user who filed the case (a member of its enterprise)."""
    return EnterpriseMember.objects.get(enterprise=case.enterprise).user


@pytest.fixture
def two(people, make_disbursed) -> list[Archive]:
    cases = [make_disbursed("甲测试科技有限公司"), make_disbursed("乙测试科技有限公司")]
    return [services.archive_case(people["admin"], case.pk) for case in cases]


def test_the_list_offers_disbursed_cases_to_the_policy_office(people, disbursed, login):
    html = login(people["admin"]).get(reverse("archives:case_list")).content.decode()
    assert disbursed.number in html and f'name="applications" value="{disbursed.pk}"' in html
    assert "归档所选办件" in html
    finance = login(people["finance_officer"]).get(reverse("archives:case_list"))
    assert disbursed.number in finance.content.decode()
    assert 'name="applications"' not in finance.content.decode()


def test_archiving_one_case_from_the_page(people, disbursed, login):
    client = login(people["admin"])
    response = client.post(
        reverse("archives:archive_create"), {"applications": [disbursed.pk]}, follow=True
    )
    html = response.content.decode()
    assert f"办件 {disbursed.number} 已归档" in html
    assert response.redirect_chain[-1][0].startswith(reverse("archives:archive_list"))
    archive = Archive.objects.get()
    assert archive.sha256[:16] in html
    assert disbursed.number not in client.get(reverse("archives:case_list")).content.decode()
    again = client.post(
        reverse("archives:archive_create"), {"applications": [disbursed.pk]}, follow=True
    )
    assert "已归档，不能重复归档" in again.content.decode() and Archive.objects.count() == 1


def test_the_archived_list_searches_and_pages(people, two, login, monkeypatch):
    client = login(people["finance_officer"])
    url = reverse("archives:archive_list")
    first, second = (a.application for a in two)
    html = client.get(url, {"number": first.number}).content.decode()
    assert first.number in html and second.number not in html
    html = client.get(url, {"enterprise": "乙测试"}).content.decode()
    assert second.number in html and first.number not in html
    monkeypatch.setattr("policywindow.core.paging.PAGE_SIZE", 1)
    pages = [client.get(url, {"page": n}).content.decode() for n in (1, 2)]
    assert second.number in pages[0] and first.number not in pages[0]  # newest first
    assert first.number in pages[1]


def test_staff_download_the_zip_as_archived(people, two, login, make_user):
    archive = two[0]
    url = reverse("archives:download", args=[archive.pk])
    for user in (people["admin"], people["finance_officer"], make_user("leader", "bureau_leader")):
        response = login(user).get(url)
        assert response.status_code == 200, user
        data = _content(response)
        assert hashlib.sha256(data).hexdigest() == archive.sha256
        assert "attachment" in response["Content-Disposition"]
        assert "manifest.json" in zipfile.ZipFile(BytesIO(data)).namelist()
    assert login(people["a"]).get(url).status_code == 403  # a reviewer has no archive menu


def test_an_enterprise_downloads_only_its_own_archive(two, login):
    mine, theirs = two
    owner = _owner(mine.application)
    client = login(owner)
    listing = client.get(reverse("archives:my_list")).content.decode()
    assert mine.application.number in listing and theirs.application.number not in listing
    response = client.get(reverse("archives:my_download", args=[mine.pk]))
    assert response.status_code == 200
    assert hashlib.sha256(_content(response)).hexdigest() == mine.sha256
    # Enterprise B asking for A's archive: not found, whichever way it asks.
    assert client.get(reverse("archives:my_download", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("archives:download", args=[theirs.pk])).status_code == 403
    other = login(_owner(theirs.application))
    assert other.get(reverse("archives:my_download", args=[mine.pk])).status_code == 404


def test_archives_outside_the_data_scope_are_not_found(
    people, two, login, make_user, make_department, narrowed_scope
):
    narrowed_scope("finance_officer", "dept")
    outsider = login(make_user("f_out", "finance_officer", dept=make_department("省商务厅")))
    archive = two[0]
    assert outsider.get(reverse("archives:download", args=[archive.pk])).status_code == 404
    listing = outsider.get(reverse("archives:archive_list")).content.decode()
    assert archive.application.number not in listing


def test_menus_follow_the_roles(people, login, make_user, disbursed):
    def menu(user) -> str:
        return login(user).get(reverse("system:home")).content.decode()

    for user in (people["admin"], people["finance_officer"], make_user("leader", "bureau_leader")):
        assert 'data-menu="finance.archive"' in menu(user)
    assert 'data-menu="finance.archive"' not in menu(people["clerk"])
    portal = login(_owner(disbursed)).get(reverse("archives:my_list")).content.decode()
    assert 'data-menu="portal.archives"' in portal and "暂无已归档办结的申报" in portal
    assert disbursed.status == S.DISBURSED
