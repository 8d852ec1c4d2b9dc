"""Every PDF the product makes is rendered here (WeasyPrint, HTML to PDF), and only whole.

**Fonts.** The CJK faces the documents name ("Noto Sans CJK SC", "Noto Serif CJK SC") are
shipped with the front-end assets (``npm ci``: Google's Noto Sans SC and Noto Serif SC, SIL
OFL 1.1, regular and bold) and preferred over whatever the machine has: a fontconfig file of
our own (``FONTCONFIG_FILE``) adds their directories to the system's configuration and puts
each shipped family first for the name the templates use. So a machine without the Debian
``fonts-noto-cjk`` package prints the same documents, and a signed fund form rendered again
comes out byte-identical wherever it is rendered. fontconfig caches the scan of the font
files (under the data directory), so each document pays only the loading of the caches.

**Every glyph or no PDF.** When no font has a character, WeasyPrint draws an empty box
(``.notdef``) and only logs a warning; the document would look made. Here the fonts the
drawing used are asked afterwards which characters they lacked (``Font.missing``, filled by
the drawing itself for exactly the characters no font covered — generated text, page
counters and SVG text included), and any such character fails the rendering with
``PdfNotRendered``: a clear message in the log and, through the page or the job that asked
for the PDF, to the person — and no PDF is returned, so none is stored.

**Laid out once, written in parts.** ``lay_out`` and ``write_pages`` split ``render_pdf`` in
two, so that many documents in one HTML share one layout and each is written out on its own
(the fund forms, issue 16); each part is checked for missing characters as a whole one is.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from django.conf import settings

from .errors import DomainError

if TYPE_CHECKING:
    from weasyprint.document import Document, Page
    from weasyprint.pdf.metadata import DocumentMetadata

log = logging.getLogger(__name__)

# fontTools stamps every subset font it writes with the current time unless SOURCE_DATE_EPOCH
# (the reproducible-builds convention) is set, and current WeasyPrint releases let it. A fixed
# stamp keeps a document rendered again byte-identical (a signed fund form and its SHA-256).
FONT_TIMESTAMP = "1767225600"  # 2026-01-01T00:00:00Z
# The family the templates name -> the shipped family that stands first for it.
PREFERRED = {"Noto Sans CJK SC": "Noto Sans SC", "Noto Serif CJK SC": "Noto Serif SC"}
NAMED_ONE_BY_ONE = 3  # a few rare characters are named with their code points
SHOWN_MISSING = 8  # of many (no CJK font at all), the first few and the count
INSTALL_HINT = (
    "随项目提供的中文字体未安装：请在项目目录运行 npm ci（make demo 会自动运行），"
    "或安装系统字体（apt-get install fonts-noto-cjk）后重试。"
)
RARE_HINT = "所缺字符不在已安装的字体中：如为生僻字，请安装包含该字符的字体后重试。"


class PdfNotRendered(DomainError):
    """Some characters have no font: the PDF would show empty boxes, so none is made."""

    code = "pdf_font_missing"
    http_status = 500


def render_pdf(html: str, *, identifier: bytes | None = None, what: str = "PDF") -> bytes:
    """``html`` as PDF bytes, only when every character has a font (else ``PdfNotRendered``).

    ``identifier`` fixes the PDF's file identifier (documents rendered again identically);
    ``what`` names the document in the error ("受理回执 ZC2026000123").
    """
    return write_pages(lay_out(html), identifier=identifier, what=what)


def lay_out(html: str) -> Document:
    """``html`` laid out once (WeasyPrint), to be written whole or in parts (``write_pages``):
    many documents in one HTML share the cost of the styles, the fonts and the page set-up."""
    from weasyprint import HTML  # heavy; loaded on the first document, not at every start-up

    _use_fonts()
    return HTML(string=html).render()


def write_pages(
    document: Document,
    pages: list[Page] | None = None,
    *,
    head: str = "",
    identifier: bytes | None = None,
    what: str = "PDF",
) -> bytes:
    """``pages`` of a laid-out ``document`` (all by default) as PDF bytes, with the title,
    author and dates of the HTML ``head`` when given (else the document's own), only when
    every character has a font. The fonts are those these pages use, subset to them alone.

    Written from a fresh copy every time: a document collects the fonts it is written with
    and would subset them again on a second writing."""
    document = type(document)(
        document.pages if pages is None else pages,
        _metadata(head) if head else document.metadata,
        document.url_fetcher,
        document.font_config,
        document.color_profiles,
        document.output_intent,
    )
    pdf = document.write_pdf(pdf_identifier=identifier)
    missing = sorted({chr(c) for font in document.fonts.values() for c in font.missing})
    if missing:
        _refuse(what, missing)
    return pdf


def _metadata(head: str) -> DocumentMetadata:
    from weasyprint import HTML
    from weasyprint.html import get_html_metadata
    from weasyprint.pdf.metadata import DocumentMetadata

    return DocumentMetadata(**get_html_metadata(HTML(string=head)))


def _refuse(what: str, missing: list[str]) -> None:
    if len(missing) <= NAMED_ONE_BY_ONE:
        chars = "、".join(f"“{c}”（U+{ord(c):04X}）" for c in missing)
    else:
        chars = f"“{''.join(missing[:SHOWN_MISSING])}”等 {len(missing)} 个字符"
    message = f"{what} 未生成：{chars}没有可用的字体，生成的文件会出现空白方框。"
    absent = [str(d) for d in settings.POLICYWINDOW_PDF_FONT_DIRS if not Path(d).is_dir()]
    hint = INSTALL_HINT if absent else RARE_HINT
    log.error("%s%s 缺少的字体目录：%s", message, hint, "，".join(absent) or "无")
    raise PdfNotRendered(f"{message}{hint}", details={"missing": "".join(missing)})


def _use_fonts() -> None:
    """Point fontconfig at our configuration; read by every document's font configuration."""
    os.environ["FONTCONFIG_FILE"] = str(fontconfig_file())
    os.environ["SOURCE_DATE_EPOCH"] = FONT_TIMESTAMP


def fontconfig_file() -> Path:
    """The fontconfig file for the configured fonts (written once; named by its content)."""
    text = fontconfig_text(
        settings.POLICYWINDOW_PDF_FONT_DIRS,
        settings.POLICYWINDOW_PDF_SYSTEM_FONTCONFIG,
        settings.DATA_DIR / "fontconfig" / "cache",
    )
    path = (
        settings.DATA_DIR / "fontconfig" / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.conf"
    )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)  # whole or not at all, also with several processes at once
    return path


def fontconfig_text(font_dirs: list[Path], system: str, cache: Path) -> str:
    """The system's configuration (when given), the shipped font directories, and each
    shipped family preferred for the name the templates use."""
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">']
    lines.append("<fontconfig>")
    if system:
        lines.append(f'  <include ignore_missing="yes">{escape(system)}</include>')
    lines += [f"  <dir>{escape(str(d))}</dir>" for d in font_dirs]
    lines.append(f"  <cachedir>{escape(str(cache))}</cachedir>")
    for name, shipped in PREFERRED.items():
        lines.append(
            f'  <alias binding="strong"><family>{escape(name)}</family>'
            f"<prefer><family>{escape(shipped)}</family></prefer></alias>"
        )
    lines.append("</fontconfig>")
    return "\n".join(lines) + "\n"
