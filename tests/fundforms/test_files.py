"""The batch's signed files are made in the background: queued when the batch commits, run by
the worker, with progress on the batch page; a run that dies part-way is finished by the next
one without making any file twice; a download never waits for the worker."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from policywindow.fundforms import rendering, selectors, services
from policywindow.fundforms.models import FormBatch
from policywindow.fundforms.tasks import resume_batch_files

from .conftest import pdf_text

pytestmark = pytest.mark.django_db

TASK = "policywindow.fundforms.tasks.produce_batch_files"


def _form_files() -> list[Path]:
    return sorted((Path(settings.MEDIA_ROOT) / "fundforms" / "forms").glob("*.pdf"))


def _content(response) -> bytes:
    return response.getvalue()  # streamed (a stored file) or not (made for the request)


@pytest.fixture
def three(people, make_approved) -> FormBatch:
    cases = [make_approved(f"测试{n}号科技有限公司") for n in range(1, 4)]
    return services.issue_batch(people["admin"], [c.pk for c in cases], label="第一批")


def _form_reason(reason: str) -> bool:
    return reason.startswith(f"{rendering.FORM_TITLE} ")  # not the batch's (汇总表)


@pytest.fixture
def dies_after(monkeypatch):
    """Forms are made normally until the ``k``-th is signed, then the worker process 'dies'
    (SystemExit, which the run does not catch — as if it were killed). Returns the numbers of
    the forms made (signed) since."""
    real = services._sign

    def arm(k: int) -> list[str]:
        made: list[str] = []

        def sign(pdf, moment, reason):
            if _form_reason(reason):
                if len(made) == k:
                    raise SystemExit("worker killed")
                made.append(reason)
            return real(pdf, moment, reason)

        monkeypatch.setattr(services, "_sign", sign)
        return made

    return arm


def test_issuing_queues_one_file_task_when_the_batch_commits(
    people, make_approved, django_capture_on_commit_callbacks
):
    case = make_approved()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        batch = services.issue_batch(people["admin"], [case.pk])
    assert len(callbacks) == 1
    queued = DBTaskResult.objects.get(task_path=TASK)
    assert queued.args_kwargs["args"] == [batch.pk] and queued.status == "READY"
    assert not batch.forms.get().sha256  # nothing rendered in the request


def test_a_refused_issue_queues_nothing(people, approved, django_capture_on_commit_callbacks):
    Conflict = services.Conflict
    services.issue_batch(people["admin"], [approved.pk])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict):
        services.issue_batch(people["admin"], [approved.pk])
    assert FormBatch.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_worker_makes_every_file_and_records_the_progress(people, make_approved):
    cases = [make_approved("甲测试科技有限公司"), make_approved("乙测试科技有限公司")]
    batch = services.issue_batch(people["admin"], [c.pk for c in cases])
    assert selectors.file_progress(batch).state == "queued"

    call_command("worker", batch=True)

    batch.refresh_from_db()
    assert DBTaskResult.objects.get(task_path=TASK).status == "SUCCESSFUL"
    assert (batch.files_total, batch.files_done, batch.files_failed) == (3, 3, 0)
    assert batch.sha256 and batch.xlsx and batch.files_finished_at
    for form in batch.forms.all():
        assert hashlib.sha256(Path(form.pdf.path).read_bytes()).hexdigest() == form.sha256
    assert selectors.file_progress(batch).state == "ready"


def test_a_run_killed_after_k_forms_is_finished_by_the_next_without_doubles(three, dies_after):
    made = dies_after(2)
    with pytest.raises(SystemExit):
        services.produce_files(three)
    assert len(made) == 2
    three.refresh_from_db()
    assert three.files_done == 2 and not three.files_finished_at and not three.sha256
    first = {f.pk: f.sha256 for f in three.forms.exclude(sha256="")}
    assert len(first) == 2 and len(_form_files()) == 2

    # Not taken for dead while it may still be running; then queued again by the sweep.
    assert services.claim_stalled_batches() == []
    stale = timezone.now() - services.STALLED_AFTER - dt.timedelta(minutes=1)
    FormBatch.objects.filter(pk=three.pk).update(files_touched_at=stale, created_at=stale)
    assert resume_batch_files.call() == [three.pk]
    assert services.claim_stalled_batches() == []  # claimed: not queued twice
    assert DBTaskResult.objects.filter(task_path=TASK, args_kwargs__args=[three.pk]).exists()

    made = dies_after(99)
    services.produce_files(three)
    assert len(made) == 1  # only the missing form was made
    three.refresh_from_db()
    assert (three.files_done, three.files_total, three.files_failed) == (4, 4, 0)
    forms = list(three.forms.all())
    assert all(f.sha256 for f in forms)
    assert {f.pk: f.sha256 for f in forms if f.pk in first} == first  # unchanged
    files = _form_files()
    assert len(files) == 3  # one file per form, none made twice
    assert sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in files) == sorted(
        f.sha256 for f in forms
    )
    made = dies_after(0)
    services.produce_files(three)  # a further run has nothing left to make
    assert made == [] and len(_form_files()) == 3


def test_a_form_that_fails_is_reported_and_the_others_are_made(three, monkeypatch, people, login):
    real = services._sign
    bad = three.forms.order_by("sequence")[1]

    def sign(pdf, moment, reason):
        if reason.endswith(bad.number):
            raise ValueError("字体文件缺失")
        return real(pdf, moment, reason)

    monkeypatch.setattr(services, "_sign", sign)
    services.produce_files(three)
    three.refresh_from_db()
    progress = selectors.file_progress(three)
    assert (progress.state, progress.done, progress.failed) == ("failed", 3, 1)
    assert bad.number in progress.error and "字体文件缺失" in progress.error
    html = (
        login(people["finance_officer"])
        .get(reverse("fundforms:batch_detail", args=[three.pk]))
        .content.decode()
    )
    assert 'data-state="failed"' in html and "字体文件缺失" in html and "hx-get" not in html
    services.produce_files(three)  # a later run of the batch (one per chunk) finds nothing …
    three.refresh_from_db()
    again = selectors.file_progress(three)
    assert (again.state, again.failed, again.error) == ("failed", 1, progress.error)  # … kept

    monkeypatch.setattr(services, "_sign", real)
    client = login(people["finance_officer"])
    assert _content(client.get(reverse("fundforms:form_pdf", args=[bad.pk]))).startswith(b"%PDF")
    three.refresh_from_db()
    assert selectors.file_progress(three).state == "ready"


def test_the_batch_page_polls_its_progress_until_the_files_are_ready(three, people, login):
    client = login(people["finance_officer"])
    page = client.get(reverse("fundforms:batch_detail", args=[three.pk])).content.decode()
    progress_url = reverse("fundforms:batch_progress", args=[three.pk])
    assert f'hx-get="{progress_url}"' in page and 'hx-trigger="every 2s"' in page
    assert "已完成 0/4" in page and "现在下载也可以" in page

    services.form_file(three.forms.order_by("sequence").first())  # e.g. a worker part-way
    fragment = client.get(progress_url).content.decode()
    assert 'data-state="running"' in fragment and "已完成 1/4" in fragment
    assert f'hx-get="{progress_url}"' in fragment

    services.produce_files(three)
    three.refresh_from_db()
    fragment = client.get(progress_url).content.decode()
    assert 'data-state="ready"' in fragment and "已完成 4/4" in fragment
    assert "hx-get" not in fragment and three.sha256 in fragment  # polling stops


def test_a_download_before_the_worker_ran_makes_the_file_at_once(three, people, login):
    client = login(people["finance_officer"])
    response = client.get(reverse("fundforms:batch_pdf", args=[three.pk]))
    assert response.status_code == 200
    data = _content(response)
    assert three.number in pdf_text(data)
    three.refresh_from_db()
    assert three.sha256 == hashlib.sha256(data).hexdigest() and three.files_done == 1
    services.produce_files(three)  # the worker afterwards keeps what the download made
    three.refresh_from_db()
    assert three.sha256 == hashlib.sha256(data).hexdigest() and three.files_done == 4


def test_progress_is_not_shown_outside_the_data_scope(
    three, login, make_user, make_department, narrowed_scope
):
    narrowed_scope("finance_officer", "dept")
    outsider = make_user("f_out", "finance_officer", dept=make_department("省商务厅"))
    response = login(outsider).get(reverse("fundforms:batch_progress", args=[three.pk]))
    assert response.status_code == 404
