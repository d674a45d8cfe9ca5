"""Real files of every format the formats tests read, written the way people's tools write them: a
WeChat article page and a blog page, Markdown notes, a Word document by python-docx, a two-page PDF
with Chinese text by fpdf2 (the CJK font of Debian's fonts-wqy-microhei), and the bad ones: a
password-protected PDF and .docx, a zip bomb .docx, a scanned (image-only) PDF, a PNG, an .xlsx, a
Word 97 .doc."""

from __future__ import annotations

import html
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "ACROSS_PAGES",
    "CJK_FONT",
    "PDF_PAGE_2_QUOTE",
    "blog_page",
    "docx_notes",
    "docx_with_controls",
    "encrypted_docx",
    "encrypted_pdf",
    "image_docx",
    "image_pdf",
    "markdown_notes",
    "pdf_across_pages",
    "pdf_two_pages",
    "pdf_with_running_header",
    "png_image",
    "wechat_page",
    "word97_doc",
    "xlsx_workbook",
    "zip_bomb_docx",
]

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
PDF_PAGE_2_QUOTE = "每周把群里的好问题整理成周报发回群里"
ACROSS_PAGES = (
    "种子用户要和产品高度相关，最好是已经付费的老客户，不要一开始就拉几百人，人多了反而没人说话，"
    "大家都在等别人先开口，群很快就冷下来了；第一周每天安排一个小话题，由运营同事带头回答，"
    "让新人知道这个群可以聊什么，第二周再请两三位老客户分享他们用产品的故事，第三周开始把群里的好问题"
    "整理成周报发回群里，成员会觉得自己的发言被看见了，第四周才谈转化，这时候大家已经信任你了。"
)


def wechat_page(text: str, title: str, account: str = "运营研究社") -> bytes:
    """A saved WeChat article as the browser saves it: the body's paragraphs in #js_content (hidden
    until the page's script shows it), the title in h1.rich_media_title, the account in #js_name, a
    script in the head, a hidden element, images, a 扫一扫关注 footer."""
    paras = "\n".join(
        f'<p style="margin: 0 8px;"><span style="font-size: 15px;">{html.escape(line)}</span></p>'
        for line in text.split("\n")
        if line.strip()
    )
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta property="og:title" content="{html.escape(title)}">
<script>var msg_title = '{html.escape(title)}'.html(false); var nickname = "{account}"; var ct = "1589000400";
if (window.__wxjs) {{ document.write("<p>脚本里的文字</p>"); }}</script>
<style>.rich_media_title {{ font-size: 22px; }} #js_content p::before {{ content: "#"; }}</style>
</head><body id="activity-detail">
<div class="rich_media_inner"><div id="js_article">
<h1 class="rich_media_title" id="activity-name">
    {html.escape(title)}
</h1>
<div id="meta_content"><span class="rich_media_meta rich_media_meta_nickname" id="profileBt">
<a href="javascript:void(0);" id="js_name"> {account} </a></span>
<em id="publish_time" class="rich_media_meta rich_media_meta_text"></em></div>
<div class="rich_media_content" id="js_content" style="visibility: hidden;">
<section style="text-align: center;"><img data-src="https://mmbiz.qpic.cn/a.png" alt="图片"></section>
{paras}
<p style="display: none;">隐藏的推广文字：加微信领资料</p>
<section style="text-align:center"><span><strong>▼</strong></span></section>
<p><span>扫一扫关注我们，获取更多社群运营干货</span></p>
<p><img data-src="https://mmbiz.qpic.cn/qr.png" alt="二维码：长按识别关注"></p>
</div>
<div id="js_tags_preview_toast">预览时标签不可点</div>
</div></div>
<div id="js_pc_qr_code"><p>微信扫一扫<br>关注该公众号</p></div>
</body></html>""".encode()


def blog_page() -> bytes:
    """A blog post in a common theme: navigation, an article with headings, a list and a table, a
    sidebar and a footer."""
    return """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>付费社群续费率从两成到六成 - 小明的运营笔记</title><meta name="author" content="小明">
<meta property="article:published_time" content="2021-03-04T10:00:00+08:00">
<script>window.dataLayer = window.dataLayer || [];</script><style>body { font: 16px/1.6 sans-serif; }</style>
</head><body>
<header><nav><a href="/">首页</a> <a href="/archive">归档</a> <a href="/about">关于我</a></nav></header>
<main><article>
<h1>付费社群续费率从两成到六成</h1>
<p class="meta">小明 · 2021-03-04 · 阅读 1024</p>
<p>去年我们的付费群续费率只有两成，今年做到了六成。回头看，做对的事情并不多，但每一件都坚持做了一整年。</p>
<h2>一、每月一次答疑直播</h2>
<p>群主每月固定一晚直播答疑，提前一周在群里收集问题，直播后把回答整理成文字发回群里，没赶上的成员也能看到。</p>
<h2>二、给老成员专属福利</h2>
<p>老成员续费时可以带一位朋友免费体验一个月，被带进来的新人往往也会留下来，这比投放广告便宜得多。</p>
<ol><li>续费前一个月私聊每位老成员，问他这一年最有用的一次分享。</li>
<li>把老成员的反馈整理成续费海报，让他们的话替我们说话。</li></ol>
<table><tr><th>年份</th><th>续费率</th></tr><tr><td>去年</td><td>两成</td></tr><tr><td>今年</td><td>六成</td></tr></table>
<p>最后提醒一句：续费不是最后一个月的事情，而是每个月都在发生的事情，成员每个月都在决定要不要留下来。</p>
</article></main>
<aside><h3>热门文章</h3>
<ul><li><a href="/a">如何写社群周报</a></li><li><a href="/b">私域流量是什么</a></li></ul></aside>
<footer><p>版权所有 © 2021 小明 · <a href="/contact">联系我们</a></p></footer>
</body></html>""".encode()


def markdown_notes() -> bytes:
    return """---
title: 社群冷启动笔记
author: 赵六
date: 2021-05-01
---
# 社群冷启动笔记

我们在三个月里做了十个种子用户群，**总结出**冷启动的三个步骤。
不要一开始就拉几百人，人多了反而没人说话。

## 一、三个步骤

1. 先找二十个种子用户，种子用户要和产品高度相关，最好是已经付费的老客户。
2. 设计第一周的*破冰活动*，每天安排一个小话题，由运营同事带头回答。
3. 用周报沉淀内容，每周把群里的好问题整理成[周报](https://example.com/weekly)发回群里。

## 二、群规

- 不许发广告，发了先私聊提醒，再犯就移出群。
- 不许刷屏，连续发五条以上的要提醒。

`群规` 要在第一天就发出来。

![二维码](qr.png)
""".encode()


def docx_notes() -> bytes:
    """A Word document as python-docx writes one: a title, headings, a numbered list, a bulleted list,
    a table and Chinese paragraphs; the title in the core properties."""
    from docx import Document

    doc = Document()
    doc.core_properties.title = "付费社群的续费复盘"
    doc.core_properties.author = "李四"
    doc.add_heading("付费社群的续费复盘", 0)
    doc.add_paragraph("去年我们的付费群续费率只有两成，今年做到了六成，做对了三件事。")
    doc.add_heading("做对的三件事", 1)
    doc.add_paragraph(
        "每月一次答疑直播。群主每月固定一晚直播答疑，提前一周在群里收集问题，直播后把回答整理成文字发回群里。",
        style="List Number",
    )
    doc.add_paragraph(
        "给老成员专属福利。老成员续费时可以带一位朋友免费体验一个月，被带进来的新人往往也会留下来。",
        style="List Number",
    )
    doc.add_paragraph(
        "续费前一个月私聊每位老成员，问他这一年最有用的一次分享，再把这些话整理成续费海报。",
        style="List Number",
    )
    doc.add_heading("续费率的变化", 1)
    table = doc.add_table(rows=3, cols=2)
    for r, (year, rate) in enumerate([("年份", "续费率"), ("去年", "两成"), ("今年", "六成")]):
        table.cell(r, 0).text = year
        table.cell(r, 1).text = rate
    doc.add_heading("还要注意", 1)
    doc.add_paragraph("不要在群里催续费，催得越多，退得越快。", style="List Bullet")
    doc.add_paragraph("最后提醒一句：续费不是最后一个月的事情，成员每个月都在决定要不要留下来。")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def docx_with_controls() -> bytes:
    """A Word document as templates and reviews leave them: a paragraph inside a content control
    (w:sdt), a tracked insertion (w:ins) and deletion (w:del), a text box with its VML fallback."""
    from docx import Document
    from docx.oxml.ns import qn
    from lxml import etree

    doc = Document()
    doc.add_heading("社群周报模板", 1)
    body = doc.element.body
    inside = doc.add_paragraph("内容控件里的一段话：每周五下午发周报。")._p
    sdt = etree.Element(qn("w:sdt"))
    etree.SubElement(sdt, qn("w:sdtContent")).append(inside)  # moves the paragraph into the control
    body.insert(len(body) - 1, sdt)  # before the section properties, as Word places it
    revised = doc.add_paragraph("周报要写三件事")._p
    ins = etree.SubElement(revised, qn("w:ins"))
    etree.SubElement(etree.SubElement(ins, qn("w:r")), qn("w:t")).text = "：进展、问题和下周计划。"
    gone = etree.SubElement(revised, qn("w:del"))
    etree.SubElement(etree.SubElement(gone, qn("w:r")), qn("w:delText")).text = "删掉的旧说法"
    boxed = doc.add_paragraph("正文旁边有一个文本框。")._p
    run = etree.SubElement(boxed, qn("w:r"))
    alternate = etree.SubElement(
        run, "{http://schemas.openxmlformats.org/markup-compatibility/2006}AlternateContent"
    )
    for branch in ("Choice", "Fallback"):
        part = etree.SubElement(
            alternate, f"{{http://schemas.openxmlformats.org/markup-compatibility/2006}}{branch}"
        )
        box = etree.SubElement(part, qn("w:txbxContent"))
        etree.SubElement(
            etree.SubElement(etree.SubElement(box, qn("w:p")), qn("w:r")), qn("w:t")
        ).text = "文本框：别催续费"
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def image_docx() -> bytes:
    """A Word document of photographed pages: pictures, no text."""
    from docx import Document

    doc = Document()
    for _ in range(2):
        doc.add_picture(io.BytesIO(png_image()))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _font_or_skip() -> Path:
    if not CJK_FONT.exists():
        reason = f"no CJK font at {CJK_FONT}: install Debian's package fonts-wqy-microhei"
        print(reason)
        pytest.skip(reason)
    return CJK_FONT


def _footer_pdf() -> type:
    from fpdf import FPDF

    class FooterPDF(FPDF):  # type: ignore[misc]
        """Page numbers at the foot of every page, as word processors print them, and a running
        header when `running` is set."""

        running = ""

        def header(self) -> None:
            if self.running:
                self.set_font("wqy", size=9)
                self.cell(0, 8, self.running, align="R", new_x="LMARGIN", new_y="NEXT")

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("wqy", size=9)
            self.cell(0, 10, f"第 {self.page_no()} 页", align="C")

    return FooterPDF


def _new_pdf(running: str = "") -> Any:
    pdf = _footer_pdf()()
    pdf.running = running
    return pdf


def pdf_with_running_header(pages: int = 4) -> bytes:
    """A report with a running header and page numbers on every page, a section per page."""
    pdf = _new_pdf(running="社群运营手册 · 内部资料")
    pdf.add_font("wqy", fname=str(_font_or_skip()), collection_font_number=0)
    pdf.set_font("wqy", size=11)
    for n in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("wqy", size=16)
        pdf.multi_cell(0, 9, f"第{n}周的重点", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("wqy", size=11)
        pdf.multi_cell(0, 7, f"这一周要做的事情写在这里：第{n}周先复盘上周的问题，再定下这周的目标。",
                       new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    return bytes(pdf.output())


def pdf_across_pages() -> bytes:
    """A paragraph that starts at the foot of page 1 and goes on at the top of page 2."""
    pdf = _new_pdf()
    pdf.add_font("wqy", fname=str(_font_or_skip()), collection_font_number=0)
    pdf.add_page()
    pdf.set_font("wqy", size=11)
    pdf.multi_cell(0, 7, "社群的冷启动要慢一点。", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(255)
    pdf.multi_cell(0, 7, ACROSS_PAGES, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def pdf_two_pages() -> bytes:
    """A two-page PDF with a text layer in Chinese, by fpdf2 with the WenQuanYi Micro Hei font: a
    heading and a numbered list on page 1, the third item (PDF_PAGE_2_QUOTE) on page 2."""
    pdf = _new_pdf()
    pdf.add_font("wqy", fname=str(_font_or_skip()), collection_font_number=0)
    pdf.set_title("社群冷启动的复盘")
    pdf.set_author("王五")

    def para(text: str, size: int = 11, after: float = 3) -> None:
        pdf.set_font("wqy", size=size)
        pdf.multi_cell(0, size * 0.62, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(after)

    pdf.add_page()
    para("社群冷启动的复盘", size=20, after=5)
    para("我们在三个月里做了十个种子用户群，总结出冷启动的三个步骤：")
    para(
        "1、先找二十个种子用户。种子用户要和产品高度相关，最好是已经付费的老客户。不要一开始就拉几百人，"
        "人多了反而没人说话，大家都在等别人先开口，群很快就冷下来了。"
    )
    para(
        "2、设计第一周的破冰活动。第一周每天安排一个小话题，由运营同事带头回答，让新人知道这个群可以聊什么。"
    )
    pdf.add_page()
    para(f"3、用周报沉淀内容。{PDF_PAGE_2_QUOTE}，成员会觉得自己的发言被看见了。")
    para("最后提醒一句：冷启动最大的误区是急着卖货，先让大家信任你，再谈转化。")
    return bytes(pdf.output())


def encrypted_pdf() -> bytes:
    """pdf_two_pages() locked with a user password, as pypdf encrypts (AES-256)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_two_pages())))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_pdf() -> bytes:
    """A scan: each page one picture of Chinese text, no text layer."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(_font_or_skip()), 28)
    picture = Image.new("RGB", (800, 300), "white")
    ImageDraw.Draw(picture).text((20, 20), "这是一页扫描件：社群冷启动的复盘", fill="black", font=font)
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.image(picture, x=10, y=10, w=190)
    return bytes(pdf.output())


def encrypted_docx() -> bytes:
    """docx_notes() with a password to open, as Word encrypts it (ECMA-376 agile, by msoffcrypto-tool)."""
    import msoffcrypto

    out = io.BytesIO()
    msoffcrypto.OfficeFile(io.BytesIO(docx_notes())).encrypt("secret", out)
    return out.getvalue()


def zip_bomb_docx(unpacked: int = 60_000_000) -> bytes:
    """A real .docx with one more part: `unpacked` bytes of zeros, stored at the highest compression
    level (a few tens of kilobytes on disk)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx_notes())) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("word/media/padding.bin", b"\0" * unpacked, zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def word97_doc() -> bytes:
    """A Word 97-2003 container (a compound file with a WordDocument stream). Nothing on this machine
    writes .doc, so this is an encrypted .docx's compound file with its main stream renamed."""
    data = bytearray(encrypted_docx())
    old = "EncryptedPackage".encode("utf-16-le")
    at = data.index(old)
    data[at : at + 64] = "WordDocument".encode("utf-16-le").ljust(64, b"\0")
    data[at + 64 : at + 66] = (len("WordDocument") * 2 + 2).to_bytes(2, "little")  # name length, with NUL
    return bytes(data)


def xlsx_workbook() -> bytes:
    """The parts an Excel workbook is made of (a zip with xl/workbook.xml)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
        z.writestr("xl/worksheets/sheet1.xml", '<?xml version="1.0"?><worksheet/>')
    return out.getvalue()


def png_image() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(out, format="PNG")
    return out.getvalue()
