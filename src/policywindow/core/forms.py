"""The form mixin every app's forms use: the UI kit's classes on every widget, Chinese field
errors, and a service's domain error placed on the fields it names."""

from __future__ import annotations

from django import forms

from .errors import DomainError
from .inputs import RefuseUnsafeTextMixin


class BootstrapFormMixin(RefuseUnsafeTextMixin):
    """Give every widget the UI kit's classes so templates can render fields uniformly.
    Every field refuses NUL and lone surrogates with a message on the field (core.inputs)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput,)):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
                continue
            elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")

    def full_clean(self) -> None:
        super().full_clean()
        self._mark_invalid_widgets()

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        self._mark_invalid_widgets()

    def _mark_invalid_widgets(self) -> None:
        # Bootstrap draws the red border from the input's own class.
        for name in getattr(self, "_errors", None) or {}:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()

    def add_domain_error(self, error: DomainError) -> None:
        """Attach a service's ValidationFailed details to the right fields."""
        placed = False
        for field, messages in (error.details or {}).items():
            for message in messages if isinstance(messages, list) else [messages]:
                self.add_error(field if field in self.fields else None, message)
                placed = True
        if not placed:
            self.add_error(None, error.message)
