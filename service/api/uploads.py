"""The body of POST /admin/articles, in either of its two forms: a multipart file upload (`file`, and
optional `title` and `force` fields), what a browser's file input and `curl -F file=@page.html` send,
or today's JSON text form (`ArticleUpload`). Both become the same call of the core: the file's bytes,
its name, a title and force. JSON errors are reported as FastAPI reports them on every other route."""

from __future__ import annotations

import json
from pathlib import PureWindowsPath
from typing import Any, NamedTuple

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from service.curation.models import ArticleUpload
from service.errors import InputError
from service.source_models import FileUpload

__all__ = ["UPLOAD_BODY", "UnsupportedUpload", "Upload", "read_upload"]

_FORM_FIELD_BYTES = 64 * 1024  # a title and a flag: more is not a form we sent
_TRUE = frozenset({"1", "true", "on", "yes"})


class Upload(NamedTuple):
    data: bytes
    filename: str
    title: str | None
    force: bool


class UnsupportedUpload(Exception):
    """Neither multipart/form-data nor application/json: the route answers 415."""


# the route's requestBody in the OpenAPI document: FastAPI cannot derive a body read by hand
UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "the article: .txt, .md, .html/.htm (WeChat pages too), .docx or .pdf",
                    },
                    "title": {"type": "string", "minLength": 1, "maxLength": 120},
                    "force": {"type": "boolean", "description": "add a near-duplicate anyway"},
                },
            }
        },
        "application/json": {"schema": ArticleUpload.model_json_schema()},
    },
}


def _invalid(err: ValidationError) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in err.errors()])


async def _from_json(request: Request) -> Upload:
    body = await request.body()
    try:
        obj = json.loads(body)
    except json.JSONDecodeError as exc:  # the error FastAPI raises for a JSON body, rendered as a 400
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([{**error, "ctx": {"error": exc.msg}}]) from exc
    except UnicodeDecodeError as exc:
        raise HTTPException(400, "There was an error parsing the body") from exc
    try:
        upload = ArticleUpload.model_validate(obj)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    try:
        data = upload.text.encode("utf-8")
    except UnicodeEncodeError as exc:  # JSON can carry a lone surrogate, which no UTF-8 file holds
        raise InputError(f"text: not valid Unicode text ({exc.reason})") from exc
    return Upload(data, upload.filename, upload.title, upload.force)


async def _from_form(request: Request) -> Upload:
    async with request.form(max_files=1, max_fields=4, max_part_size=_FORM_FIELD_BYTES) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InputError("file: send the article as a file field named 'file' (multipart/form-data)")
        data = await file.read()
        title = form.get("title")
        force = form.get("force")
        fields = {
            # a browser sends the base name; another client may send a path, of which only the name counts
            "filename": PureWindowsPath(file.filename or "").name or "upload",
            "title": title.strip() or None if isinstance(title, str) else None,
            "force": isinstance(force, str) and force.strip().lower() in _TRUE,
        }
    try:
        upload = FileUpload.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    return Upload(data, upload.filename, upload.title, upload.force)


async def read_upload(request: Request) -> Upload:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await _from_form(request)
    if kind == "application/json":
        return await _from_json(request)
    raise UnsupportedUpload
