"""PDF with a text layer, read with pdfplumber (pypdf checks the encryption and reads the metadata).
A PDF has lines, not paragraphs: lines are joined back into paragraphs (a new one after a short line,
a wider gap or an indent), lines in a larger font become headings, page numbers and running
headers/footers are dropped, and a paragraph running over a page break stays one line of text with a
block per page, so a citation is placed on its page. A scan (no text layer) is refused."""

from __future__ import annotations

import io
import itertools
import logging
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from service.errors import InputError, KBError
from service.ingest.formats.blocks import TextBuilder, join_lines, tidy
from service.ingest.formats.webpage import Page

__all__ = ["MAX_PAGES", "read_pdf"]

# their warnings about a damaged file ("EOF marker not found") would be printed before our one-line
# refusal, or after a file they repaired: the refusal says it once, a repaired file is no news
for _library in ("pypdf", "pdfminer", "pdfplumber"):
    logging.getLogger(_library).setLevel(logging.ERROR)

MAX_PAGES = 1000
_PAGE_NUMBER = re.compile(
    r"[-–—\s]*(第\s*\d+\s*页(\s*/?\s*共\s*\d+\s*页)?|\d+(\s*/\s*\d+)?|page\s*\d+(\s*of\s*\d+)?)[-–—\s]*", re.I
)
_ENDS = re.compile(r"[。！？!?；;:：…”」』)）]$")
_HEADING_RATIO = 1.15


@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    page: int


# a gap between two glyphs becomes a space; between Chinese characters it is the layout's, not the text's
_HAN_SPACE = re.compile(r"(?<=[\u4e00-\u9fff，。、；：！？]) (?=[\u4e00-\u9fff，。、；：！？])")


def _lines(page: Any, number: int) -> list[_Line]:
    out = []
    for line in page.extract_text_lines(return_chars=True, strip=True):
        text = _HAN_SPACE.sub("", tidy(line["text"]))
        sizes = [c["size"] for c in line["chars"] if c.get("text", "").strip()]
        if text and sizes:
            size = round(statistics.median(sizes), 1)
            out.append(_Line(text, line["x0"], line["x1"], line["top"], line["bottom"], size, number))
    return out


def _running(pages: list[list[_Line]]) -> set[str]:
    """Texts (digits masked) that start or end most pages: running headers and footers."""
    if len(pages) < 3:
        return set()
    seen: Counter[str] = Counter()
    for lines in pages:
        for text in {re.sub(r"\d+", "#", line.text) for line in lines[:1] + lines[-1:]}:
            seen[text] += 1
    return {t for t, n in seen.items() if n >= 0.6 * len(pages)}


def _encryption(data: bytes, name: str) -> tuple[str | None, str | None]:
    """Refuse a PDF that needs a password; (title, author) from its metadata."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):  # an empty user password opens many
            raise InputError(
                f"{name}: the PDF is password-protected: open it with the password, save or print it "
                "as a PDF without one (or run qpdf --decrypt), and add that"
            )
        if len(reader.pages) > MAX_PAGES:
            raise InputError(
                f"{name}: {len(reader.pages)} pages, over {MAX_PAGES}: split it and add the parts"
            )
        meta = reader.metadata
    except KBError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise InputError(
            f"{name}: cannot be read as a PDF (damaged or truncated: {str(exc)[:120]}): export it again"
        ) from exc
    if meta is None:
        return None, None
    return tidy(str(meta.title or "")) or None, tidy(str(meta.author or "")) or None


def read_pdf(data: bytes, name: str, limit: int) -> Page:
    import pdfplumber

    title, author = _encryption(data, name)
    pages: list[list[_Line]] = []
    chars = 0
    try:
        with pdfplumber.open(io.BytesIO(data), password="") as pdf:
            for number, page in enumerate(pdf.pages, start=1):
                lines = _lines(page, number)
                page.close()
                chars += sum(len(line.text) for line in lines)
                if chars > limit:  # stop reading early: a character is at least a byte
                    raise InputError(f"{name}: its text is over the limit of {limit} bytes: split the PDF")
                pages.append(lines)
    except KBError:
        raise
    except Exception as exc:  # pdfminer raises many kinds on a damaged file
        raise InputError(
            f"{name}: cannot be read as a PDF ({type(exc).__name__}: {str(exc)[:120]}): export it again"
        ) from exc
    if not any(pages):
        raise InputError(
            f"{name}: the PDF has no text layer (a scan or photos of pages): run OCR on it first "
            "(e.g. ocrmypdf -l chi_sim in.pdf out.pdf) and add the result"
        )
    out = _paragraphs(pages)
    return Page(
        out.text, out.blocks, title=title, author=author, extractor=f"pdfplumber {version('pdfplumber')}"
    )


def _paragraphs(pages: list[list[_Line]]) -> TextBuilder:
    running = _running(pages)
    pages = [[ln for ln in lines if not _PAGE_NUMBER.fullmatch(ln.text)
              and re.sub(r"\d+", "#", ln.text) not in running] for lines in pages]  # fmt: skip
    weights: Counter[float] = Counter()
    for lines in pages:
        for ln in lines:
            weights[ln.size] += len(ln.text)
    body = weights.most_common(1)[0][0]
    big = sorted(
        {ln.size for lines in pages for ln in lines if ln.size >= body * _HEADING_RATIO}, reverse=True
    )
    body_lines = [ln for lines in pages for ln in lines if ln.size < body * _HEADING_RATIO]
    left = min((ln.x0 for ln in body_lines), default=0.0)
    right = max((ln.x1 for ln in body_lines), default=0.0)
    pitches = [b.top - a.top for lines in pages for a, b in itertools.pairwise(lines)
               if a.size == b.size == body and b.top > a.top]  # fmt: skip
    pitch = statistics.median(pitches) if pitches else body * 1.5

    out = TextBuilder()
    text, kind, level, joined, carry = "", "paragraph", 0, False, False
    prev: _Line | None = None

    def flush(page: int) -> None:
        nonlocal text, joined
        if text:
            out.add(text, "heading" if kind == "heading" else "paragraph", joined=joined, page=page,
                    level=level or None)  # fmt: skip
        text, joined = "", False

    for lines in pages:
        for ln in lines:
            head = ln.size >= body * _HEADING_RATIO and len(ln.text) <= 80
            now_kind, now_level = ("heading", min(big.index(ln.size) + 1, 6)) if head else ("paragraph", 0)
            indent = ln.x0 > left + 1.5 * ln.size
            if text and prev is not None:
                gap = ln.top - prev.top > pitch * 1.4 * (ln.size / body)
                short = prev.x1 < right - 1.5 * prev.size
                if (now_kind, now_level) != (kind, level) or gap or (not head and (short or indent)):
                    flush(prev.page)
            elif carry and not head and not indent:
                joined = True  # the paragraph goes on from the previous page
            text = join_lines(text, ln.text)
            kind, level, prev, carry = now_kind, now_level, ln, False
        if text and prev is not None:
            carry = kind == "paragraph" and prev.x1 >= right - 1.5 * prev.size and not _ENDS.search(prev.text)
            flush(prev.page)
    return out
