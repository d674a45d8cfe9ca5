"""Wire format of an article's source: where each span of its extracted text sits in the original file
(the block map), the provenance record kept beside the original, and the multipart upload form.

The extracted text is what corpus/raw holds and what citations index with code-point offsets; a
`Block` maps one span of it back to the original: an HTML element, a Word paragraph or table cell, a
PDF page. Numbers meant for people (page, paragraph, table, row, cell, line) count from 1.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FORMATS", "Block", "BlockKind", "FileUpload", "Format", "SourceInfo", "SourceRecord"]

Format = Literal["txt", "md", "html", "docx", "pdf"]
FORMATS: tuple[Format, ...] = ("txt", "md", "html", "docx", "pdf")
BlockKind = Literal["heading", "paragraph", "list_item", "table_cell", "code", "quote"]


class Block(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int = Field(ge=0, description="first code point of the span in the extracted text")
    end: int = Field(ge=0, description="after the span's last code point")
    kind: BlockKind
    level: int | None = Field(None, ge=1, description="a heading's level (1 = top), a list item's depth")
    text: str | None = Field(None, description="a heading's words, so a location can name its section")
    page: int | None = Field(None, ge=1, description="PDF page")
    path: str | None = Field(None, description="HTML: the element's path, e.g. #js_content>section[2]>p[1]")
    paragraph: int | None = Field(None, ge=1, description="Word: the body paragraph, counting non-empty ones")
    table: int | None = Field(None, ge=1, description="Word or HTML: the table, in reading order")
    row: int | None = Field(None, ge=1)
    cell: int | None = Field(None, ge=1)
    line: int | None = Field(None, ge=1, description="text and Markdown: the line in the original file")


class SourceInfo(BaseModel):
    """What the extraction learnt about the original, besides its text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="the file's name as uploaded")
    format: Format
    extractor: str = Field(description="the library that read it and its version, e.g. 'python-docx 1.2.0'")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="of the original bytes")
    size: int = Field(ge=0, description="the original's size in bytes")
    title: str | None = None
    author: str | None = None
    account: str | None = Field(None, description="a WeChat article's official account (公众号)")
    published: str | None = Field(
        None, description="when the page says it was published (ISO 8601 when known)"
    )
    blocks: list[Block] = Field(default_factory=list)


class SourceRecord(SourceInfo):
    """`<stem>.source.json`, beside the original kept byte-identical as `file`."""

    file: str = Field(description="the original's file name beside this record")
    text_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="of the extracted text in UTF-8")
    chars: int = Field(ge=0, description="code points in the extracted text")


class FileUpload(BaseModel):
    """The fields of a multipart upload of POST /admin/articles besides the file itself."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f]+$")
    title: str | None = Field(None, min_length=1, max_length=120)
    force: bool = Field(False, description="add a near-duplicate anyway")
