"""ASGI middleware for the HTTP edge: request ids and access logs, metrics, body limits. (Keys and
content types are checked by route metadata: service/api/access.py.)

Pure ASGI (no BaseHTTPMiddleware) so streaming MCP responses pass through untouched.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from service.errors import edge, error_body
from service.metrics import Metrics

__all__ = ["ASGIApp", "AccessLog", "BodyLimit", "Message", "Receive", "Scope", "Send", "header"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("kb.access")


async def send_error(
    send: Send, code: str, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """An error response in the one shape, straight from ASGI middleware (no app to raise into)."""
    body = error_body(code, message)
    await send(
        {
            "type": "http.response.start",
            "status": edge(code).status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> str:
    for k, v in scope.get("headers", []):
        if k == name:
            return str(v.decode("latin-1"))
    return ""


class AccessLog:
    """Gives each request an id (echoed as X-Request-ID), logs one JSON line and records metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = header(scope, b"x-request-id")[:64] or uuid.uuid4().hex
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", None) or ("unmatched" if status == 404 else scope["path"])
            self.metrics.observe(scope["method"], path, status, seconds)
            access_log.info(
                json.dumps(
                    {
                        "request_id": rid,
                        "method": scope["method"],
                        "route": path,
                        "status": status,
                        "ms": round(seconds * 1000, 2),
                    }
                )
            )


class BodyLimit:
    """413 for bodies over the limit, declared or streamed, on every route."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH"}:
            return await self.app(scope, receive, send)
        declared = header(scope, b"content-length")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await send_error(send, "too_large", f"request body over {self.max_bytes} bytes")
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await send_error(send, "too_large", f"request body over {self.max_bytes} bytes")


class _TooLarge(Exception):
    pass
