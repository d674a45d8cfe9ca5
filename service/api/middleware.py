"""ASGI middleware for the HTTP edge: request ids and access logs, metrics, body limits, HEAD. (Keys,
content types and admission are checked by route metadata: service/api/access.py.)

Pure ASGI (no BaseHTTPMiddleware) so streaming MCP responses pass through untouched.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import anyio

from service.api.metrics import Metrics
from service.errors import edge, error_body

__all__ = [
    "ASGIApp",
    "AccessLog",
    "BodyLimit",
    "HeadAsGet",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "StreamLimit",
    "header",
    "send_error",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("kb.access")

# a client's request id is echoed only if it is printable ASCII without spaces (it goes into a header and
# the log); anything else is replaced by our own
_REQUEST_ID = re.compile(r"[!-~]{1,64}")
# every other method is one label: the method is the client's to choose, so it must not grow the metrics
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


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
        self.worker = os.getpid()  # which of `kb serve --workers` answered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = header(scope, b"x-request-id")
        rid = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        # for the routes that return it in their body (a chat completion's id), via request.state
        # for the routes: the core records the call under this id (service/api/deps.py `CallDep`)
        scope.setdefault("state", {})["request_id"] = rid
        method = scope["method"] if scope["method"] in _METHODS else "other"
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
            # the route's template, or one label for every path no route matched (whatever its status):
            # a label from the raw path would let anyone grow the metrics without bound
            path = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.metrics.observe(method, path, status, seconds)
            access_log.info(
                json.dumps(
                    {
                        "request_id": rid,
                        "method": method,
                        "route": path,
                        "status": status,
                        "ms": round(seconds * 1000, 2),
                        "worker": self.worker,
                    }
                )
            )


class BodyLimit:
    """413 for bodies over the limit, declared or streamed (chunked), on every route, /mcp included.

    The body is read here, up to the limit, before the app sees any of it: a route or the MCP transport
    can then never turn "too large" into a parse error of its own. Bodies are small (64 KiB), so
    holding one costs nothing. `larger` gives a few paths (the article upload, whose limit follows the
    article limit) a limit of their own, for requests that carry a key: anonymous ones cannot make the
    server hold megabytes before the route refuses them."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        render: Callable[[Scope, str, str], ASGIApp] | None = None,
        larger: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # the error response for a path (another platform's routes answer in its shape); ours by default
        self.render = render
        self.larger = dict(larger or {})

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, message: str) -> None:
        if self.render is None:
            return await send_error(send, "too_large", message)
        await self.render(scope, "too_large", message)(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH"}:
            return await self.app(scope, receive, send)
        limit = self.max_bytes
        if scope["path"] in self.larger and header(scope, b"authorization"):
            limit = max(limit, self.larger[scope["path"]])  # never smaller than everyone's
        too_large = f"request body over {limit} bytes"
        declared = header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            return await self._too_large(scope, receive, send, too_large)
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: nothing to answer
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                return await self._too_large(scope, receive, send, too_large)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: waits for the client to disconnect

        await self.app(scope, replay, send)


class HeadAsGet:
    """HEAD wherever GET is allowed: the GET response's status and headers, without its body (RFC 9110).

    A streamed GET (the MCP event stream) is cut after its headers: the app is told the client left."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)
        # a copy: the server itself must still see HEAD (it then sends no body whatever Content-Length says)
        inner = {**scope, "method": "GET"}
        done = False

        async def headers_only(message: Message) -> None:
            nonlocal done
            if done:
                return
            if message["type"] == "http.response.body":
                done = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        async def gone_when_done() -> Message:
            if done:
                return {"type": "http.disconnect"}
            return await receive()

        try:
            await self.app(inner, gone_when_done, headers_only)
        finally:
            if "route" in inner:  # for the access log's route label
                scope["route"] = inner["route"]


class StreamLimit:
    """Ends a GET response (the MCP event stream) after `seconds`: the stream is closed cleanly and the
    client reconnects, so no stream holds a connection and a task forever."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        started = ended = False

        async def tracking(message: Message) -> None:
            nonlocal started, ended
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                ended = True
            await send(message)

        with anyio.move_on_after(self.seconds):
            await self.app(scope, receive, tracking)
        if started and not ended:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif not started:
            await send_error(send, "timeout", f"no response within {self.seconds:g} s")
