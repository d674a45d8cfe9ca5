"""An uploaded file as an article: `extract(data, name, limit)` recognises the format by its content
and its name (service/ingest/formats/sniff.py), reads it with the reader for that format (txt, md,
html: WeChat or any page, docx, pdf) and returns the extracted plain text with its block map and what
the file says about itself. The text is what corpus/raw holds and what citations index; the block map
says where each span of it sits in the original (provenance.py writes both beside the draft and says
where a citation sits, in words).

Every refusal is an InputError naming the file and what to do, raised before anything is written.
The size of the file is checked on its bytes before any parsing, the text's size after extraction."""

from __future__ import annotations

import hashlib
import re
from importlib.metadata import version
from pathlib import PurePath

from service.errors import InputError, TooLargeError
from service.ingest.formats.blocks import Extracted
from service.ingest.formats.plain import decode_text, read_text
from service.ingest.formats.provenance import load_source, locate, save_source
from service.ingest.formats.sniff import ACCEPTED, looks_like_html, looks_like_markdown, sniff
from service.ingest.formats.webpage import Page
from service.settings import ARTICLE_FILE_FACTOR
from service.source_models import Format

__all__ = [
    "ACCEPTED",
    "FILE_FACTOR",
    "UNPACKED_FACTOR",
    "Extracted",
    "extract",
    "file_limit",
    "load_source",
    "locate",
    "save_source",
]

# A saved web page carries scripts and styles, a PDF its fonts: the file may be much larger than its
# text. 50 x the article limit (service/settings.py) is 10 MB for today's 200,000-byte articles.
FILE_FACTOR = ARTICLE_FILE_FACTOR
# what a .docx may unpack to, by its declared sizes, before anything is unpacked (a zip bomb is refused)
UNPACKED_FACTOR = 100
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def file_limit(limit: int) -> int:
    """The largest file accepted for an article limit of `limit` bytes of text."""
    return limit * FILE_FACTOR


def extract(data: bytes, name: str, limit: int) -> Extracted:
    """The article in `data` (a file called `name`) as text with its block map. `limit`: the most
    bytes of text (UTF-8) an article may have; the file itself may be up to `file_limit(limit)`."""
    if not data:
        raise InputError(f"{name}: the file is empty (0 bytes): choose the file that holds the article")
    if len(data) > file_limit(limit):
        raise TooLargeError(
            f"{name}: the file is over the limit of {file_limit(limit):,} bytes: "
            "split the article, or save it without images, and add the parts"
        )
    try:
        fmt, page = _read(data, name, limit)
    except RecursionError as exc:  # a page nested thousands of levels deep
        raise InputError(f"{name}: nested too deeply to read: save it again from its program") from exc
    _check_text(page.text, name, limit)
    return Extracted(
        name=name,
        format=fmt,
        extractor=page.extractor,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        title=page.title,
        author=page.author,
        account=page.account,
        published=page.published,
        blocks=page.blocks,
        text=page.text,
    )


def _read(data: bytes, name: str, limit: int) -> tuple[Format, Page]:
    kind = sniff(data, name)
    page: Page
    fmt: Format
    if kind == "pdf":
        from service.ingest.formats.pdf import read_pdf

        fmt, page = "pdf", read_pdf(data, name, limit)
    elif kind == "docx":
        from service.ingest.formats.word import read_word

        fmt, page = "docx", read_word(data, name, limit * UNPACKED_FACTOR)
    else:
        text = decode_text(data, name)
        suffix = PurePath(name).suffix.lower()
        if looks_like_html(text, suffix):
            from service.ingest.formats.webpage import read_page

            fmt, page = "html", read_page(text, name)
        elif looks_like_markdown(text, suffix):
            from service.ingest.formats.markdown import read_markdown

            body, blocks, info = read_markdown(text)
            fmt = "md"
            extractor = f"markdown-it-py {version('markdown-it-py')}"
            page = Page(body, blocks, info["title"], info["author"], None, info["published"], extractor)
        else:
            fmt, page = "txt", Page(text, read_text(text), extractor="utf-8")
    return fmt, page


def _check_text(text: str, name: str, limit: int) -> None:
    if not text.strip():
        raise InputError(f"{name}: the article is empty: choose the file that holds its text")
    size = len(text.encode("utf-8"))
    if size > limit:
        raise TooLargeError(
            f"{name}: its text is {size:,} bytes, over the limit of {limit:,} bytes for an article "
            "(KB_MAX_ARTICLE_BYTES): "
            "split it into parts and add each"
        )
    if not _CHINESE.search(text):
        raise InputError(f"{name}: no Chinese text: the knowledge base holds Chinese articles")
