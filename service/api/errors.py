"""The exception handlers: every error, whatever raised it, leaves in the one shape of service.errors, or
in the shape of the platform whose contract the route implements (its dialect: service/api/dialects.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from service.api.dialects import dialect_of
from service.errors import (
    InputError,
    KBError,
    code_for_status,
    describe_validation,
    edge,
    error_body,
)
from service.models import ErrorBody

__all__ = ["ERROR_RESPONSES", "install_error_handlers"]

# what the OpenAPI document lists for every route
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": desc}
    for code, desc in [
        (400, "body is not valid JSON in UTF-8"),
        (401, "missing or wrong API key (when KB_API_KEYS is set)"),
        (403, "admin endpoints without KB_API_KEYS"),
        (404, "unknown id or path"),
        (
            409,
            "a duplicate article, too many drafts, a build or job holding the corpus (see Retry-After)",
        ),
        (413, "request body over KB_MAX_BODY_BYTES (an upload: over KB_MAX_ARTICLE_BYTES)"),
        (415, "body is not application/json"),
        (422, "invalid input; the message names the field"),
        (500, "server error"),
        (503, "the index cannot be (re)loaded, or the server is at capacity (overloaded: see Retry-After)"),
        (504, "a GET /mcp event stream that sent nothing within KB_STREAM_SECONDS"),
    ]
}


def render(
    code: str, message: str, status: int | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        error_body(code, message),
        status_code=status or edge(code).status,
        media_type="application/json",
        headers=headers,
    )


def describe_bad_json(error: Mapping[str, Any]) -> str:
    """A JSON syntax error as a person reads it: what is wrong and where, then what to send."""
    loc = error.get("loc") or ()
    where = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
    what = str((error.get("ctx") or {}).get("error") or "syntax error")
    example = '{"query": "社群定位"}'
    return f"the body is not valid JSON ({what}{where}); send one JSON object, e.g. {example}"


def describe_unreadable_body(cause: BaseException | None) -> str:
    if isinstance(cause, UnicodeDecodeError):
        byte = cause.object[cause.start : cause.start + 1].hex()
        return (
            f"the body is not valid UTF-8 (byte 0x{byte} at byte {cause.start}); "
            "send the JSON text encoded as UTF-8"
        )
    return "the body could not be read as JSON in UTF-8; send one JSON object encoded as UTF-8"


def install_error_handlers(app: FastAPI) -> None:
    def rendered(
        request: Request,
        code: str,
        message: str,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return dialect_of(request.scope).render(request.scope, code, message, status, headers)

    @app.exception_handler(KBError)
    async def _kb_error(request: Request, exc: KBError) -> Response:
        retry = getattr(exc, "retry_after", None)  # a busy corpus: when asking again may succeed
        headers = {"retry-after": str(retry)} if retry else None
        return rendered(request, exc.code, exc.message, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        broken = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if broken is not None:
            # FastAPI reports a JSON syntax error as a 422 whose field is the character offset
            return rendered(request, "bad_request", describe_bad_json(broken), 400)
        return rendered(request, InputError.code, describe_validation(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail)
        if exc.status_code == 400 and "parsing the body" in message:
            message = describe_unreadable_body(exc.__cause__)
        headers = exc.headers
        if exc.status_code == 405:
            # Starlette's Allow names the methods of the first route at the path; a path served by two
            # routes (GET and POST /admin/log/gaps) allows both
            others = {k: v for k, v in (headers or {}).items() if k.lower() != "allow"}
            headers = {**others, "Allow": _allowed(request)}
        return rendered(request, code_for_status(exc.status_code), message, exc.status_code, headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        return rendered(request, "internal_error", "internal error; the server log has the details")


def _allowed(request: Request) -> str:
    """Every method some route at the request's path answers."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, BaseRoute) and route.matches(request.scope)[0] is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))
