"""The unified seal (行政审批专用章) drawn as SVG: a red double circle, a five-pointed star, the
issuing body along the upper arc and 行政审批专用章 below the star, as on a round official seal.

Each character of the arc is placed and turned on its own rather than with ``<textPath>``, so
every renderer (WeasyPrint's included) draws it the same way.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

RED = "#d7000f"
FONT = "'Noto Serif CJK SC', 'Noto Sans CJK SC', serif"
SIZE = 200  # viewBox units; the caller sets the printed size (42 mm, GA 241 for a body's seal)
CENTER = SIZE / 2
ARC_RADIUS = 71.5  # where the middle of each arc character sits
ARC_FONT = 24
ARC_SPAN_MAX = 250  # degrees of the circle the name may cover


def _star(cx: float, cy: float, outer: float, inner: float) -> str:
    points = []
    for i in range(10):
        radius = outer if i % 2 == 0 else inner
        angle = math.radians(-90 + i * 36)
        points.append(f"{cx + radius * math.cos(angle):.2f},{cy + radius * math.sin(angle):.2f}")
    return f'<polygon points="{" ".join(points)}" fill="{RED}"/>'


def _arc_text(text: str) -> str:
    """Characters spread evenly over the top of the ring, each upright towards the rim."""
    count = len(text)
    span = min(ARC_SPAN_MAX, 26 * count)
    parts = []
    for index, char in enumerate(text):
        angle = -span / 2 + span * (index + 0.5) / count  # 0° = straight up, clockwise
        x = CENTER + ARC_RADIUS * math.sin(math.radians(angle))
        y = CENTER - ARC_RADIUS * math.cos(math.radians(angle))
        parts.append(
            f'<text transform="translate({x:.2f} {y:.2f}) rotate({angle:.2f})" '
            f'y="{ARC_FONT * 0.36:.2f}" text-anchor="middle" font-size="{ARC_FONT}" '
            f'font-weight="bold">{escape(char)}</text>'
        )
    return "".join(parts)


def seal_svg(issuer: str, *, title: str = "行政审批专用章", demo: bool = False) -> str:
    """The seal as an ``<svg>`` element (no size: the page places and sizes it)."""
    demo_mark = (
        f'<text x="{CENTER}" y="132" text-anchor="middle" font-size="17" '
        f'letter-spacing="6">演示</text>'
        if demo
        else ""
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" '
        f'class="seal" role="img" aria-label="{escape(issuer)}{escape(title)}">'
        f'<g fill="{RED}" stroke="none" font-family="{FONT}">'
        f'<circle cx="{CENTER}" cy="{CENTER}" r="95" fill="none" stroke="{RED}" stroke-width="5"/>'
        f'<circle cx="{CENTER}" cy="{CENTER}" r="88.5" fill="none" stroke="{RED}" '
        f'stroke-width="1.2"/>'
        f"{_star(CENTER, 92, 25, 9.8)}"
        f"{_arc_text(issuer)}"
        f"{demo_mark}"
        f'<text x="{CENTER}" y="157" text-anchor="middle" font-size="16" font-weight="bold" '
        f'letter-spacing="1">{escape(title)}</text>'
        "</g></svg>"
    )
