"""Every PDF is rendered with the shipped CJK fonts, and only when every character has a font
(core/pdf_render.py)."""

from __future__ import annotations

import io
import logging
import os
import subprocess

import pytest
from django.conf import settings
from pypdf import PdfReader

from policywindow.core.pdf_render import PdfNotRendered, fontconfig_file, render_pdf
from tests.pdf_fonts import _own_fontconfig, shipped_fonts_only, without_cjk_fonts  # noqa: F401

HTML = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>
@page { size: A5; @bottom-center { content: "第 " counter(page) " 页"; font-family: "Noto Sans CJK SC"; } }
body { font-family: "Noto Sans CJK SC", sans-serif; } .form { font-family: "Noto Serif CJK SC", serif; }
</style></head><body><h1>受理回执</h1><p>沈阳精工数控机床有限公司 ¥320,000.00</p>
<p class="form"><b>政策兑现经费审批表</b> 壹拾贰万元整</p>{extra}</body></html>"""


def _fonts(pdf: bytes) -> set[str]:
    reader = PdfReader(io.BytesIO(pdf))
    return {
        font["/BaseFont"].split("+", 1)[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_shipped_fonts_print_every_character_without_the_system_cjk_fonts(
    shipped_fonts_only,  # noqa: F811
):
    pdf = render_pdf(HTML.replace("{extra}", ""))
    assert {"Noto-Sans-SC", "Noto-Sans-SC-Bold", "Noto-Serif-SC-Bold"} <= _fonts(pdf)
    text = _text(pdf)
    assert "受理回执" in text and "政策兑现经费审批表" in text and "第 1 页" in text


def test_the_shipped_fonts_stand_first_for_the_names_the_templates_use(_own_fontconfig):  # noqa: F811
    render_pdf(HTML.replace("{extra}", ""))  # writes and selects the configuration
    env = {**os.environ, "FONTCONFIG_FILE": str(fontconfig_file())}
    shipped = settings.NODE_MODULES / "@expo-google-fonts"
    for family, expected in (
        ("Noto Sans CJK SC", shipped / "noto-sans-sc" / "400Regular"),
        ("Noto Sans CJK SC:bold", shipped / "noto-sans-sc" / "700Bold"),
        ("Noto Serif CJK SC", shipped / "noto-serif-sc" / "400Regular"),
        ("Noto Serif CJK SC:bold", shipped / "noto-serif-sc" / "700Bold"),
    ):
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", family], env=env, capture_output=True, text=True
        ).stdout
        assert found.startswith(str(expected)), (family, found)


def test_without_any_cjk_font_no_pdf_is_made_and_the_error_says_what_to_install(
    without_cjk_fonts,  # noqa: F811
    caplog,
):
    with pytest.raises(PdfNotRendered) as refused:
        render_pdf(HTML.replace("{extra}", ""), what="受理回执 ZC2026000001")
    message = refused.value.message
    assert message.startswith("受理回执 ZC2026000001 未生成：“")
    assert "个字符没有可用的字体，生成的文件会出现空白方框" in message
    assert "随项目提供的中文字体未安装" in message
    assert "npm ci" in message and "apt-get install fonts-noto-cjk" in message
    assert {"受", "理", "回", "执"} <= set(refused.value.details["missing"])
    assert refused.value.http_status == 500 and refused.value.code == "pdf_font_missing"
    logged = [r for r in caplog.records if r.name == "policywindow.core.pdf_render"]
    assert logged and logged[0].levelno == logging.ERROR
    assert "受理回执 ZC2026000001 未生成" in logged[0].getMessage()
    assert "node_modules" in logged[0].getMessage()  # the log names the missing directory


def test_a_character_no_font_has_is_named_even_when_the_fonts_are_there(
    shipped_fonts_only,  # noqa: F811
):
    """A rare character (here CJK Extension B) in an enterprise's name: no empty box in the
    document, the character named instead."""
    with pytest.raises(PdfNotRendered) as refused:
        render_pdf(HTML.replace("{extra}", "<p>鞍山𪚥业有限公司</p>"), what="受理回执")
    message = refused.value.message
    assert "“𪚥”（U+2A6A5）" in message and "“鞍”" not in message
    assert "生僻字" in message
    assert refused.value.details == {"missing": "𪚥"}
