"""Small real PDFs for demo materials, so a downloaded file opens in any PDF viewer."""

from __future__ import annotations

import functools

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape

from policywindow.core.pdf_render import render_pdf

# One font weight only: WeasyPrint subsets each embedded face, and that is most of its time.
PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>
@page {{ size: A5; margin: 16mm 14mm; }}
body {{ font-family: "Noto Sans CJK SC", sans-serif; font-size: 11pt; color: #222; }}
h1 {{ font-weight: normal; font-size: 19pt; text-align: center; margin: 6mm 0 8mm; }}
p {{ margin: 3mm 0; }}
.mark {{ border: 1px solid #b02a37; color: #b02a37; padding: 2mm 3mm; margin-top: 12mm; }}
</style></head><body>
<h1>{title}</h1>
<p>企业名称：{name}</p>
<p>统一社会信用代码：{code}</p>
<p class="mark">{mark}</p>
</body></html>"""


PROMISE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 25mm 22mm; }}
body {{ font-family: "Noto Sans CJK SC", sans-serif; font-size: 12pt; line-height: 2; }}
h1 {{ font-weight: normal; font-size: 20pt; text-align: center; }}
p {{ text-indent: 2em; margin: 0; }}
.sign {{ text-align: right; margin-top: 16mm; }}
</style></head><body>
<h1>信用承诺书（模板）</h1>
<p>本企业 ____________________（统一社会信用代码 __________________）自愿申报
政策兑现事项，现郑重承诺：</p>
<p>一、所提交的申报材料真实、准确、完整，不存在虚假、隐瞒或误导；</p>
<p>二、近三年无严重失信行为，未被列入失信被执行人、重大税收违法失信主体名单；</p>
<p>三、同一事项未重复申报或重复享受财政资金支持；</p>
<p>四、如有违反，愿意退回已获资金并承担相应法律责任。</p>
<p class="sign">法定代表人（签字）：__________　　企业（盖章）</p>
<p class="sign">______年____月____日</p>
<p>{mark}</p>
</body></html>"""
DEMO_MARK = "演示数据：本文件由系统演示程序生成，仅用于演示，不具有任何法律效力。"


def _render(html: str) -> bytes:
    return render_pdf(html, what="演示材料")


def demo_pdf(title: str, enterprise_name: str, credit_code: str) -> bytes:
    """A one-page A5 PDF headed ``title`` naming the enterprise."""
    return _render(
        PAGE.format(
            title=escape(f"{title}（演示）"),
            name=escape(enterprise_name),
            code=escape(credit_code),
            mark=DEMO_MARK,
        )
    )


@functools.cache
def _promise_pdf() -> bytes:
    return _render(PROMISE.format(mark=DEMO_MARK))


def promise_template() -> SimpleUploadedFile:
    """The 信用承诺书 template enterprises download, sign, stamp and upload (rendered once)."""
    return SimpleUploadedFile(
        "信用承诺书（模板）.pdf", _promise_pdf(), content_type="application/pdf"
    )


def demo_upload(title: str, enterprise_name: str, credit_code: str) -> SimpleUploadedFile:
    """The PDF as an upload, named like a scan a clerk would receive."""
    content = demo_pdf(title, enterprise_name, credit_code)
    return SimpleUploadedFile(f"{title}.pdf", content, content_type="application/pdf")
