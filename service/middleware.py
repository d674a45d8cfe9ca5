"""ASGI middleware for the HTTP edge: request ids and access logs, metrics, API keys, body limits.

Pure ASGI (no BaseHTTPMiddleware) so streaming MCP responses pass through untouched.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from service.metrics import Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("kb.access")
OPEN_PATHS = frozenset({"/health"})


async def send_error(
    send: Send, status: int, code: str, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str:
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
        rid = _header(scope, b"x-request-id")[:64] or uuid.uuid4().hex
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


class ApiKeys:
    """Bearer keys: required everywhere but /health when KB_API_KEYS is set; always on /admin."""

    def __init__(self, app: ASGIApp, keys: list[str]) -> None:
        self.app = app
        self.keys = [k.encode() for k in keys]

    def _ok(self, scope: Scope) -> bool:
        auth = _header(scope, b"authorization")
        if not auth.lower().startswith("bearer "):
            return False
        given = auth[7:].strip().encode()
        # compare against every key so timing does not reveal which one (or whether any) matched
        return any([hmac.compare_digest(given, k) for k in self.keys])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        # other methods on /admin fall through to the router's 405
        admin = scope["path"].startswith("/admin") and scope["method"] == "POST"
        if admin and not self.keys:
            return await send_error(send, 403, "forbidden", "admin endpoints are disabled: set KB_API_KEYS")
        if (self.keys or admin) and not self._ok(scope):
            return await send_error(
                send, 401, "unauthorized", "missing or wrong API key: send 'Authorization: Bearer <key>'",
                ((b"www-authenticate", b"Bearer"),),
            )  # fmt: skip
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for bodies over the limit (declared or streamed), 415 for POSTs that are not JSON."""

    def __init__(self, app: ASGIApp, max_bytes: int, json_paths: frozenset[str]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.json_paths = json_paths  # POST routes that take a JSON body; other methods reach the 405

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH"}:
            return await self.app(scope, receive, send)
        if scope["path"] == "/mcp":  # the MCP transport checks its own bodies and content types
            return await self.app(scope, receive, send)
        ctype = _header(scope, b"content-type").split(";")[0].strip().lower()
        if scope["method"] == "POST" and scope["path"] in self.json_paths and ctype != "application/json":
            return await send_error(send, 415, "unsupported_media_type", "send the body as application/json")
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await send_error(send, 413, "too_large", f"request body over {self.max_bytes} bytes")
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
            await send_error(send, 413, "too_large", f"request body over {self.max_bytes} bytes")


class _TooLarge(Exception):
    pass
