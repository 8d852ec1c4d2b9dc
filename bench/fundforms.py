"""Time and size to produce 1,000 fund approval forms (issue 5): issue + render + sign.

    make bench
    # or: DATABASE_URL=postgres://postgres@127.0.0.1:5432/policywindow_bench \
    #     .venv/bin/python -m bench.fundforms [--forms 1000] [--batch 100]

The cases are loaded with the ORM (untimed): N approved cases past publicity, each with three
decided review tasks (two departments in parallel, then a leader) whose opinions the form
prints. Then the policy administrator issues them in batches of ``--batch`` through
``fundforms.services.issue_batch``, exactly as the page does, timed end to end: the issuing
transaction (locks, numbers, snapshots, timeline, audit), every form rendered to PDF
(WeasyPrint, embedded Noto CJK font) and signed (pyHanko, RSA-3072), the batch's PDF
(汇总表 + all its forms, signed) and its Excel. A sample of forms is then rendered and signed
again with each step timed on its own, to show where the time goes.

Afterwards the database and the files are checked: form numbers gap-free 1..N, each stored
file's SHA-256 as recorded, a sample verified (signature valid, matches the record) and
re-rendered byte for byte, the audit chain intact. Any failed check exits non-zero.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
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
    total: float = 0.0  # wall seconds, all batches
    per_batch: list[float] = field(default_factory=list)  # issue + files
    per_request: list[float] = field(default_factory=list)  # the issuing request alone
    issue_sql: int = 0  # statements of all issuing requests
    files_sql: int = 0  # statements of all file production


def issue(case_ids: list[int], batch_size: int) -> Issued:
    """Issue every case in batches and make their files (the background task's work, run
    here in line), timed and with the SQL statements of each part counted."""
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
        issued.issue_sql += statements.count
        issued.per_request.append(time.perf_counter() - begin)
        with counting() as statements:
            batch = services.produce_files(batch)
        issued.files_sql += statements.count
        if not batch.sha256 or batch.forms.filter(sha256="").exists():
            raise SystemExit(f"batch {batch.number}: files were not produced")
        issued.per_batch.append(time.perf_counter() - begin)
    issued.total = time.perf_counter() - started
    return issued


def breakdown(sample) -> dict[str, float]:
    """Median seconds per form of each step, on a sample rendered and signed again."""
    from policywindow.fundforms import rendering, signing, verification

    steps: dict[str, list[float]] = {"render": [], "sign": [], "verify": []}
    for form in sample:
        begin = time.perf_counter()
        unsigned = rendering.form_pdf(form.content)
        rendered = time.perf_counter()
        signed = signing.sign_pdf(
            unsigned, moment=form.issued_at, reason=f"{rendering.FORM_TITLE} {form.number}"
        )
        done = time.perf_counter()
        verification.verify(signed)
        steps["render"].append(rendered - begin)
        steps["sign"].append(done - rendered)
        steps["verify"].append(time.perf_counter() - done)
    return {name: statistics.median(values) for name, values in steps.items()}


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


def check(count: int, sample) -> list[str]:
    from policywindow.core.audit import verify_chain
    from policywindow.fundforms import services
    from policywindow.fundforms.models import FormBatch, FundForm
    from policywindow.fundforms.verification import verify

    problems = []
    sequences = list(FundForm.objects.order_by("sequence").values_list("sequence", flat=True))
    if sequences != list(range(1, count + 1)):
        problems.append("form numbers are not gap-free 1..N")
    for record in [*FundForm.objects.all(), *FormBatch.objects.all()]:
        if hashlib.sha256(Path(record.pdf.path).read_bytes()).hexdigest() != record.sha256:
            problems.append(f"{record.number}: stored file differs from its recorded SHA-256")
    for form in sample:
        stored = services.form_file(form)
        result = verify(stored)
        if not (result.valid and result.matches_record):
            problems.append(f"{form.number}: {result.summary}")
        if services.render_form(form) != stored:
            problems.append(f"{form.number}: rendering again gave different bytes")
    if not verify_chain().ok:
        problems.append("the audit chain does not verify")
    return problems


def report(args, issued: Issued, steps, stored, facts: list[tuple[str, str]]) -> str:
    forms_mb = stored["form PDFs"][1] / MB
    total, per_batch, per_request = issued.total, issued.per_batch, issued.per_request
    rows = [
        ("forms issued", f"{args.forms:,}"),
        ("batches", f"{len(per_batch)} × {args.batch}"),
        ("wall time, all batches", f"{total:.1f} s"),
        ("forms per second (end to end)", f"{args.forms / total:.2f}"),
        (
            f"per batch of {args.batch}: median / max",
            f"{statistics.median(per_batch):.1f} s / {max(per_batch):.1f} s",
        ),
        (
            "  of which the issuing request (files queued): median / max",
            f"{statistics.median(per_request):.2f} s / {max(per_request):.2f} s",
        ),
        ("one form: render (WeasyPrint), median", f"{steps['render'] * 1000:.0f} ms"),
        ("one form: sign (pyHanko), median", f"{steps['sign'] * 1000:.0f} ms"),
        ("one form: verify, median", f"{steps['verify'] * 1000:.0f} ms"),
        ("SQL statements per form: issuing / files", _sql_per_form(args, issued)),
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
    return "\n\n".join(
        [
            table(["measure", "value"], rows),
            table(["", ""], facts),
        ]
    )


def _sql_per_form(args, issued: Issued) -> str:
    return f"{issued.issue_sql / args.forms:.1f} / {issued.files_sql / args.forms:.1f}"


def summary(args, issued: Issued, ok: bool, facts: list[tuple[str, str]]) -> Summary:
    headline = Headline(
        f"Fund-form PDFs made (issue + render + sign, batches of {args.batch}, one process)",
        RATE,
        rate=args.forms / issued.total,
        unit="forms",
        sql=f"{_sql_per_form(args, issued)} per form (issuing / files)",
    )
    return Summary("fundforms", ok, machine=facts, headlines=[headline])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100, help="forms per batch (at most 100)")
    add_report_arguments(parser)
    args = parser.parse_args()
    url = database_url()
    recreate(url)
    data_dir = prepare_django(url)
    try:
        case_ids = load_cases(args.forms)
        issued = issue(case_ids, args.batch)
        from policywindow.fundforms.models import FundForm

        sample = random.Random(5).sample(list(FundForm.objects.all()), min(SAMPLE, args.forms))
        steps = breakdown(sample)
        stored = sizes()
        problems = check(args.forms, sample)
        facts = machine(database_facts(), "none (service layer, one process)")
        text = report(args, issued, steps, stored, facts)
        print(text)
        if args.output:
            args.output.write_text(text + "\n", encoding="utf-8")
        summary(args, issued, not problems, facts).write(args.summary)
        if problems:
            print("\nFAILED CHECKS:\n" + "\n".join(problems), file=sys.stderr)
            sys.exit(1)
        print(f"\nchecks passed: {args.forms} forms gap-free, hashes as recorded, sample verified")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        os.environ.pop("POLICYWINDOW_DATA_DIR", None)


if __name__ == "__main__":
    main()
