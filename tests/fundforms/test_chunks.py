"""Forms laid out many at a time (rendering.lay_out_forms) and written out one by one: each is
the very PDF the form gives alone, with only its own characters in its fonts; the batch PDF is
the summary followed by the chunks' pages, the same bytes when it is made again (issue 16)."""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django_tasks_db.models import DBTaskResult
from pypdf import PdfReader

from policywindow.core.pdf_render import PdfNotRendered
from policywindow.fundforms import rendering, services
from policywindow.fundforms.models import FormChunk
from policywindow.fundforms.verification import verify

from .conftest import pdf_text

pytestmark = pytest.mark.django_db

RARE = "𪚥"  # CJK Extension B: in none of the fonts (tests/core/test_pdf_render.py)


def _variant(content: dict, n: int, name: str, **changes) -> dict:
    """Another form's snapshot: its own number, enterprise and amounts."""
    variant = copy.deepcopy(content)
    variant["number"] = f"辽营商兑〔2026〕{9000 + n:04d}号"
    variant["enterprise"]["name"] = name
    variant["enterprise"]["bank_account"] = f"62220202001{n:08d}"
    variant.update(changes)
    return variant


@pytest.fixture
def contents(issued) -> list[dict]:
    base = issued.content  # with a reduction and its reason
    return [
        base,
        _variant(base, 2, "鞍钢集团矿业弓长岭有限公司", reductions=[], approved_amount="320000.00"),
        _variant(base, 3, "大连冰山嘉德自动化有限公司", requested_amount="1200000.05"),
        _variant(base, 4, "营口忠旺铝业"),
    ]


def _compact(text: str) -> str:
    return "".join(text.split())


def _page_text(pdf: bytes) -> str:
    return _compact(pdf_text(pdf))


def _font_characters(pdf: bytes) -> set[str]:
    """Every character the PDF's embedded fonts map a glyph to (their ToUnicode maps)."""
    reader = PdfReader(io.BytesIO(pdf))
    chars = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            cmap = font.get_object()["/ToUnicode"].get_object().get_data().decode("latin-1")
            for code in re.findall(r"<[0-9a-f]{4}> <([0-9a-f]+)>", cmap):
                chars.add(bytes.fromhex(code).decode("utf-16-be"))
    return chars


def test_each_form_of_a_chunk_is_the_very_pdf_it_gives_alone(contents):
    sheets = rendering.lay_out_forms(contents)
    assert not sheets.alone  # one layout for all four
    for index, content in enumerate(contents):
        assert sheets.form(index) == rendering.form_pdf(content), content["number"]


def test_a_form_written_out_of_a_chunk_carries_only_its_own_characters(contents):
    sheets = rendering.lay_out_forms(contents)
    second = sheets.form(1)
    assert len(PdfReader(io.BytesIO(second)).pages) == 1
    text = _page_text(second)
    assert contents[1]["number"] in text and "第1页共1页" in text  # numbered on its own
    assert contents[0]["number"] not in text
    fonts = _font_characters(second)
    assert set("鞍钢弓长岭") <= fonts  # its enterprise's name: subset to this page …
    assert not set("冰山嘉德忠旺铝") & fonts  # … not the other forms' names


def test_a_form_longer_than_a_page_is_laid_out_alone_with_its_own_page_count(contents):
    long = copy.deepcopy(contents[1])
    row = long["opinions"][0]
    row["decisions"] = [
        {**row["decisions"][0], "opinion": "经逐项核对研发费用归集凭证，同意。" * 12}
    ] * 12
    sheets = rendering.lay_out_forms([contents[0], long])
    assert sheets.alone
    pdf = sheets.form(1)
    assert pdf == rendering.form_pdf(long)
    assert sheets.form(1) == pdf  # written again from the same layout: the same file
    pages = [_compact(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]
    count = len(pages)
    assert count > 1
    assert all(f"第{n}页共{count}页" in text for n, text in enumerate(pages, start=1))
    assert sheets.form(0) == rendering.form_pdf(contents[0])


def test_a_character_without_a_font_stops_only_its_own_form(contents):
    contents[2] = _variant(contents[2], 3, f"沈阳{RARE}精密制造有限公司")
    sheets = rendering.lay_out_forms(contents)
    with pytest.raises(PdfNotRendered) as refused:
        sheets.form(2)
    assert refused.value.details == {"missing": RARE}
    assert contents[2]["number"] in refused.value.message
    assert sheets.form(3) == rendering.form_pdf(contents[3])  # the next one is made
    with pytest.raises(PdfNotRendered):  # and no part of the batch PDF without the glyph
        sheets.part()


@pytest.fixture
def chunks_of_two(monkeypatch):
    monkeypatch.setattr(services, "CHUNK", 2)


def test_issuing_queues_one_file_run_per_chunk(
    people, make_approved, chunks_of_two, django_capture_on_commit_callbacks
):
    cases = [make_approved(f"测试{n}号科技有限公司") for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.issue_batch(people["admin"], [c.pk for c in cases])
    runs = DBTaskResult.objects.filter(task_path="policywindow.fundforms.tasks.produce_batch_files")
    assert [run.args_kwargs["args"] for run in runs] == [[batch.pk], [batch.pk]]


def test_the_batch_pdf_is_the_summary_then_each_form_as_issued(
    people, make_approved, chunks_of_two
):
    cases = [make_approved(f"测试{n}号科技有限公司") for n in range(3)]
    batch = services.produce_files(services.issue_batch(people["admin"], [c.pk for c in cases]))
    chunks = list(batch.chunks.order_by("index"))
    assert [(c.index, c.last - c.first + 1) for c in chunks] == [(0, 2), (1, 1)]
    assert all(c.done_at and not c.part for c in chunks)  # parts deleted once joined
    assert not list((Path(settings.MEDIA_ROOT) / "fundforms" / "parts").glob("*"))

    stored = services.batch_file(batch)
    reader = PdfReader(io.BytesIO(stored))
    assert len(reader.pages) == 4
    assert batch.number in _compact(reader.pages[0].extract_text())
    forms = list(batch.forms.order_by("sequence"))
    for page, form in zip(reader.pages[1:], forms, strict=True):
        assert _compact(page.extract_text()) == _page_text(services.form_file(form))
    assert verify(stored).matches_record
    assert services.render_batch(batch) == stored  # the chunks laid out again: same bytes


def test_a_stored_part_and_a_part_laid_out_again_are_the_same(people, make_approved, monkeypatch):
    cases = [make_approved(f"测试{n}号科技有限公司") for n in range(2)]
    batch = services.issue_batch(people["admin"], [c.pk for c in cases])
    monkeypatch.setattr(services, "_finish", lambda batch, started: None)  # stop before the join
    services.produce_files(batch)
    (chunk,) = FormChunk.objects.filter(batch=batch)
    with chunk.part.open("rb") as handle:
        kept = handle.read()
    forms = list(batch.forms.order_by("sequence"))
    assert rendering.lay_out_forms([f.content for f in forms]).part() == kept
    assert len(PdfReader(io.BytesIO(kept)).pages) == 2
