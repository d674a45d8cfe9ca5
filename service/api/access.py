"""Who may call a route, what body it takes and whether it is expensive: declared on the route, checked
before its body is read.

Every route of our routers is a `GuardedRoute` (FastAPI's documented custom-route-class seam) carrying
an `Access`: OPEN (health), KEY (the default: needs a bearer key when KB_API_KEYS is set), ADMIN
(always needs a key; closed without keys). Whether a POST must be JSON is read from the route itself:
any route with a body field. So a new route on any router is checked without anyone listing its path;
`router()` makes KEY routers, and the app's own router is KEY too. The routes that are not FastAPI
routes (the MCP transport, the docs) are wrapped with `guard_asgi` by the app factory. A router made
with `costly=True` puts its POST routes behind admission control (service/api/admission.py): the
`AdmissionGate` middleware admits them by path, before routing and before their body is read, so a
refusal costs a header check and a small write, never a thread. One made with a `dialect` renders its
errors in another platform's shape (service/api/dialects.py), the gate's refusals included.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, ClassVar

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from service.api.admission import Admission
from service.api.dialects import NATIVE, Dialect, ErrorRenderer
from service.api.metrics import Metrics
from service.api.middleware import ASGIApp, Receive, Scope, Send, header, send_error

__all__ = [
    "Access",
    "AdmissionGate",
    "GuardedRoute",
    "costly_paths",
    "guard_asgi",
    "key_name",
    "named_keys",
    "route_class",
    "router",
]

OVERLOADED = "overloaded"

_Problem = tuple[str, str, dict[str, str]] | None


class Access(enum.Enum):
    OPEN = "open"
    KEY = "key"
    ADMIN = "admin"


# a key and its name: KB_API_KEYS=ops:secret1,bot:secret2; the name is what the query log records
NamedKey = tuple[str, bytes]


def named_keys(entries: Sequence[str]) -> list[NamedKey]:
    """`name:key` entries, or a bare key, named by a short hash of it (the key itself is never shown)."""
    out = []
    for entry in entries:
        name, sep, key = entry.partition(":")
        if not sep or not name or not key:
            name, key = f"key-{hashlib.sha256(entry.encode()).hexdigest()[:8]}", entry
        out.append((name, key.encode()))
    return out


def _key_name(scope: Scope, keys: Sequence[NamedKey]) -> str | None:
    """The name of the key the request carries, or None when it carries none of them."""
    auth = header(scope, b"authorization")
    if not auth.lower().startswith("bearer "):
        return None
    given = auth[7:].strip().encode()
    # compare against every key so timing does not reveal which one (or whether any) matched
    matched = [name for name, k in keys if hmac.compare_digest(given, k)]
    return matched[0] if matched else None


def key_name(scope: Scope) -> str | None:
    """The caller's key name, once `check` has let the request through (None on an open API)."""
    name: str | None = scope.get("state", {}).get("key_name")
    return name


def check(scope: Scope, access: Access, keys: Sequence[NamedKey], takes_json: bool) -> _Problem:
    """The error (code, message, headers) a request gets before its route runs, or None. A request let
    through with a key has the key's name in its state (`key_name`)."""
    if access is Access.ADMIN and not keys:
        return "forbidden", "admin endpoints are disabled: set KB_API_KEYS", {}
    if access is not Access.OPEN and (keys or access is Access.ADMIN):
        name = _key_name(scope, keys)
        if name is None:
            message = "missing or wrong API key: send 'Authorization: Bearer <key>'"
            return "unauthorized", message, {"www-authenticate": "Bearer"}
        scope.setdefault("state", {})["key_name"] = name
    if takes_json and header(scope, b"content-type").split(";")[0].strip().lower() != "application/json":
        return "unsupported_media_type", "send the body as application/json", {}
    return None


def _keys(app: Any) -> list[NamedKey]:
    return named_keys(getattr(app.state, "api_keys", []))


class GuardedRoute(APIRoute):
    access: ClassVar[Access] = Access.KEY
    costly: ClassVar[bool] = False  # POST routes of this class go through admission control (AdmissionGate)
    dialect: ClassVar[Dialect] = NATIVE  # the shape its errors leave in

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_json = self.takes_json

        async def guarded(request: Request) -> Response:
            problem = check(request.scope, self.access, _keys(request.app), takes_json)
            if problem is not None:
                code, message, headers = problem
                return self.dialect.render(request.scope, code, message, headers=headers)
            return await handler(request)

        return guarded

    @property
    def takes_json(self) -> bool:
        # a body comes with POST and PATCH (editing a draft); either must be JSON
        return self.body_field is not None and bool({"POST", "PATCH"} & (self.methods or set()))


def route_class(access: Access, costly: bool = False, dialect: Dialect = NATIVE) -> type[APIRoute]:
    """A GuardedRoute with this access (and admission control when costly, errors in `dialect`), for a
    `route_class`."""
    if access is Access.KEY and not costly and dialect is NATIVE:
        return GuardedRoute
    name = f"{access.name.title()}{'Costly' if costly else ''}{dialect.name.title()}Route"
    return type(name, (GuardedRoute,), {"access": access, "costly": costly, "dialect": dialect})


def router(
    access: Access = Access.KEY, costly: bool = False, dialect: Dialect = NATIVE, **kwargs: Any
) -> APIRouter:
    """An APIRouter whose routes are guarded: KEY unless said otherwise; `costly`: its POST routes are
    admitted by service/api/admission.py; `dialect`: its errors' shape (service/api/dialects.py)."""
    return APIRouter(route_class=route_class(access, costly, dialect), **kwargs)


def guard_asgi(inner: ASGIApp, keys: list[str], access: Access = Access.KEY) -> ASGIApp:
    """The same checks around a plain ASGI app (the MCP transport, the docs); bodies are theirs to check."""
    encoded = named_keys(keys)

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        problem = check(scope, access, encoded, takes_json=False) if scope["type"] == "http" else None
        if problem is not None:
            code, message, headers = problem
            return await send_error(
                send, code, message, tuple((k.encode(), v.encode()) for k, v in headers.items())
            )
        return await inner(scope, receive, send)

    return guarded


# (access, takes a JSON body) of each path whose POST is admitted
CostlyPaths = dict[str, tuple[Access, bool]]


def costly_paths(routes: Sequence[Any], extra: CostlyPaths) -> CostlyPaths:
    """The paths whose POST goes through admission: every costly GuardedRoute's, and `extra` (routes
    that are not FastAPI routes: the MCP transport). Matched by the exact path, so none may take path
    parameters."""
    out = dict(extra)
    for route in routes:
        if isinstance(route, GuardedRoute) and route.costly and "POST" in (route.methods or ()):
            if route.param_convertors:
                raise ValueError(f"a costly route cannot take path parameters: {route.path}")
            out[route.path] = (route.access, route.takes_json)
    return out


class AdmissionGate:
    """Admission control for the costly POST routes, as ASGI middleware: outside the body limit (so a
    refused request's body is never read) and outside routing (so refusing costs no route matching, no
    dependency and no thread-pool hop: a client that ignores Retry-After and retries at once costs the
    event loop little). A request the route would refuse anyway (no key, not JSON) is passed through to
    be told what is wrong, not that the server is busy."""

    def __init__(
        self,
        app: ASGIApp,
        admission: Admission,
        paths: CostlyPaths,
        keys: list[str],
        metrics: Metrics,
        render: ErrorRenderer | None = None,
    ) -> None:
        self.app = app
        # the refusal in the shape of the path's routes (Dify's, OpenAI's); ours when None
        self.render = render
        self.admission = admission
        self.metrics = metrics
        self.paths = paths
        self.keys = named_keys(keys)
        self.retry = ((b"retry-after", str(admission.retry_after).encode()),)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            return await self.app(scope, receive, send)
        access, takes_json = self.paths[scope["path"]]
        if check(scope, access, self.keys, takes_json) is not None:
            return await self.app(scope, receive, send)
        admission = self.admission
        ticket = admission.enter()
        self.metrics.set_admission(admission.limit.value(), admission.waiting)
        if ticket is None:
            if self.render is not None:
                refusal = self.render(scope, OVERLOADED, admission.message())
                refusal.headers["retry-after"] = str(admission.retry_after)
                return await refusal(scope, receive, send)
            return await send_error(send, OVERLOADED, admission.message(), self.retry)
        try:
            async with admission.hold(ticket):
                await self.app(scope, receive, send)
        finally:
            self.metrics.set_admission(admission.limit.value(), admission.waiting)
