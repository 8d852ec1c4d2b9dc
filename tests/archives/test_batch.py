"""Archiving many cases: checked at once, archived by the worker one case at a time with
progress on the batch page; a run that dies part-way is finished by the next one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.archives import services
from policywindow.archives.models import Archive, ArchiveBatch
from policywindow.archives.tasks import resume_archive_batches
from policywindow.core.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.django_db

TASK = "policywindow.archives.tasks.run_archive_batch"


def _zips() -> list[Path]:
    return sorted((Path(settings.MEDIA_ROOT) / "archives").rglob("*.zip"))


@pytest.fixture
def cases(make_disbursed) -> list[Application]:
    return [make_disbursed(f"测试{n}号科技有限公司") for n in range(1, 4)]


def test_a_batch_is_checked_before_it_starts(people, cases, make_disbursed):
    with pytest.raises(ValidationFailed, match="请先勾选"):
        services.start_batch(people["admin"], [])
    Application.objects.filter(pk=cases[0].pk).update(status=S.IN_FINANCE)
    with pytest.raises(Conflict, match=f"{cases[0].number} 当前状态为“待拨付”"):
        services.start_batch(people["admin"], [c.pk for c in cases])
    assert not ArchiveBatch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_archives_the_batch_and_records_the_progress(people, cases, login):
    client = login(people["admin"])
    response = client.post(
        reverse("archives:archive_create"), {"applications": [c.pk for c in cases]}, follow=True
    )
    batch = ArchiveBatch.objects.get()
    assert response.redirect_chain[-1][0] == reverse("archives:batch_detail", args=[batch.pk])
    html = response.content.decode()
    progress_url = reverse("archives:batch_progress", args=[batch.pk])
    assert "已开始批量归档 3 件" in html and f'hx-get="{progress_url}"' in html
    assert "已归档 0/3" in html and not Archive.objects.exists()  # nothing in the request

    call_command("worker", batch=True)

    assert DBTaskResult.objects.get(task_path=TASK).status == "SUCCESSFUL"
    batch.refresh_from_db()
    assert (batch.done, batch.failed, batch.total) == (3, 0, 3) and batch.finished_at
    assert set(Archive.objects.values_list("batch_id", flat=True)) == {batch.pk}
    assert set(Application.objects.values_list("status", flat=True)) == {S.ARCHIVED}
    fragment = client.get(progress_url).content.decode()
    assert "已归档 3/3" in fragment and "全部归档完成" in fragment and "hx-get" not in fragment


def test_a_run_killed_part_way_is_finished_by_the_next(people, cases, monkeypatch):
    batch = services.start_batch(people["admin"], [c.pk for c in cases])
    real = services.archive_case
    done: list[int] = []

    def dies_after_one(actor, pk, **kwargs):
        if done:
            raise SystemExit("worker killed")
        done.append(pk)
        return real(actor, pk, **kwargs)

    monkeypatch.setattr(services, "archive_case", dies_after_one)
    with pytest.raises(SystemExit):
        services.run_batch(batch)
    batch.refresh_from_db()
    assert batch.done == 1 and not batch.finished_at
    first = Archive.objects.get()

    stale = timezone.now() - services.STALLED_AFTER - dt.timedelta(minutes=1)
    ArchiveBatch.objects.filter(pk=batch.pk).update(touched_at=stale, created_at=stale)
    assert resume_archive_batches.call() == [batch.pk]
    assert services.claim_stalled_batches() == []

    monkeypatch.setattr(services, "archive_case", real)
    services.run_batch(batch)
    batch.refresh_from_db()
    assert (batch.done, batch.failed) == (3, 0) and batch.finished_at
    assert Archive.objects.count() == 3 and len(_zips()) == 3  # none made twice
    assert Archive.objects.get(pk=first.pk).sha256 == first.sha256


def test_a_case_that_cannot_be_archived_is_listed_and_the_others_go_on(people, cases, login):
    batch = services.start_batch(people["admin"], [c.pk for c in cases])
    broken = cases[1]
    material = broken.materials.order_by("pk").first()
    Path(material.file.path).write_bytes(b"tampered")
    services.run_batch(batch)
    batch.refresh_from_db()
    assert (batch.done, batch.failed) == (2, 1)
    assert batch.errors[0]["number"] == broken.number
    assert "校验码不一致" in batch.errors[0]["reason"]
    html = (
        login(people["finance_officer"])
        .get(reverse("archives:batch_detail", args=[batch.pk]))
        .content.decode()
    )
    assert "1 件未能归档" in html and "校验码不一致" in html and "hx-get" not in html
    broken.refresh_from_db()
    assert broken.status == S.DISBURSED
