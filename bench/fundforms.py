"""Time and size to produce 1,000 fund approval forms (issues 5 and 16): issue + render + sign.

    make bench
    # or: DATABASE_URL=postgres://postgres@127.0.0.1:5432/policywindow_bench \
    #     .venv/bin/python -m bench.fundforms [--forms 1000] [--batch 100] [--workers 2]

The cases are loaded with the ORM (untimed): N approved cases past publicity, each with three
decided review tasks (two departments in parallel, then a leader) whose opinions the form
prints. Then, timed end to end, the policy administrator issues them in batches of
``--batch`` through ``fundforms.services.issue_batch``, exactly as the page does (the issuing
transaction: locks, numbers, snapshots, timeline, audit; the file tasks queued on commit),
and ``--workers`` worker processes run the queue as ``policywindow worker`` does, sharing the
batches' chunks: each chunk of forms laid out at once (WeasyPrint, embedded Noto CJK font),
each form written out and signed (pyHanko, RSA-3072), each batch's PDF joined from its summary
and its chunks and signed, and its Excel. ``--workers 0`` makes the files in this process
instead, batch after batch. A sample of forms is then rendered and signed again with each
step timed on its own, to show where the time goes.

Afterwards the database and the files are checked: form numbers gap-free 1..N, each stored
file's SHA-256 as recorded, every file's signature verified (valid, matches the record), one
file per form and per batch on disk (none made twice, no chunk part left), a sample rendered
again alone byte for byte as the workers made it, the audit chain intact. Any failed check
exits non-zero.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import resource
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ._database import database_url, prepare_django, recreate
from ._report import database_facts, machine, table
from ._sql import counting
from ._summary import RATE, Headline, Summary, add_report_arguments

SAMPLE = 20
MB = 1024 * 1024


def load_cases(count: int) -> list[int]:
    """N cases 公示通过, each with its review opinions, bulk-inserted (untimed)."""
    from django.utils import timezone

    from policywindow.applications.models import Application
    from policywindow.applications.models import ApplicationStatus as S
    from policywindow.core.codes import make_uscc
    from policywindow.enterprises.models import Enterprise, Industry, Region
    from policywindow.policies.models import Policy, Rule, RuleVersion
    from policywindow.system.models import Department, Role, User
    from policywindow.workflow.models import WorkflowDefinition, WorkflowInstance, WorkflowTask

    now = timezone.now()
    tech = Department.objects.create(name="省科学技术厅", code="BKJT", path="/")
    finance = Department.objects.create(name="省财政厅", code="BCZT", path="/")

    def staff(username: str, name: str, department: Department, *roles: str) -> User:
        user = User.objects.create(
            username=username, real_name=name, department=department, must_change_password=False
        )
        user.roles.set(Role.objects.filter(code__in=roles))
        return user

    reviewers = [
        (
            "科技厅审核",
            staff("b_tech", "李明远", tech, "reviewer"),
            0,
            "研发费用专项审计报告真实有效，同意。",
        ),
        ("财政厅审核", staff("b_fin", "王晓燕", finance, "reviewer"), 0, "资金来源已落实，同意。"),
        ("分管领导审批", staff("b_lead", "赵志刚", tech, "dept_leader"), 1, "同意拨付。"),
    ]
    admin = staff("b_admin", "孙政策", tech, "policy_admin")
    policy = Policy.objects.create(
        title="关于支持企业加大研发投入的若干措施（演示）",
        doc_number="辽科发〔2026〕12号",
        issuing_department=tech,
        status=Policy.Status.PUBLISHED,
        is_demo=True,
    )
    rule = Rule.objects.create(policy=policy, code="BENCH-FORM-001")
    version = RuleVersion.objects.create(
        rule=rule,
        version=1,
        status=RuleVersion.Status.PUBLISHED,
        title="研发费用后补助",
        lead_department=tech,
    )
    rule.current = version
    rule.save(update_fields=["current"])
    workflow = WorkflowDefinition.objects.create(
        rule=rule, version=1, status="published", spec={"levels": []}, created_by=admin
    )
    industry = Industry.objects.filter(level=Industry.Level.DIVISION).order_by("code").first()
    region = Region.objects.filter(level=Region.Level.CITY).order_by("code").first()
    enterprises = Enterprise.objects.bulk_create(
        Enterprise(
            credit_code=make_uscc(f"91210100MA{n:07d}"),
            name=f"辽宁测试研发制造有限公司{n:04d}",
            legal_representative="王法人",
            industry=industry,
            region=region,
            bank_name="中国工商银行沈阳浑南支行",
            bank_account=f"62220202001{n:08d}",
            is_demo=True,
        )
        for n in range(1, count + 1)
    )
    cases = Application.objects.bulk_create(
        Application(
            number=f"ZC2026{n:06d}",
            rule=rule,
            rule_version=version,
            enterprise=enterprise,
            applicant=admin,
            status=S.PUBLICITY_PASSED,
            year=2026,
            requested_amount=Decimal("320000.00") + n,
            approved_amount=Decimal("300000.00") + n,
            department=tech,
            submitted_at=now,
            accepted_at=now,
            decided_at=now,
        )
        for n, enterprise in enumerate(enterprises, start=1)
    )
    instances = WorkflowInstance.objects.bulk_create(
        WorkflowInstance(
            application=case,
            subject_id=case.pk,
            workflow=workflow,
            definition={},
            state={},
            status="approved",
            started_at=now,
            finished_at=now,
        )
        for case in cases
    )
    WorkflowTask.objects.bulk_create(
        WorkflowTask(
            instance=instance,
            application=instance.application,
            subject_id=instance.subject_id,
            key=f"{node}-1-{user.pk}",
            node_key=node,
            node_name=node,
            level=level,
            round=1,
            mode="any",
            assignee=user,
            department=user.department,
            status="approved",
            opened_at=now,
            due_at=now,
            decided_at=now,
            opinion=opinion,
        )
        for instance in instances
        for node, user, level, opinion in reviewers
    )
    return [case.pk for case in cases]


@dataclass
class Issued:
    seconds: float = 0.0  # wall seconds, every issuing request
    per_request: list[float] = field(default_factory=list)  # the issuing request alone
    sql: int = 0  # statements of all issuing requests
    batch_ids: list[int] = field(default_factory=list)


@dataclass
class Produced:
    seconds: float = 0.0  # wall seconds from the first worker's start to the last one's end
    sql: int = 0  # statements of all file production
    cpu: list[float] = field(default_factory=list)  # CPU seconds of each worker process


def issue(case_ids: list[int], batch_size: int) -> Issued:
    """Issue every case in batches (the file tasks are queued on each commit), timed and with
    the SQL statements counted."""
    from policywindow.fundforms import services
    from policywindow.system.models import User

    admin = User.objects.get(username="b_admin")
    issued = Issued()
    started = time.perf_counter()
    for index in range(0, len(case_ids), batch_size):
        begin = time.perf_counter()
        chunk = case_ids[index : index + batch_size]
        with counting() as statements:
            batch = services.issue_batch(
                admin, chunk, label=f"基准测试第{index // batch_size + 1}批"
            )
        issued.sql += statements.count
        issued.per_request.append(time.perf_counter() - begin)
        issued.batch_ids.append(batch.pk)
    issued.seconds = time.perf_counter() - started
    return issued


def produce(batch_ids: list[int], workers: int) -> Produced:
    """The batches' files: made by ``workers`` worker processes running the queued tasks
    (``policywindow worker``'s loop), or in this process, batch after batch, with 0."""
    if not workers:
        return _produce_here(batch_ids)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as a real worker
    results = context.Queue()
    started = time.perf_counter()
    processes = [context.Process(target=_work, args=(results,)) for _ in range(workers)]
    for process in processes:
        process.start()
    reports = [results.get() for _ in processes]
    for process in processes:
        process.join()
    produced = Produced(seconds=time.perf_counter() - started)
    for statements, cpu in reports:
        produced.sql += statements
        produced.cpu.append(cpu)
    return produced


def _work(results) -> None:
    """One worker process: runs queued tasks until none is left; reports its SQL and CPU."""
    import django

    django.setup()
    from policywindow.core.worker import Loop

    with counting() as statements:
        Loop(report=lambda message: None).run_batch()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.put((statements.count, usage.ru_utime + usage.ru_stime))


def _produce_here(batch_ids: list[int]) -> Produced:
    from policywindow.fundforms import services
    from policywindow.fundforms.models import FormBatch

    begin, cpu = time.perf_counter(), time.process_time()
    produced = Produced()
    for batch_id in batch_ids:
        with counting() as statements:
            services.produce_files(FormBatch.objects.get(pk=batch_id))
        produced.sql += statements.count
    produced.seconds = time.perf_counter() - begin
    produced.cpu.append(time.process_time() - cpu)
    return produced


def ready_after(batch_ids: list[int]) -> list[float]:
    """Seconds from each batch's issue to its last file (Excel included)."""
    from policywindow.fundforms.models import FormBatch

    batches = FormBatch.objects.filter(pk__in=batch_ids)
    return [(b.files_finished_at - b.created_at).total_seconds() for b in batches]


def breakdown(sample) -> dict[str, float]:
    """Seconds per form of each step, on a sample rendered and signed again: medians, and
    for the sample laid out as one chunk, the layout and the part shared by its forms."""
    from policywindow.fundforms import rendering, signing, verification

    steps: dict[str, list[float]] = {"render alone": [], "write out": [], "sign": [], "verify": []}
    for form in sample:
        begin = time.perf_counter()
        rendering.form_pdf(form.content)
        steps["render alone"].append(time.perf_counter() - begin)
    begin = time.perf_counter()
    sheets = rendering.lay_out_forms([form.content for form in sample])
    layout = (time.perf_counter() - begin) / len(sample)
    for index, form in enumerate(sample):
        begin = time.perf_counter()
        unsigned = sheets.form(index)
        written = time.perf_counter()
        signed = signing.sign_pdf(
            unsigned, moment=form.issued_at, reason=f"{rendering.FORM_TITLE} {form.number}"
        )
        done = time.perf_counter()
        verification.verify(signed)
        steps["write out"].append(written - begin)
        steps["sign"].append(done - written)
        steps["verify"].append(time.perf_counter() - done)
    begin = time.perf_counter()
    sheets.part()
    part = (time.perf_counter() - begin) / len(sample)
    medians = {name: statistics.median(values) for name, values in steps.items()}
    return {**medians, "layout": layout, "part": part, "chunk": len(sample)}


def sizes() -> dict[str, tuple[int, int]]:
    """Count and total bytes of the stored form PDFs, batch PDFs and batch workbooks."""
    from policywindow.fundforms.models import FormBatch, FundForm

    def total(files) -> tuple[int, int]:
        paths = [Path(f.path) for f in files if f]
        return len(paths), sum(path.stat().st_size for path in paths)

    return {
        "form PDFs": total(form.pdf for form in FundForm.objects.all()),
        "batch PDFs (汇总表 + forms)": total(batch.pdf for batch in FormBatch.objects.all()),
        "batch Excel": total(batch.xlsx for batch in FormBatch.objects.all()),
    }


def check(count: int, batches: int, sample, media: Path) -> list[str]:
    from policywindow.core.audit import verify_chain
    from policywindow.fundforms import services
    from policywindow.fundforms.models import FormBatch, FormChunk, FundForm
    from policywindow.fundforms.verification import verify

    problems = []
    sequences = list(FundForm.objects.order_by("sequence").values_list("sequence", flat=True))
    if sequences != list(range(1, count + 1)):
        problems.append("form numbers are not gap-free 1..N")
    for record in [*FundForm.objects.all(), *FormBatch.objects.all()]:
        data = Path(record.pdf.path).read_bytes()
        if hashlib.sha256(data).hexdigest() != record.sha256:
            problems.append(f"{record.number}: stored file differs from its recorded SHA-256")
        result = verify(data)
        if not (result.valid and result.matches_record):
            problems.append(f"{record.number}: {result.summary}")
    on_disk = {
        kind: len(list((media / "fundforms" / kind).glob("*.pdf")))
        for kind in ("forms", "batches", "parts")
    }
    if on_disk != {"forms": count, "batches": batches, "parts": 0}:
        problems.append(f"files on disk {on_disk}: not one per form and batch, or parts left")
    if FormChunk.objects.filter(done_at__isnull=True).exists():
        problems.append("chunks left unfinished")
    for form in sample:
        if services.render_form(form) != services.form_file(form):
            problems.append(f"{form.number}: rendering it alone gave other bytes than its chunk")
    if not verify_chain().ok:
        problems.append("the audit chain does not verify")
    return problems


def report(args, issued: Issued, produced: Produced, steps, stored, facts) -> str:
    forms_mb = stored["form PDFs"][1] / MB
    total = issued.seconds + produced.seconds
    ready = ready_after(issued.batch_ids)
    who = f"{args.workers} worker processes" if args.workers else "this process"
    rows = [
        ("forms issued", f"{args.forms:,}"),
        ("batches", f"{len(issued.batch_ids)} × {args.batch}"),
        ("files made by", who),
        ("wall time, end to end (issue + every file)", f"{total:.1f} s"),
        ("  of which issuing (every batch)", f"{issued.seconds:.1f} s"),
        ("  of which the files", f"{produced.seconds:.1f} s"),
        ("forms per second (end to end)", f"{args.forms / total:.2f}"),
        (
            "issuing request (files queued): median / max",
            f"{statistics.median(issued.per_request):.2f} s / {max(issued.per_request):.2f} s",
        ),
        (
            "a batch's files ready after its issue: median / max",
            f"{statistics.median(ready):.1f} s / {max(ready):.1f} s",
        ),
        ("CPU seconds of each file maker", " / ".join(f"{cpu:.1f}" for cpu in produced.cpu)),
        ("one form rendered alone (form_pdf), median", f"{steps['render alone'] * 1000:.0f} ms"),
        (f"one form in a chunk of {steps['chunk']}: layout, per form", _ms(steps["layout"])),
        ("one form in a chunk: written out (own fonts), median", _ms(steps["write out"])),
        ("one form in a chunk: its share of the chunk's part", _ms(steps["part"])),
        ("one form: sign (pyHanko), median", _ms(steps["sign"])),
        ("one form: verify, median", _ms(steps["verify"])),
        ("SQL statements per form: issuing / files", _sql_per_form(args, issued, produced)),
    ]
    for name, (count, size) in stored.items():
        rows.append(
            (
                name,
                f"{count:,} files, {size / MB:.1f} MB ({size / max(count, 1) / 1024:.0f} KB each)",
            )
        )
    rows.append(("all files", f"{sum(size for _, size in stored.values()) / MB:.1f} MB"))
    rows.append(("form PDFs per 1,000 forms", f"{forms_mb * 1000 / args.forms:.0f} MB"))
    return "\n\n".join([table(["measure", "value"], rows), table(["", ""], facts)])


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _sql_per_form(args, issued: Issued, produced: Produced) -> str:
    return f"{issued.sql / args.forms:.1f} / {produced.sql / args.forms:.1f}"


def summary(args, issued: Issued, produced: Produced, ok: bool, facts) -> Summary:
    who = f"{args.workers} worker processes" if args.workers else "one process"
    headline = Headline(
        f"Fund-form PDFs made (issue + render + sign, batches of {args.batch}, {who})",
        RATE,
        clients=max(args.workers, 1),
        rate=args.forms / (issued.seconds + produced.seconds),
        unit="forms",
        sql=f"{_sql_per_form(args, issued, produced)} per form (issuing / files)",
    )
    return Summary("fundforms", ok, machine=facts, headlines=[headline])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100, help="forms per batch (at most 100)")
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes making the files (0: this one)"
    )
    add_report_arguments(parser)
    args = parser.parse_args()
    url = database_url()
    recreate(url)
    data_dir = prepare_django(url)
    try:
        case_ids = load_cases(args.forms)
        issued = issue(case_ids, args.batch)
        produced = produce(issued.batch_ids, args.workers)
        from django.conf import settings

        from policywindow.fundforms.models import FundForm

        sample = random.Random(5).sample(list(FundForm.objects.all()), min(SAMPLE, args.forms))
        steps = breakdown(sample)
        stored = sizes()
        problems = check(args.forms, len(issued.batch_ids), sample, Path(settings.MEDIA_ROOT))
        server = f"none (service layer; files: {args.workers or 'no'} worker processes)"
        facts = machine(database_facts(), server)
        text = report(args, issued, produced, steps, stored, facts)
        print(text)
        if args.output:
            args.output.write_text(text + "\n", encoding="utf-8")
        summary(args, issued, produced, not problems, facts).write(args.summary)
        if problems:
            print("\nFAILED CHECKS:\n" + "\n".join(problems), file=sys.stderr)
            sys.exit(1)
        print(
            f"\nchecks passed: {args.forms} forms gap-free, hashes as recorded, every file "
            "verified, one file each, the sample rendered alone byte for byte"
        )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        os.environ.pop("POLICYWINDOW_DATA_DIR", None)


if __name__ == "__main__":
    main()
