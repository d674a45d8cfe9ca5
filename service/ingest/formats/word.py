"""Word documents (.docx), read with python-docx after the package is checked without unpacking it
(a zip bomb is refused by its declared sizes). Headings come from the paragraph style (Title, Heading N,
标题 N, or an outline level), numbered and bulleted items from their numbering (numPr, on the paragraph
or its style) and get their number as Word shows it (1、 一、 ①…); tables are read row by row, cell by
cell. The title is the document's own (core properties) or its first heading."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

from service.errors import InputError, KBError
from service.ingest.formats.blocks import TextBuilder, tidy
from service.ingest.formats.markdown import HAS_MARKER, list_marker
from service.ingest.formats.webpage import Page

__all__ = ["check_package", "read_word"]

_HEADING_STYLE = re.compile(r"^(heading|标题)\s*([1-9])$", re.I)
_TITLE_STYLE = re.compile(r"^(title|标题)$", re.I)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_NS = {"w": _W}
_CN = "一二三四五六七八九十"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"
# what Word's own XML compresses by, at most, in practice; a member far past it is a zip bomb
_MAX_RATIO = 200
_MAX_MEMBERS = 5000


def check_package(data: bytes, name: str, unpacked_limit: int) -> None:
    """Refuse a package whose declared sizes say it unpacks past the limit, before unpacking anything
    (zipfile then holds every member to its declared size)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
    if len(infos) > _MAX_MEMBERS:
        raise InputError(f"{name}: {len(infos)} files inside: not a Word document as Word writes one")
    total = sum(i.file_size for i in infos)
    if total > unpacked_limit:
        raise InputError(
            f"{name}: unpacks to {total:,} bytes, over the limit of {unpacked_limit:,} bytes: "
            "save a copy without images (or as .txt) and add that"
        )
    for i in infos:
        ratio = i.file_size / max(i.compress_size, 1)
        if i.file_size > 1_000_000 and ratio > _MAX_RATIO:
            raise InputError(
                f"{name}: its part {i.filename} unpacks {ratio:,.0f} times larger than it is stored, "
                "which no Word document does (a zip bomb): open the original in Word and save it again"
            )
        if i.flag_bits & 0x1:
            raise InputError(
                f"{name}: its parts are encrypted: remove the password in Word, save and add it again"
            )


def _xp(node: Any, expr: str) -> list[Any]:
    """XPath with the w: prefix, on python-docx's elements and plain lxml ones alike."""
    from lxml import etree

    return list(etree._Element.xpath(node, expr, namespaces=_NS))


def _chinese(n: int) -> str:
    if n <= 10:
        return _CN[n - 1]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN[tens - 1]) + "十" + (_CN[ones - 1] if ones else "")


class _Numbering:
    """Numbered and bulleted paragraphs: the number Word shows for each, counted as Word counts."""

    def __init__(self, doc: Any) -> None:
        try:
            self._root = doc.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            self._root = None
        self._counts: dict[str, list[int]] = {}

    def _level(self, num_id: str, ilvl: int) -> tuple[str, int]:
        """numFmt and start of a list level ("decimal", 1 when the numbering part says nothing)."""
        if self._root is None:
            return "decimal", 1
        abstract = _xp(self._root, f'./w:num[@w:numId="{num_id}"]/w:abstractNumId/@w:val')
        if not abstract:
            return "decimal", 1
        lvl = _xp(self._root, f'./w:abstractNum[@w:abstractNumId="{abstract[0]}"]/w:lvl[@w:ilvl="{ilvl}"]')
        if not lvl:
            return "decimal", 1
        fmt = _xp(lvl[0], "./w:numFmt/@w:val")
        start = _xp(lvl[0], "./w:start/@w:val")
        return (str(fmt[0]) if fmt else "decimal"), (
            int(start[0]) if start and str(start[0]).isdigit() else 1
        )

    def marker(self, paragraph: Any, styles: Styles) -> tuple[str, int] | None:
        """The item's marker and depth, or None for a paragraph outside any list."""
        num_pr = _find_in_style_chain(paragraph, "numPr", styles)
        if num_pr is None:
            return None
        num_id = _xp(num_pr, "./w:numId/@w:val")
        if not num_id or num_id[0] == "0":  # numId 0: numbering switched off
            return None
        ilvl_val = _xp(num_pr, "./w:ilvl/@w:val")
        ilvl = int(ilvl_val[0]) if ilvl_val and str(ilvl_val[0]).isdigit() else 0
        fmt, start = self._level(num_id[0], ilvl)
        counts = self._counts.setdefault(num_id[0], [])
        while len(counts) <= ilvl:
            counts.append(0)
        del counts[ilvl + 1 :]  # a shallower item restarts the deeper levels
        counts[ilvl] += 1
        n = start + counts[ilvl] - 1
        depth = ilvl + 1
        if fmt.startswith(("chinese", "ideograph", "japanese", "taiwanese")):
            mark = f"{_chinese(n)}、" if depth == 1 else f"（{_chinese(n)}）"
        elif fmt == "decimalEnclosedCircle" and 1 <= n <= len(_CIRCLED):
            mark = _CIRCLED[n - 1]
        elif fmt in ("lowerLetter", "upperLetter") and n <= 26:
            mark = f"{chr(ord('a') + n - 1)}、"
        else:  # decimal, roman, and bullets: numbered, so that the list finder sees the run
            mark = list_marker(depth, n)
        return mark, depth


Styles = dict[str | None, Any]  # a document's styles by id, as they are looked up


def _style(paragraph: Any, styles: Styles) -> Any:
    """The paragraph's style, looked up once per style of the document (python-docx scans every style
    for the default on each lookup: seconds for a long document)."""
    p_pr = paragraph._p.pPr
    key = p_pr.style if p_pr is not None else None
    if key not in styles:
        styles[key] = paragraph.style
    return styles[key]


def _find_in_style_chain(paragraph: Any, tag: str, styles: Styles) -> Any:
    """A paragraph property (numPr, outlineLvl) from the paragraph or else its style and their bases."""
    p_pr = paragraph._p.pPr
    if p_pr is not None:
        found = p_pr.find(f"{{{_W}}}{tag}")
        if found is not None:
            return found
    style = _style(paragraph, styles)
    for _ in range(10):  # a style's basedOn chain; a loop in a broken file must end
        if style is None:
            return None
        s_pr = style.element.pPr
        if s_pr is not None:
            found = s_pr.find(f"{{{_W}}}{tag}")
            if found is not None:
                return found
        style = style.base_style
    return None


def _heading_level(paragraph: Any, styles: Styles) -> tuple[int, bool] | None:
    """(level, is the Title style) of a heading paragraph, or None."""
    style = _style(paragraph, styles)
    for _ in range(10):
        if style is None:
            break
        label = (style.name or "").strip()
        if _TITLE_STYLE.match(label):
            return 1, True
        m = _HEADING_STYLE.match(label)
        if m:
            return int(m.group(2)), False
        style = style.base_style
    outline = _find_in_style_chain(paragraph, "outlineLvl", styles)
    if outline is not None:
        val = outline.get(f"{{{_W}}}val", "")
        if val.isdigit() and int(val) < 9:  # 9 is body text
            return int(val) + 1, False
    return None


_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def _text(element: Any) -> str:
    """A paragraph's text as Word shows it: its runs, inserted runs of tracked changes (deleted ones are
    w:delText), hyperlinks and fields' results; text boxes on lines of their own; each text box once
    (a drawing's VML fallback repeats it)."""
    out: list[str] = []
    for child in element:
        tag = child.tag
        if tag == f"{{{_MC}}}Fallback":
            continue
        if tag == f"{{{_W}}}t":
            out.append(child.text or "")
        elif tag in (f"{{{_W}}}tab", f"{{{_W}}}ptab"):
            out.append(" ")
        elif tag in (f"{{{_W}}}br", f"{{{_W}}}cr"):
            out.append("\n")
        elif tag == f"{{{_W}}}noBreakHyphen":
            out.append("-")
        elif tag == f"{{{_W}}}p":  # a paragraph inside a text box
            out.append("\n" + _text(child) + "\n")
        elif isinstance(tag, str):
            out.append(_text(child))
    return "".join(out)


def _items(doc: Any) -> Iterator[Any]:
    """The body's paragraphs and tables in reading order, those inside content controls too (python-docx
    lists only the body's own)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    def walk(parent: Any) -> Iterator[Any]:
        for child in parent.iterchildren():
            if child.tag == f"{{{_W}}}p":
                yield Paragraph(child, doc._body)
            elif child.tag == f"{{{_W}}}tbl":
                yield Table(child, doc._body)
            elif child.tag == f"{{{_W}}}sdt":
                content = child.find(f"{{{_W}}}sdtContent")
                if content is not None:
                    yield from walk(content)
            elif child.tag == f"{{{_W}}}customXml":
                yield from walk(child)

    yield from walk(doc.element.body)


def _read(data: bytes) -> tuple[TextBuilder, str | None, str | None]:
    from docx import Document
    from docx.table import Table

    doc = Document(io.BytesIO(data))
    numbering = _Numbering(doc)
    styles: Styles = {}
    out = TextBuilder()
    paragraphs = tables = 0
    first_heading = title_style = None
    for item in _items(doc):
        if isinstance(item, Table):
            tables += 1
            for r, row in enumerate(item.rows, start=1):
                seen: set[int] = set()
                for c, cell in enumerate(row.cells, start=1):
                    if id(cell._tc) in seen:  # a merged cell repeats across the columns it spans
                        continue
                    seen.add(id(cell._tc))
                    words = "\n".join(_text(p) for p in cell._tc.iterchildren(f"{{{_W}}}p"))
                    out.add(tidy(words, keep_breaks=True), "table_cell", table=tables, row=r, cell=c)
            continue
        text = tidy(_text(item._p), keep_breaks=True)
        if not text:
            continue
        paragraphs += 1
        heading = _heading_level(item, styles)
        if heading is not None:
            level, is_title = heading
            out.add(text.replace("\n", " "), "heading", level=level, paragraph=paragraphs)
            first_heading = first_heading or text
            title_style = title_style or (text if is_title else None)
            continue
        marked = numbering.marker(item, styles)
        if marked is not None:
            mark, depth = marked
            words = text if HAS_MARKER.match(text) else mark + text
            out.add(words, "list_item", level=depth, paragraph=paragraphs)
        else:
            out.add(text, "paragraph", paragraph=paragraphs)
    props = doc.core_properties
    title = tidy(props.title or "") or title_style or first_heading
    return out, title, tidy(props.author or "") or None


def read_word(data: bytes, name: str, unpacked_limit: int) -> Page:
    check_package(data, name, unpacked_limit)
    try:
        out, title, author = _read(data)
    except KBError:
        raise
    except Exception as exc:  # python-docx and lxml raise many kinds on a damaged package
        raise InputError(
            f"{name}: cannot be read as a Word document ({type(exc).__name__}: {str(exc)[:120]}): "
            "open it in Word and save it again as .docx"
        ) from exc
    if not out.text:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            images = any(n.startswith("word/media/") for n in z.namelist())
        raise InputError(
            f"{name}: holds only images, no text (a scan?): run OCR on it first and add the text"
            if images
            else f"{name}: the document has no text: choose the file that holds the article"
        )
    return Page(
        out.text, out.blocks, title=title, author=author, extractor=f"python-docx {version('python-docx')}"
    )
