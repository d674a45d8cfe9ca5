"""Which reader a file needs, judged by its content first and its name second: a PDF starts with
%PDF, a Word .docx is a zip package holding word/document.xml, HTML pasted into a .txt is HTML.
Types we recognise but do not read (images, spreadsheets, Word 97, password-protected Office files,
archives) are refused here, by name, with what to do instead."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath
from typing import Literal

from service.errors import InputError

__all__ = ["ACCEPTED", "looks_like_html", "looks_like_markdown", "sniff"]

ACCEPTED = (
    "UTF-8 text (.txt), Markdown (.md), web pages (.html, .htm; saved WeChat articles too), "
    "Word documents (.docx) and PDF with a text layer (.pdf)"
)
_OLE = (
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file of Office 97-2003 (and of encrypted Office files)
)
_OCR = "if it is a photo or scan of an article, run OCR on it first and add the text"
_UNPACK = "unpack it and add the article inside"
_BINARY: list[tuple[bytes, int, str, str]] = [  # signature, its offset, what the file is, what to do
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image", _OCR),
    (b"\xff\xd8\xff", 0, "a JPEG image", _OCR),
    (b"GIF87a", 0, "a GIF image", _OCR),
    (b"GIF89a", 0, "a GIF image", _OCR),
    (b"WEBP", 8, "a WebP image", _OCR),
    (b"II*\x00", 0, "a TIFF image", _OCR),
    (b"MM\x00*", 0, "a TIFF image", _OCR),
    (b"ftypheic", 4, "a HEIC photo", _OCR),
    (b"ftyp", 4, "a video or audio file", ""),
    (b"{\\rtf", 0, "an RTF document", "save it as .docx and add that"),
    (b"\x1f\x8b", 0, "a gzip archive", _UNPACK),
    (b"7z\xbc\xaf\x27\x1c", 0, "a 7-Zip archive", _UNPACK),
    (b"Rar!\x1a\x07", 0, "a RAR archive", _UNPACK),
]
_HTML_START = re.compile(
    r"\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<meta[\s>]|<!--|<(div|article|section|p|h[1-6]|span)[\s>])",
    re.I,
)
_HTML_TAGS = re.compile(r"</(p|div|section|span|h[1-6]|li|article|body|html)>|<br\s*/?>", re.I)
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+\S", re.M)
_MD_OTHER = re.compile(r"^\s*([-*+]|\d+\.)[ \t]+\S|\*\*\S|^```|^>[ \t]", re.M)


def _refuse(name: str, what: str, hint: str = "") -> InputError:
    todo = f"{hint}; " if hint else ""
    return InputError(f"{name}: {what}, not a format the knowledge base reads: {todo}accepted are {ACCEPTED}")


def _zip_kind(data: bytes, name: str) -> Literal["docx"]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            mimetype = z.read("mimetype")[:100].decode("ascii", "replace") if "mimetype" in names else ""
    except (zipfile.BadZipFile, ValueError, NotImplementedError, EOFError) as exc:
        raise InputError(
            f"{name}: a damaged zip package (a .docx is one) that cannot be opened ({exc}): "
            "open the original in Word and save it again as .docx"
        ) from exc
    if "word/document.xml" in names:
        return "docx"
    if any(n.startswith("xl/") for n in names):
        raise _refuse(name, "an Excel workbook (.xlsx)")
    if any(n.startswith("ppt/") for n in names):
        raise _refuse(name, "a PowerPoint presentation (.pptx)")
    if "opendocument.text" in mimetype:
        raise _refuse(name, "an OpenDocument text (.odt)", "save it as .docx in LibreOffice and add that")
    if "epub" in mimetype:
        raise _refuse(name, "an EPUB book")
    raise _refuse(name, "a zip archive", _UNPACK)


def _refuse_ole(data: bytes, name: str) -> InputError:
    import olefile

    try:
        ole = olefile.OleFileIO(data)
        streams = {"/".join(entry) for entry in ole.listdir()}
        ole.close()
    except OSError:
        streams = set()
    if "EncryptedPackage" in streams:
        return InputError(
            f"{name}: a password-protected Office document: open it, remove the password (Word: "
            "文件 → 信息 → 保护文档 → 用密码进行加密, clear the password), save it as .docx and add it again"
        )
    if "WordDocument" in streams:
        return _refuse(
            name,
            "a Word 97-2003 document (.doc)",
            "open it in Word or LibreOffice, save it as .docx and add that",
        )
    if "Workbook" in streams or "Book" in streams:
        return _refuse(name, "an Excel 97-2003 workbook (.xls)")
    if "PowerPoint Document" in streams:
        return _refuse(name, "a PowerPoint 97-2003 presentation (.ppt)")
    return _refuse(name, "an Office 97-2003 file")


def sniff(data: bytes, name: str) -> Literal["pdf", "docx", "text"]:
    """ "pdf", "docx" or "text" (then decoded and told apart by `looks_like_*`); InputError otherwise."""
    suffix = PurePath(name).suffix.lower()
    if b"%PDF-" in data[:1024]:  # the spec lets a few bytes of junk precede the header
        return "pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data, name)
    if data.startswith(_OLE):
        raise _refuse_ole(data, name)
    for magic, offset, what, hint in _BINARY:
        if data[offset : offset + len(magic)] == magic:
            raise _refuse(name, what, hint)
    if suffix == ".pdf":
        raise InputError(
            f"{name}: not a PDF (it does not start with %PDF): the file is damaged or renamed; "
            "export it from its program again"
        )
    if suffix in (".docx", ".docm", ".dotx"):
        raise InputError(
            f"{name}: not a Word .docx (it is not a zip package): the file is damaged or renamed; "
            "open it in Word and save it again as .docx"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            f"{name}: UTF-16 text: save it as UTF-8 (记事本: 另存为 → 编码 UTF-8) and add it again"
        )
    if b"\x00" in data[:8192]:
        raise _refuse(name, "a binary file of a type not recognised")
    head = data[:2048].lower()
    if b"mime-version:" in head and b"multipart/related" in head:
        raise _refuse(name, "a web archive (.mhtml)", "save the page as 'Webpage, HTML only' and add that")
    return "text"


def looks_like_html(text: str, suffix: str) -> bool:
    if suffix in (".html", ".htm", ".xhtml"):
        return True
    return bool(_HTML_START.match(text.lstrip("\ufeff"))) or len(_HTML_TAGS.findall(text[:20000])) >= 5


def looks_like_markdown(text: str, suffix: str) -> bool:
    if suffix in (".md", ".markdown", ".mdown", ".mkd"):
        return True
    headings = len(_MD_HEADING.findall(text))
    return headings >= 2 or (headings == 1 and bool(_MD_OTHER.search(text)))
