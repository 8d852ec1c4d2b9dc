"""Cases with stored files and audit events, made through the real services (not a test module)."""

from __future__ import annotations

from policywindow.applications.models import Application
from policywindow.applications.services import filing, intake
from policywindow.system.models import Department, User
from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.services import runtime
from tests.applications.test_filing_factories import (
    LICENSE,
    link,
    make_enterprise,
    make_rule,
    upload,
)
from tests.applications.test_intake_factories import all_complete
from tests.pdfs import document


def decided_case(department: Department, applicant: User, clerk: User, tag: str) -> Application:
    """Filed with a license PDF, accepted, approved with an attachment: rows, files, audit.

    ``applicant`` is a fresh enterprise user; it is linked to a new enterprise here.
    """
    enterprise = make_enterprise(f"辽宁备份测试科技有限公司{tag}")
    link(applicant, enterprise)
    application = filing.start_application(
        applicant, enterprise, make_rule(department, items=(LICENSE,))
    )
    license_pdf = document(note=f"license {tag}")
    filing.save_answers(
        applicant, application, {}, {"license": [upload("营业执照.pdf", license_pdf)]}
    )
    case = filing.submit(applicant, application)
    case = intake.accept(clerk, case, all_complete(case), expected_revision=case.revision)
    task = WorkflowTask.objects.get(application=case, status="open")
    opinion_pdf = document(note=f"opinion {tag}")
    runtime.decide(
        task.assignee,
        task.pk,
        runtime.Decision("approve", f"同意{tag}"),
        files=[upload("审核意见.pdf", opinion_pdf)],
    )
    case.refresh_from_db()
    return case
