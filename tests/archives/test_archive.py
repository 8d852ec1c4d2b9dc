"""Archiving a disbursed case: the zip holds the full file with a manifest of SHA-256s, the
case moves 已拨付 → 已办结 with its audit trail, and nothing is archived twice or wrongly."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from policywindow.applications.models import Application, ApplicationEvent
from policywindow.applications.models import ApplicationStatus as S
from policywindow.archives import package, services
from policywindow.archives.models import Archive
from policywindow.core.audit import verify_chain
from policywindow.core.errors import Conflict, NotFound, PermissionDenied
from policywindow.core.models import AuditEvent
from policywindow.fundforms import services as fundforms
from tests.fundforms.conftest import pdf_text

from .conftest import MATERIALS

pytestmark = pytest.mark.django_db

FOLDER = "申报材料/研发费用专项审计报告"


def _zips() -> list[Path]:
    return sorted((Path(settings.MEDIA_ROOT) / "archives").rglob("*.zip"))


def _open(archive: Archive) -> zipfile.ZipFile:
    return zipfile.ZipFile(archive.file.path)


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.fixture
def archived(people, disbursed) -> Archive:
    return services.archive_case(people["admin"], disbursed.pk)


def test_the_zip_holds_every_part_of_the_file_under_safe_names(archived):
    names = set(_open(archived).namelist())
    assert names == {
        "manifest.json",
        package.FUND_FORM_NAME,
        package.CASE_PDF_NAME,
        package.OPINIONS_NAME,
        package.TIMELINE_NAME,
        f"{FOLDER}/审计报告.pdf",  # ../../etc/ dropped
        f"{FOLDER}/审计报告 (2).pdf",  # the same name twice stays two files
        f"{FOLDER}/研发项目立项书.docx",
    }


def test_the_manifest_lists_every_file_with_a_matching_sha256(archived):
    with _open(archived) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        listed = {entry["name"]: entry for entry in manifest["files"]}
        assert set(listed) == set(zf.namelist()) - {"manifest.json"}
        for name, entry in listed.items():
            data = zf.read(name)
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
            assert len(data) == entry["size"], name
    case = archived.application
    assert manifest["application"]["number"] == case.number
    assert manifest["application"]["fund_form"] == case.fund_form.number
    assert manifest["archived_by"] == "孙政策" and manifest["algorithm"] == "SHA-256"
    assert archived.file_count == len(listed)
    stored = Path(archived.file.path).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == archived.sha256 and len(stored) == archived.size


def test_materials_are_byte_identical_and_keep_their_original_names(archived):
    with _open(archived) as zf:
        files = [zf.read(f"{FOLDER}/审计报告.pdf"), zf.read(f"{FOLDER}/审计报告 (2).pdf")]
        files.append(zf.read(f"{FOLDER}/研发项目立项书.docx"))
        originals = {
            e["name"]: e["original_name"]
            for e in json.loads(zf.read("manifest.json"))["files"]
            if e["kind"] == "material"
        }
    assert files == [data for _, data in MATERIALS]
    assert originals[f"{FOLDER}/审计报告.pdf"] == "../../etc/审计报告.pdf"  # recorded as uploaded


def test_every_opinion_and_the_timeline_are_in_the_zip(archived):
    with _open(archived) as zf:
        opinions = _csv(zf.read(package.OPINIONS_NAME))
        timeline = _csv(zf.read(package.TIMELINE_NAME))
        fund_form = zf.read(package.FUND_FORM_NAME)
        case_pdf = zf.read(package.CASE_PDF_NAME)
    assert opinions[0] == list(package.OPINION_COLUMNS)
    rows = {(r[2], r[4], r[5], r[6]) for r in opinions[1:]}
    assert rows == {
        ("科技厅审核", "李明远", "通过", "经审核，研发费用专项审计报告真实有效，同意。"),
        ("财政厅审核", "王晓燕", "通过", "资金来源已落实，同意。"),
        ("分管领导审批", "赵志刚", "通过", "同意拨付。"),
    }
    assert all(r[3] and r[10].startswith("20") for r in opinions[1:])  # department and date
    steps = [row[2] for row in timeline[1:]]
    assert "窗口受理" in steps and "出具经费审批表" in steps
    assert any("待拨付 → 已拨付" in row[4] for row in timeline[1:])
    case = archived.application
    assert fund_form == fundforms.form_file(case.fund_form)  # the signed form, as stored
    text = "".join(pdf_text(case_pdf).split())
    for expected in (case.number, case.enterprise.name, "高精度数控机床主轴研发", "同意拨付。"):
        assert expected in text, expected


def test_archiving_moves_the_case_and_leaves_an_audit_trail(archived):
    case = Application.objects.get(pk=archived.application_id)
    assert case.status == S.ARCHIVED
    event = ApplicationEvent.objects.get(application=case, action="archive")
    assert (event.from_status, event.to_status) == (S.DISBURSED, S.ARCHIVED)
    assert archived.sha256 in event.note
    audit = AuditEvent.objects.get(action="archive.create")
    assert audit.after["sha256"] == archived.sha256 and audit.after["application"] == case.number
    assert AuditEvent.objects.filter(action="application.archive").count() == 1
    assert verify_chain().ok


def test_a_case_is_archived_once(people, archived):
    with pytest.raises(Conflict, match="已归档，不能重复归档"):
        services.archive_case(people["admin"], archived.application_id)
    assert Archive.objects.count() == 1 and len(_zips()) == 1


def test_only_disbursed_cases_with_a_fund_form_can_be_archived(people, make_disbursed):
    case = make_disbursed("甲测试科技有限公司")
    Application.objects.filter(pk=case.pk).update(status=S.IN_FINANCE)
    with pytest.raises(Conflict, match="只有已拨付的办件可以归档"):
        services.archive_case(people["admin"], case.pk)
    no_form = make_disbursed("乙测试科技有限公司", form=False)
    with pytest.raises(Conflict, match="尚未出具经费审批表"):
        services.archive_case(people["admin"], no_form.pk)
    assert not Archive.objects.exists() and _zips() == []


def test_a_material_changed_on_disk_is_refused_and_nothing_is_kept(people, disbursed):
    material = disbursed.materials.order_by("pk").first()
    Path(material.file.path).write_bytes(b"tampered")
    with pytest.raises(Conflict, match="校验码不一致"):
        services.archive_case(people["admin"], disbursed.pk)
    disbursed.refresh_from_db()
    assert disbursed.status == S.DISBURSED and not Archive.objects.exists() and _zips() == []


def test_a_case_that_moved_while_its_zip_was_built_is_not_archived(people, disbursed, monkeypatch):
    build = package.build

    def build_then_someone_acts(case, **kwargs):
        built = build(case, **kwargs)
        Application.objects.filter(pk=case.pk).update(revision=case.revision + 1)
        return built

    monkeypatch.setattr(package, "build", build_then_someone_acts)
    with pytest.raises(Conflict, match="已被他人处理"):
        services.archive_case(people["admin"], disbursed.pk)
    assert not Archive.objects.exists() and _zips() == []


def test_who_may_archive(people, disbursed, make_user, make_department, narrowed_scope):
    for user in (people["finance_officer"], make_user("leader", "bureau_leader")):
        with pytest.raises(PermissionDenied):
            services.archive_case(user, disbursed.pk)
    narrowed_scope("policy_admin", "dept")
    elsewhere = make_user("other_admin", "policy_admin", dept=make_department("省商务厅"))
    with pytest.raises(NotFound):
        services.archive_case(elsewhere, disbursed.pk)
    assert not Archive.objects.exists()
