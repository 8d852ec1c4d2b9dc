"""Reads of 一表申请: the rule catalogue with pre-check badges, drafts to fill, material offers.

Who may read an application is decided here: an enterprise user reads only the
applications of the enterprise they act for; staff read what they may act on
(``selectors.staff_readable``: cases in their data scope when they work on cases, cases
they review, their counter filings). Anything else is a 404, never a hint that it exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from policywindow.enterprises.models import Enterprise
from policywindow.enterprises.selectors import enterprise_facts, enterprise_of, search_enterprises
from policywindow.policies import engine
from policywindow.policies.models import RequiredItem, RuleVersion
from policywindow.policies.selectors import search_published_rules

from .forms import Offer, specs_of_snapshot, typed_answers
from .models import Application, ApplicationStatus, Material
from .selectors import enterprise_applications, staff_readable

REUSE_OFFERS_PER_ITEM = 5
# Applications that block another one for the same rule and year (once_per_year).
NOT_COUNTED = (ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN, ApplicationStatus.NOT_ACCEPTED)


def today() -> dt.date:
    """Today in Asia/Shanghai (the project's TIME_ZONE)."""
    return timezone.localdate()


def chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# ---------------------------------------------------------------- who reads what


def readable_applications(user) -> QuerySet[Application]:
    """An enterprise's own applications, or what a staff member may act on (``staff_readable``)."""
    if getattr(user, "is_enterprise", False):
        return enterprise_applications(user)
    return (
        Application.objects.filter(staff_readable(user))
        .select_related("enterprise", "rule", "rule_version", "applicant")
        .order_by("-created_at", "-id")
    )


def readable_application(user, pk: int) -> Application:
    return get_object_or_404(readable_applications(user), pk=pk)


def filed_application(user, pk: int) -> Application:
    """A readable application that has a number (receipts, the success page)."""
    return get_object_or_404(readable_applications(user).exclude(number=None), pk=pk)


def readable_material(user, pk: int) -> Material:
    """A file the user may download: their enterprise's, or one of a case they may read."""
    materials = Material.objects.select_related("application")
    if getattr(user, "is_enterprise", False):
        enterprise = enterprise_of(user)
        return get_object_or_404(materials, pk=pk, enterprise=enterprise)
    return get_object_or_404(
        materials, pk=pk, application__in=readable_applications(user).values("pk")
    )


def own_application(user, pk: int) -> Application:
    """A draft of the enterprise the user acts for (the online form)."""
    return get_object_or_404(
        enterprise_applications(user).select_related("enterprise__industry", "enterprise__region"),
        pk=pk,
    )


def counter_application(user, pk: int) -> Application:
    """An application the clerk started at the counter."""
    return get_object_or_404(
        Application.objects.select_related("enterprise", "rule", "rule_version"),
        pk=pk,
        applicant=user,
        channel=Application.Channel.WINDOW,
    )


def counter_drafts(user) -> QuerySet[Application]:
    """The clerk's unfinished counter filings, newest first."""
    return (
        Application.objects.filter(
            applicant=user, channel=Application.Channel.WINDOW, status=ApplicationStatus.DRAFT
        )
        .select_related("enterprise", "rule_version")
        .order_by("-updated_at")
    )


def counter_enterprises(user, q: str) -> QuerySet[Enterprise]:
    """Enterprises the clerk may file for, by name or credit code."""
    return search_enterprises(user, q=q.strip())


# ---------------------------------------------------------------- the rule catalogue


def search_rules(q: str) -> QuerySet:
    """Published rules matching the words (all rules when empty), for the catalogue."""
    return search_published_rules(q=q)


def template_item(pk: int) -> RequiredItem:
    """A required item whose template may be downloaded: of a version that has been published."""
    return get_object_or_404(
        RequiredItem.objects.exclude(rule_version__status=RuleVersion.Status.DRAFT).exclude(
            template_file=""
        ),
        pk=pk,
    )


@dataclass(frozen=True)
class Assessment:
    """The eligibility pre-check and the expected amount of one enterprise for one rule."""

    eligibility: engine.Eligibility
    amount: Decimal | None

    @property
    def badge(self) -> str:
        return {"eligible": "可申报", "ineligible": "不符合条件", "unknown": "信息不全"}[
            self.eligibility.status
        ]


def assess(
    version: Any, enterprise: Enterprise, answers: Mapping[str, Any] | None = None
) -> Assessment:
    """Pre-check over the enterprise's facts merged with typed form answers (answers win)."""
    facts = {**enterprise_facts(enterprise), **(answers or {})}
    return Assessment(
        engine.check_eligibility(version, facts), engine.expected_amount(version, facts)
    )


def assess_application(
    application: Application, answers: Mapping[str, Any] | None = None
) -> Assessment:
    """The pre-check of an application over its stored answers (or the ``answers`` given)."""
    specs = specs_of_snapshot(application.form_snapshot)
    typed = typed_answers(specs, application.answers if answers is None else answers)
    return assess(application.rule_version, application.enterprise, typed)


def application_facts(application: Application) -> dict[str, Any]:
    """What is known about a filed case: the enterprise's facts, the typed answers, the amount."""
    specs = specs_of_snapshot(application.form_snapshot)
    return {
        **enterprise_facts(application.enterprise),
        **typed_answers(specs, application.answers),
        "requested_amount": application.requested_amount,
    }


def window_problem(version: Any, day: dt.date | None = None) -> str | None:
    """Why an application cannot be submitted today because of the window, or None."""
    day = day or today()
    opens, closes = version.opens_on, version.closes_on
    if (opens is None or day >= opens) and (closes is None or day <= closes):
        return None
    if opens and closes:
        return f"不在申报期内：本细则的申报时间为 {chinese_date(opens)} 至 {chinese_date(closes)}"
    if opens:
        return f"尚未开始申报：本细则自 {chinese_date(opens)} 起接受申报"
    return f"申报已截止：本细则的申报截止日期为 {chinese_date(closes)}"


@dataclass(frozen=True)
class CatalogEntry:
    rule: Any
    assessment: Assessment | None
    existing: Application | None
    window_note: str | None
    # This year's application for another rule of the same 互斥组, which rules this one out.
    excluded_by: Application | None = None

    @property
    def version(self):
        return self.rule.current


def catalog_entries(rules: Iterable[Any], enterprise: Enterprise | None) -> list[CatalogEntry]:
    """A page of rules with the pre-check badge and this year's application of the enterprise."""
    rules = list(rules)
    existing: dict[int, Application] = {}
    by_group: dict[str, Application] = {}
    if enterprise is not None:
        for application in Application.objects.filter(
            enterprise=enterprise, rule__in=rules, year=today().year
        ).exclude(status__in=(ApplicationStatus.WITHDRAWN, ApplicationStatus.NOT_ACCEPTED)):
            existing.setdefault(application.rule_id, application)
        for application in (
            Application.objects.filter(enterprise=enterprise, year=today().year)
            .exclude(status__in=NOT_COUNTED)
            .exclude(rule_version__exclusion_group="")
            .select_related("rule_version")
        ):
            by_group.setdefault(application.rule_version.exclusion_group, application)
    entries = []
    for rule in rules:
        rival = by_group.get(rule.current.exclusion_group) if rule.current.exclusion_group else None
        entries.append(
            CatalogEntry(
                rule=rule,
                assessment=assess(rule.current, enterprise) if enterprise else None,
                existing=existing.get(rule.pk),
                window_note=window_problem(rule.current),
                excluded_by=rival if rival is not None and rival.rule_id != rule.pk else None,
            )
        )
    return entries


# ---------------------------------------------------------------- material offers


@dataclass(frozen=True)
class FileChoices:
    """Per file item, the files that may fill it; and every file attached to the application
    (None when nothing was read: no file item asked for)."""

    offers: dict[str, list[Offer]]
    attached: list[Material] | None


def file_choices(
    enterprise: Enterprise | None, application: Application | None, specs: Iterable[Any]
) -> FileChoices:
    """Per file item: its attached files, then earlier files of the same material code.

    One query for all items; the same file (by SHA-256) is offered once.
    """
    files = [spec for spec in specs if spec.is_file]
    if enterprise is None or not files:
        return FileChoices({}, None)
    codes = {spec.material_code for spec in files if spec.material_code}
    wanted = Q(material_code__in=codes)
    saved = application is not None and application.pk is not None
    if saved:
        wanted |= Q(application=application)
    rows = list(
        Material.objects.filter(wanted, enterprise=enterprise).order_by("-uploaded_at", "-id")
    )
    attached = [m for m in rows if m.application_id == application.pk] if saved else None
    return FileChoices({spec.key: _offers_for(spec, rows, application) for spec in files}, attached)


def material_offers(
    enterprise: Enterprise | None, application: Application | None, specs: Iterable[Any]
) -> dict[str, list[Offer]]:
    """Per file item: its attached files, then earlier files of the same material code."""
    return file_choices(enterprise, application, specs).offers


def _offers_for(spec: Any, rows: list[Material], application: Application | None) -> list[Offer]:
    app_id = application.pk if application is not None else None
    attached = [m for m in reversed(rows) if m.application_id == app_id and m.item_key == spec.key]
    seen = {m.sha256 for m in attached}
    reusable: list[Material] = []
    for material in rows:
        if (
            spec.material_code
            and material.material_code == spec.material_code
            and material.sha256 not in seen
            and len(reusable) < REUSE_OFFERS_PER_ITEM
        ):
            seen.add(material.sha256)
            reusable.append(material)
    return [Offer(m, True) for m in attached] + [Offer(m, False) for m in reusable]


@dataclass(frozen=True)
class YearFilings:
    """This year's applications of one enterprise for one rule or for another rule of its
    互斥组 (mutual-exclusion group), read in one query: what a start or a submit must know."""

    rows: list[Application]

    def open_draft(self, rule_id: int, *, channel: str, applicant_id: int) -> Application | None:
        """The draft to reopen: the enterprise's online draft, or the clerk's own counter draft."""
        drafts = [
            row
            for row in self.rows
            if row.rule_id == rule_id
            and row.status == ApplicationStatus.DRAFT
            and row.channel == channel
            and (channel != Application.Channel.WINDOW or row.applicant_id == applicant_id)
        ]
        return max(drafts, key=lambda row: row.created_at, default=None)

    def duplicate(self, application: Application) -> Application | None:
        """Another counted application of the same enterprise, rule and year."""
        return self._first(lambda row: row.rule_id == application.rule_id, application)

    def rival(self, application: Application, version: Any) -> Application | None:
        """A counted application for another rule of the version's 互斥组: the enterprise may
        not receive both."""
        group = version.exclusion_group
        return self._first(
            lambda row: (
                bool(group)
                and row.rule_id != application.rule_id
                and row.rule_version.exclusion_group == group
            ),
            application,
        )

    def _first(self, wanted, application: Application) -> Application | None:
        return next(
            (
                row
                for row in self.rows
                if row.status not in NOT_COUNTED and row.pk != application.pk and wanted(row)
            ),
            None,
        )


# What the checks and their messages read of each row (not the answers: they are encrypted).
YEAR_FILING_COLUMNS = (
    "rule_id",
    "status",
    "channel",
    "applicant_id",
    "number",
    "year",
    "created_at",
    "rule_version",
    "rule_version__title",
    "rule_version__exclusion_group",
)


def year_filings(
    enterprise_id: int, rule_id: int, year: int, exclusion_group: str = ""
) -> YearFilings:
    """The enterprise's applications of ``year`` for the rule, or for its 互斥组."""
    same = Q(rule_id=rule_id)
    if exclusion_group:
        same |= Q(rule_version__exclusion_group=exclusion_group)
    rows = (
        Application.objects.filter(same, enterprise_id=enterprise_id, year=year)
        .exclude(status__in=(ApplicationStatus.WITHDRAWN, ApplicationStatus.NOT_ACCEPTED))
        .select_related("rule_version")
        .only(*YEAR_FILING_COLUMNS)
        .order_by("id")
    )
    return YearFilings(list(rows))


def duplicate_of(application: Application) -> Application | None:
    """Another counted application of the same enterprise, rule and year."""
    filings = year_filings(application.enterprise_id, application.rule_id, application.year)
    return filings.duplicate(application)


def exclusive_rival(application: Application, version: Any) -> Application | None:
    """A counted application this year of the same enterprise for another rule of the same
    mutual-exclusion group (互斥组): the enterprise may not receive both."""
    if not version.exclusion_group:
        return None
    filings = year_filings(
        application.enterprise_id, application.rule_id, application.year, version.exclusion_group
    )
    return filings.rival(application, version)
