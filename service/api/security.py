"""What every response carries and every request must name, whatever route answers it: the Host header
checked against KB_ALLOWED_HOSTS (a page on another site that rebinds its DNS name to this server names
its own host, so it reads nothing), and the browser's protections on every page and asset: a
Content-Security-Policy allowing only the app's own scripts and styles, no framing (clickjacking the
review page's accept button), no MIME sniffing, no referrer.

One mechanism for every route, /mcp included (its SDK's own Host check is switched off in create_app).
Pure ASGI, so streamed responses pass through untouched.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI

from service.api.middleware import ASGIApp, Message, Receive, Scope, Send, header, send_error
from service.settings import Settings

__all__ = ["APP_CSP", "SecurityHeaders", "TrustedHosts", "inline_script_csp", "install_security"]

# the web UI: its own module scripts and stylesheet, the JSON API, nothing inline, never framed
APP_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


def inline_script_csp(html: str) -> str:
    """The docs pages' policy (Swagger UI, ReDoc): their libraries from our own assets, the one inline
    script that starts them allowed by its hash; their widgets set inline styles, draw data: images and
    ReDoc runs a worker from a blob."""
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; font-src 'self' data:; "
        "base-uri 'none'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """The headers above on every response; a route that sets its own CSP (the docs pages) keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in _HEADERS if k not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", APP_CSP.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class TrustedHosts:
    """400 for a request whose Host is not one of `names` (`*`: any); the port is not compared."""

    def __init__(self, app: ASGIApp, names: list[str]) -> None:
        self.app = app
        self.any = "*" in names
        self.names = {n.strip().lower() for n in names}

    def allowed(self, host: str) -> bool:
        host = host.strip().lower()
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
        if name.startswith("[") and "]" in name:
            name = name[: name.index("]") + 1]
        return self.any or name in self.names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        host = header(scope, b"host")
        if self.allowed(host):
            return await self.app(scope, receive, send)
        shown = host[:100].encode("ascii", "replace").decode()
        await send_error(
            send,
            "bad_host",
            f"Host {shown!r} is not served here: the operator lists names in KB_ALLOWED_HOSTS",
        )


def install_security(app: FastAPI, settings: Settings) -> None:
    # added innermost first: a refused Host gets the headers too
    app.add_middleware(TrustedHosts, names=settings.host_names())
    app.add_middleware(SecurityHeaders)
