"""一表申请: the application form, generated at run time from a rule version's required items.

Each required item (细则要件项) becomes a field with server-side validation and
Chinese messages. A file item becomes two fields: ``<key>`` takes new uploads
(type checked by content, size and count limits) and ``<key>__keep`` lists the
files already attached or uploaded earlier for the same kind of material, so an
enterprise never uploads its business licence twice.

The item definitions travel as ``ItemSpec``: built from ``RequiredItem`` rows,
frozen into ``Application.form_snapshot`` when a draft starts, and read back
from there, so an application is always validated against the form it was filed on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import timezone

from policywindow.core import files as file_checks
from policywindow.core.forms import BootstrapFormMixin
from policywindow.core.inputs import BIGINT_MAX
from policywindow.core.money import MoneyField

from .models import Material

KEEP_SUFFIX = "__keep"
TEXT_MAX_LENGTH = 200
LONG_TEXT_MAX_LENGTH = 5000
MONEY_PLACES = Decimal("0.01")
MAX_FACT = Decimal(10) ** 18  # number items: 24 digits, 6 of them decimals
DEFAULT_SECTIONS = {"file": "申报材料"}
DEFAULT_SECTION = "申报信息"
YES, NO = "true", "false"
RADIO_MAX_OPTIONS = 4
CHECK_ATTRS = {"class": "form-check-input"}


@dataclass(frozen=True)
class ItemSpec:
    """One required item as the form needs it (a ``RequiredItem`` or its snapshot)."""

    key: str
    label: str
    kind: str
    required: bool = True
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    pattern: str = ""
    options: tuple[tuple[str, str], ...] = ()
    allowed_types: tuple[str, ...] = ()
    max_size_mb: int = 10
    max_files: int = 1
    material_code: str = ""
    help_text: str = ""
    item_id: int | None = None
    has_template: bool = False
    prefill_source: str = ""
    section: str = ""
    order: int = 0

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    @property
    def keep_name(self) -> str:
        return f"{self.key}{KEEP_SUFFIX}"

    @property
    def section_title(self) -> str:
        return self.section or DEFAULT_SECTIONS.get(self.kind, DEFAULT_SECTION)

    @classmethod
    def from_item(cls, item: Any) -> ItemSpec:
        return cls(
            key=item.key,
            label=item.label,
            kind=item.kind,
            required=item.required,
            min_value=item.min_value,
            max_value=item.max_value,
            pattern=item.pattern,
            options=_options(item.options),
            allowed_types=file_checks.normalise_types(item.allowed_types)
            if item.kind == "file"
            else (),
            max_size_mb=item.max_size_mb or 10,
            max_files=item.max_files or 1,
            material_code=item.material_code,
            help_text=item.help_text,
            item_id=item.pk,
            has_template=bool(item.template_file),
            prefill_source=item.prefill_source,
            section=item.section,
            order=item.order,
        )

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> ItemSpec:
        values = dict(data)
        for name in ("min_value", "max_value"):
            values[name] = None if values.get(name) in (None, "") else Decimal(str(values[name]))
        values["options"] = _options(values.get("options"))
        values["allowed_types"] = tuple(values.get("allowed_types", ()))
        known = cls.__dataclass_fields__.keys()
        return cls(**{name: value for name, value in values.items() if name in known})

    def snapshot(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("min_value", "max_value"):
            data[name] = None if data[name] is None else str(data[name])
        data["options"] = [{"value": value, "label": label} for value, label in self.options]
        data["allowed_types"] = list(self.allowed_types)
        return data


def _options(raw: Any) -> tuple[tuple[str, str], ...]:
    """Options as (value, label) pairs from ``["是", ...]``, ``[[v, l]]`` or ``[{"value", "label"}]``."""
    pairs = []
    for option in raw or ():
        if isinstance(option, Mapping):
            value = str(option.get("value", option.get("label", "")))
            pairs.append((value, str(option.get("label", value))))
        elif isinstance(option, list | tuple) and len(option) == 2:
            pairs.append((str(option[0]), str(option[1])))
        else:
            pairs.append((str(option), str(option)))
    return tuple(pairs)


def specs_of_version(version: Any) -> list[ItemSpec]:
    return [ItemSpec.from_item(item) for item in version.items.order_by("order", "id")]


def specs_of_snapshot(snapshot: Iterable[Mapping[str, Any]]) -> list[ItemSpec]:
    return [ItemSpec.from_snapshot(data) for data in snapshot]


# --- fields -------------------------------------------------------------------------------------


class YesNoField(forms.TypedChoiceField):
    """是/否 as a required answer (a checkbox cannot tell "no" from "not answered")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            choices=[(YES, "是"), (NO, "否")],
            coerce=lambda value: value == YES,
            empty_value=None,
            widget=forms.RadioSelect(attrs=CHECK_ATTRS),
            **kwargs,
        )

    def to_python(self, value: Any) -> str:
        if isinstance(value, bool):
            return YES if value else NO
        return {"1": YES, "是": YES, "yes": YES, "0": NO, "否": NO, "no": NO}.get(
            str(value).strip().lower(), super().to_python(value)
        )


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MaterialField(forms.FileField):
    """New uploads of one file item; cleans to ``[(file, sniffed_type), ...]``."""

    def __init__(self, spec: ItemSpec, **kwargs: Any) -> None:
        self.spec = spec
        # A phone offers its camera and its files for image types.
        widget = MultipleFileInput({"accept": file_checks.accept_attribute(spec.allowed_types)})
        if spec.max_files == 1:
            # The picker takes one file; a forged second one is still read, counted and refused.
            del widget.attrs["multiple"]
        super().__init__(widget=widget, required=False, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[tuple[Any, str]]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        errors, cleaned = [], []
        for upload in files:
            try:
                kind = file_checks.check_file(
                    upload,
                    allowed_types=self.spec.allowed_types,
                    max_size_mb=self.spec.max_size_mb,
                )
            except ValidationError as exc:
                errors.extend(exc.messages)
            else:
                cleaned.append((upload, kind))
        if errors:
            raise ValidationError(errors)
        return cleaned

    def has_changed(self, initial: Any, data: Any) -> bool:
        return bool(data)


def _messages(spec: ItemSpec) -> dict[str, str]:
    label = spec.label
    choose = spec.kind in ("choice", "multi_choice", "boolean")
    return {
        "required": f"请{'选择' if choose else '填写'}{label}",
        "invalid": {
            "integer": f"{label}须为整数",
            "number": f"{label}须为数字",
            "money": f"{label}须为金额数字，如 12345.67",
            "date": f"{label}须为有效日期，格式为 YYYY-MM-DD",
        }.get(spec.kind, f"{label}格式不正确"),
        "min_value": (
            f"{label}不能为负数"
            if spec.kind == "money" and not spec.min_value
            else f"{label}不能小于 %(limit_value)s"
        ),
        "max_value": f"{label}不能大于 %(limit_value)s",
        "max_length": f"{label}不能超过 %(limit_value)d 个字符",
        "max_digits": f"{label}的数字位数过多",
        "max_whole_digits": f"{label}的整数部分位数过多",
        "max_decimal_places": (
            f"{label}最多保留两位小数"
            if spec.kind == "money"
            else f"{label}最多保留 %(max)s 位小数"
        ),
        "invalid_choice": f"{label}的取值无效，请从给定选项中选择",
        "invalid_list": f"请选择{label}",
    }


def _pattern_validators(spec: ItemSpec) -> list[RegexValidator]:
    if not spec.pattern:
        return []
    try:
        regex = re.compile(f"^(?:{spec.pattern})$")
    except re.error:
        return []  # refused when the rule is edited; an old bad pattern must not break filing
    hint = f"（{spec.help_text}）" if spec.help_text else ""
    return [RegexValidator(regex, message=f"{spec.label}格式不正确{hint}", code="pattern")]


def _limits(spec: ItemSpec, *, floor: Decimal | None = None) -> dict[str, Any]:
    low = spec.min_value
    if floor is not None:
        low = floor if low is None else max(low, floor)
    limits = {"min_value": low, "max_value": spec.max_value}
    if spec.kind == "integer":  # never wider than a bigint: the rule engine takes no more
        low = -BIGINT_MAX if low is None else max(int(low), -BIGINT_MAX)
        high = BIGINT_MAX if spec.max_value is None else min(int(spec.max_value), BIGINT_MAX)
        limits = {"min_value": low, "max_value": high}
    return limits


def field_for(spec: ItemSpec, *, required: bool) -> forms.Field:
    """The Django field of one non-file item."""
    common = {
        "label": spec.label,
        "required": required,
        "help_text": spec.help_text,
        "error_messages": _messages(spec),
    }
    kind = spec.kind
    if kind == "long_text":
        return forms.CharField(
            max_length=LONG_TEXT_MAX_LENGTH,
            widget=forms.Textarea(attrs={"rows": 4}),
            validators=_pattern_validators(spec),
            **common,
        )
    if kind == "integer":
        return forms.IntegerField(**_limits(spec), **common)
    if kind == "number":
        return forms.DecimalField(max_digits=24, decimal_places=6, **_limits(spec), **common)
    if kind == "money":
        return MoneyField(**_limits(spec, floor=Decimal("0")), **common)
    if kind == "date":
        return forms.DateField(
            input_formats=["%Y-%m-%d"],
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            **common,
        )
    if kind == "choice":
        if len(spec.options) <= RADIO_MAX_OPTIONS:
            return forms.ChoiceField(
                choices=spec.options, widget=forms.RadioSelect(attrs=CHECK_ATTRS), **common
            )
        return forms.ChoiceField(choices=[("", "请选择"), *spec.options], **common)
    if kind == "multi_choice":
        return forms.MultipleChoiceField(
            choices=spec.options, widget=forms.CheckboxSelectMultiple(attrs=CHECK_ATTRS), **common
        )
    if kind == "boolean":
        return YesNoField(**common)
    return forms.CharField(
        max_length=TEXT_MAX_LENGTH, validators=_pattern_validators(spec), **common
    )


def _keep_field(offers: list[Offer]) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label="已上传的材料",
        required=False,
        choices=[(str(offer.material.pk), offer.label) for offer in offers],
        widget=forms.CheckboxSelectMultiple(attrs=CHECK_ATTRS),
        error_messages={"invalid_choice": "所选材料不存在或不可使用，请刷新页面后重试"},
    )


# --- answers <-> form data ----------------------------------------------------------------------


def answer_value(spec: ItemSpec, value: Any) -> Any:
    """A cleaned value as stored in ``Application.answers`` (JSON); None when empty."""
    if value in (None, "", [], ()):
        return None
    if isinstance(value, Decimal):
        return str(value.quantize(MONEY_PLACES) if spec.kind == "money" else value.normalize())
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def data_value(spec: ItemSpec, answer: Any) -> Any:
    """A stored answer as form data (the inverse of ``answer_value``)."""
    if spec.kind == "boolean" and isinstance(answer, bool):
        return YES if answer else NO
    if isinstance(answer, list):
        return [str(v) for v in answer]
    return "" if answer is None else str(answer)


def answers_as_data(specs: Iterable[ItemSpec], answers: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for spec in specs:
        answer = answers.get(spec.key)
        data[spec.keep_name if spec.is_file else spec.key] = data_value(spec, answer)
    return data


def typed_answers(specs: Iterable[ItemSpec], answers: Mapping[str, Any]) -> dict[str, Any]:
    """Answers as rule facts: numbers as Decimal, yes/no as bool, files as their count.

    A stored answer its item would refuse today (a number out of range, saved before the item
    checked it) is no fact: the draft still opens and shows it for correction.
    """
    facts: dict[str, Any] = {}
    for spec in specs:
        value = _fact(spec, answers.get(spec.key))
        if value is not None:
            facts[spec.key] = value
    return facts


def _fact(spec: ItemSpec, value: Any) -> Any:
    if value is None:
        return None
    if spec.kind == "integer":
        in_range = isinstance(value, int) and abs(value) <= BIGINT_MAX
        return value if in_range and not isinstance(value, bool) else None
    if spec.kind in ("number", "money"):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() and abs(number) <= MAX_FACT else None
    return len(value) if spec.is_file else value


# --- the form -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """A file that may fill a file item: attached to this application, or uploaded before."""

    material: Material
    attached: bool

    @property
    def label(self) -> str:
        day = timezone.localdate(self.material.uploaded_at).isoformat()
        prefix = "已上传" if self.attached else "使用已上传材料"
        return f"{prefix}：{self.material.original_name}（{day}）"


@dataclass
class Entry:
    spec: ItemSpec
    field: forms.BoundField
    keep: forms.BoundField | None = None
    offers: list[Offer] = field(default_factory=list)


@dataclass
class Section:
    title: str
    entries: list[Entry] = field(default_factory=list)


class ApplicationFormBase(BootstrapFormMixin, forms.Form):
    """Base of the run-time form classes; ``specs`` and ``offers`` are set by ``form_class``."""

    specs: tuple[ItemSpec, ...] = ()
    offers: dict[str, list[Offer]] = {}
    draft: bool = False

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for spec in self.specs:
            if spec.is_file and spec.key not in self.errors:
                self._check_file_count(spec, data)
        return data

    def _check_file_count(self, spec: ItemSpec, data: dict[str, Any]) -> None:
        total = len(data.get(spec.keep_name) or []) + len(data.get(spec.key) or [])
        if total > spec.max_files:
            self.add_error(
                spec.key, f"{spec.label}最多 {spec.max_files} 个文件，当前选择了 {total} 个"
            )
        elif total == 0 and spec.required and not self.draft:
            self.add_error(spec.key, f"请上传{spec.label}")

    def answers(self) -> dict[str, Any]:
        """Cleaned answers of the non-file items, as stored (None = cleared)."""
        return {
            spec.key: answer_value(spec, self.cleaned_data.get(spec.key))
            for spec in self.specs
            if not spec.is_file
        }

    def file_changes(self) -> dict[str, tuple[list[int], list[tuple[Any, str]]]]:
        """Per file item: the material ids kept or reused, and the new uploads with their types."""
        return {
            spec.key: (
                [int(pk) for pk in self.cleaned_data.get(spec.keep_name) or []],
                self.cleaned_data.get(spec.key) or [],
            )
            for spec in self.specs
            if spec.is_file
        }

    def offered(self, key: str) -> dict[int, Offer]:
        return {offer.material.pk: offer for offer in self.offers.get(key, [])}

    def sections(self) -> list[Section]:
        sections: dict[str, Section] = {}
        for spec in self.specs:
            section = sections.setdefault(spec.section_title, Section(spec.section_title))
            section.entries.append(
                Entry(
                    spec,
                    self[spec.key],
                    self[spec.keep_name] if spec.is_file else None,
                    self.offers.get(spec.key, []),
                )
            )
        return list(sections.values())


def form_class(
    specs: Iterable[ItemSpec], *, offers: dict[str, list[Offer]], draft: bool
) -> type[ApplicationFormBase]:
    """The form class of these items, built at run time."""
    specs = tuple(specs)
    fields: dict[str, Any] = {"specs": specs, "offers": offers, "draft": draft}
    for spec in specs:
        if spec.is_file:
            fields[spec.key] = MaterialField(spec, label=spec.label, help_text=spec.help_text)
            fields[spec.keep_name] = _keep_field(offers.get(spec.key, []))
        else:
            fields[spec.key] = field_for(spec, required=spec.required and not draft)
    return type("ApplicationForm", (ApplicationFormBase,), fields)


def initial_from(
    specs: Iterable[ItemSpec],
    answers: Mapping[str, Any],
    offers: dict[str, list[Offer]],
    *,
    fixing: bool = False,
) -> dict[str, Any]:
    """Form initial values: the stored answers; a file item with none pre-selects its latest offer.

    ``fixing`` (补正): the files of the items to fix were found wanting, so none is pre-selected;
    the enterprise uploads a new one or ticks an old one on purpose.
    """
    initial = answers_as_data(specs, answers)
    for spec in specs:
        if spec.is_file and fixing:
            initial[spec.keep_name] = []
        elif spec.is_file and not answers.get(spec.key):
            latest = offers.get(spec.key, [])[:1]
            initial[spec.keep_name] = [str(offer.material.pk) for offer in latest]
    return initial
