"""Hand-built data of the 法人空间 tests: two enterprises, each with its own user, and cases put
straight into the state a test needs (the services that move them are tested elsewhere)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from pypdf import PdfReader

from policywindow.applications.models import (
    Application,
    ApplicationEvent,
    Material,
    SupplementNotice,
)
from policywindow.applications.models import ApplicationStatus as S
from policywindow.enterprises.models import Enterprise
from policywindow.fundforms import services as fundform_services
from policywindow.fundforms.models import FundForm
from policywindow.policies.models import RuleVersion
from policywindow.system.models import Department, User
from tests.applications.test_intake_factories import (
    make_case,
    make_enterprise,
    make_member,
    make_version,
)
from tests.fundforms.conftest import (  # noqa: F401  one signing key in scratch, as there
    _signing_key_in_scratch,
    signing_dir,
)


@dataclass
class World:
    department: Department
    clerk: User
    admin: User
    version: RuleVersion
    a: Enterprise
    a_user: User
    b: Enterprise
    b_user: User

    @property
    def now(self) -> dt.datetime:
        return timezone.now()

    def case(self, status: str = S.SUBMITTED, *, enterprise: Enterprise | None = None, **fields):
        """A filed case of enterprise A (or ``enterprise``) in ``status`` with ``fields`` set."""
        owner = enterprise or self.a
        user = self.a_user if owner == self.a else self.b_user
        application = make_case(self.version, owner, user, status=status)
        now = timezone.now()
        if status not in (S.SUBMITTED, S.NOT_ACCEPTED, S.WITHDRAWN, S.SUPPLEMENT_REQUIRED):
            fields.setdefault("accepted_at", now - dt.timedelta(days=3))
            fields.setdefault("accepted_by", self.clerk)
        if status in (S.REJECTED, S.APPROVED, S.PUBLICITY_PASSED, S.DISBURSED, S.ARCHIVED):
            fields.setdefault("decided_at", now - dt.timedelta(days=1))
        for name, value in fields.items():
            setattr(application, name, value)
        application.save()
        return application

    def event(self, application: Application, action: str, note: str) -> None:
        ApplicationEvent.objects.create(
            application=application,
            occurred_at=timezone.now(),
            actor=self.clerk,
            actor_name=self.clerk.real_name,
            action=action,
            note=note,
        )

    def notice(self, application: Application, *labels: str, resolved: bool = False):
        return SupplementNotice.objects.create(
            application=application,
            items=[
                {"key": f"k{n}", "label": label, "comment": f"请补充{label}"}
                for n, label in enumerate(labels)
            ],
            comment="请一次性补正",
            issued_by=self.clerk,
            issued_at=timezone.now(),
            resolved_at=timezone.now() if resolved else None,
        )

    def material(self, code: str, name: str, *, enterprise: Enterprise | None = None, data=b""):
        owner = enterprise or self.a
        content = data or f"%PDF-1.4 {name}".encode()
        material = Material(
            enterprise=owner,
            item_key="audit_report",
            material_code=code,
            original_name=name,
            content_type="application/pdf",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            uploaded_by=self.a_user if owner == self.a else self.b_user,
        )
        material.file.save(f"{code}.pdf", ContentFile(content), save=False)
        material.save()
        return material

    def fund_form(self, application: Application) -> FundForm:
        """A real, signed fund approval form issued by the policy office."""
        batch = fundform_services.issue_batch(self.admin, [application.pk], label="测试批次")
        return batch.forms.get()


@pytest.fixture(autouse=True)
def site_url(settings) -> str:
    """The site's address: documents print the full status URL on it (and the sweep needs it)."""
    settings.POLICYWINDOW_SITE_URL = "https://zwfw.example.gov.cn"
    return settings.POLICYWINDOW_SITE_URL


@pytest.fixture
def world(make_department, make_user) -> World:
    department = make_department("省科学技术厅")
    a, b = (
        make_enterprise("沈阳法人空间测试装备有限公司"),
        make_enterprise("大连另一家测试有限公司"),
    )
    a.bank_name = "中国工商银行沈阳浑南支行"
    a.save()
    a_user = make_user("space_a", "enterprise", kind=User.Kind.ENTERPRISE, real_name="李经办")
    b_user = make_user("space_b", "enterprise", kind=User.Kind.ENTERPRISE, real_name="赵经办")
    make_member(a_user, a)
    make_member(b_user, b)
    return World(
        department=department,
        clerk=make_user("space_clerk", "window_clerk", real_name="窗口王"),
        admin=make_user("space_admin", "policy_admin", real_name="孙政策"),
        version=make_version(department, title="研发费用后补助（演示）"),
        a=a,
        a_user=a_user,
        b=b,
        b_user=b_user,
    )


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content
