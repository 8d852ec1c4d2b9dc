"""Figures shown on pages (rates, counts, money): each defined once, with the words shown next to it.

DESIGN.md §7: a figure has one definition in one place — what is counted and as of when — and
the page shows that definition beside the figure (``includes/figure_definition.html``, plain
HTML without script). The selector that computes a figure names its ``Figure`` in its docstring,
and a test recounts the figure from the rows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    counts: str  # what is counted, and how it is derived
    as_of: str  # which rows by date, and as of when

    @property
    def definition(self) -> str:
        return f"{self.label}：{self.counts}{self.as_of}"


def registry(*figures: Figure) -> dict[str, Figure]:
    """Figures by key; a key defined twice is a programming error."""
    found: dict[str, Figure] = {}
    for figure in figures:
        if figure.key in found:
            raise ValueError(f"figure {figure.key} defined twice")
        found[figure.key] = figure
    return found
