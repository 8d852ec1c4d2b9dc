"""Font set-ups for the PDF tests (core/pdf_render.py): the machine as it would be without the
Debian ``fonts-noto-cjk`` package, with or without the fonts ``npm ci`` ships."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

CJK_PROBES = (ord("中"), ord("受"), ord("审"))


def latin_only_fonts(directory: Path) -> Path:
    """``directory`` holding (links to) every single-font file of this machine that has Latin
    letters and no Chinese: what a server without CJK fonts still has (DejaVu, Liberation …)."""
    directory.mkdir(parents=True, exist_ok=True)
    listed = subprocess.run(
        ["fc-list", "-f", "%{file}\n"], capture_output=True, text=True, check=True
    ).stdout.split()
    for name in sorted(set(listed)):
        if not name.endswith((".ttf", ".otf")):
            continue
        cmap = TTFont(name, lazy=True).getBestCmap() or {}
        if ord("A") in cmap and not any(c in cmap for c in CJK_PROBES):
            (directory / Path(name).name).symlink_to(name)
    assert any(directory.iterdir()), "no Latin-only font here to stand for a machine without CJK"
    return directory


@pytest.fixture
def _own_fontconfig(monkeypatch):
    # render_pdf points FONTCONFIG_FILE at the configuration of the moment; a Chromium started
    # later by a browser test must not inherit this test's font-poor one.
    monkeypatch.delenv("FONTCONFIG_FILE", raising=False)


@pytest.fixture
def without_cjk_fonts(settings, tmp_path, _own_fontconfig):
    """No fonts-noto-cjk, and the shipped fonts missing (``npm ci`` never ran)."""
    settings.POLICYWINDOW_PDF_FONT_DIRS = [
        latin_only_fonts(tmp_path / "latin-fonts"),
        tmp_path / "node_modules" / "@expo-google-fonts" / "noto-sans-sc" / "400Regular",
    ]
    settings.POLICYWINDOW_PDF_SYSTEM_FONTCONFIG = ""


@pytest.fixture
def shipped_fonts_only(settings, tmp_path, _own_fontconfig):
    """No fonts-noto-cjk; the fonts ``npm ci`` installed are there."""
    settings.POLICYWINDOW_PDF_FONT_DIRS = [
        *settings.POLICYWINDOW_PDF_FONT_DIRS,
        latin_only_fonts(tmp_path / "latin-fonts"),
    ]
    settings.POLICYWINDOW_PDF_SYSTEM_FONTCONFIG = ""
