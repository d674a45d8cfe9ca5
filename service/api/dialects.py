"""Error dialects: the shape an error leaves in, chosen by the route (route metadata, like access).

Every route speaks ours, `{"error": {"code", "message"}}`, except the routes that implement another
platform's contract: Dify's External Knowledge API wants `{"error_code", "error_msg"}` (1001 a malformed
Authorization header, 1002 a wrong key, 2001 an unknown knowledge_id, and 403 for both key errors, which
is what Dify's registration check reads as "authorization failed"); OpenAI's clients want
`{"error": {"message", "type", "code", "param"}}` and 400 for invalid input, so that they raise their
usual exceptions. The error codes and messages are ours in every dialect: only the shape and the status
differ. The guard (service/api/access.py) and the exception handlers (service/api/errors.py) render
through the route's dialect; one table per dialect, here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel

from service.api.middleware import Scope, header
from service.errors import edge, error_body
from service.models import ErrorBody
from service.platforms.models import DifyError, OpenAIError

__all__ = ["DIFY", "NATIVE", "OPENAI", "Dialect", "dialect_of", "render_by_path"]


def _json(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Dialect:
    name: str
    model: type[BaseModel]  # the error body, for the OpenAPI document
    statuses: Mapping[int, int] = field(default_factory=dict)  # our status -> theirs

    def status(self, code: str, status: int | None = None) -> int:
        ours = status or edge(code).status
        return self.statuses.get(ours, ours)

    def body(self, scope: Scope, code: str, message: str, status: int) -> bytes:
        return error_body(code, message)

    def render(
        self,
        scope: Scope,
        code: str,
        message: str,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        final = self.status(code, status)
        return Response(
            self.body(scope, code, message, final),
            status_code=final,
            media_type="application/json",
            headers=headers,
        )


class _Dify(Dialect):
    def body(self, scope: Scope, code: str, message: str, status: int) -> bytes:
        return _json({"error_code": self.error_code(scope, code, status), "error_msg": message})

    @staticmethod
    def error_code(scope: Scope, code: str, status: int) -> int:
        if code == "unauthorized":
            auth = header(scope, b"authorization")
            well_formed = auth[:7].lower() == "bearer " and auth[7:].strip()
            return 1002 if well_formed else 1001
        if code == "unknown_knowledge":
            return 2001
        return status


# OpenAI's error types, by our status
_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 404: "invalid_request_error"}


class _OpenAI(Dialect):
    def body(self, scope: Scope, code: str, message: str, status: int) -> bytes:
        kind = _OPENAI_TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")
        detail: dict[str, Any] = {"message": message, "type": kind, "code": code, "param": None}
        return _json({"error": detail})


NATIVE = Dialect("native", ErrorBody)
DIFY = _Dify("dify", DifyError, {401: 403})
# OpenAI answers invalid input with 400, where we answer 422
OPENAI = _OpenAI("openai", OpenAIError, {422: 400})


def dialect_of(scope: Scope) -> Dialect:
    """The dialect of the route that matched (ours when none did: an unknown path)."""
    dialect = getattr(scope.get("route"), "dialect", NATIVE)
    return dialect if isinstance(dialect, Dialect) else NATIVE


ErrorRenderer = Callable[[Scope, str, str], Response]


def render_by_path(prefixes: Mapping[str, Dialect]) -> ErrorRenderer:
    """For errors raised before any route matches (a body over the limit): the dialect of the routes
    under the path's prefix (`/dify`, `/v1`), ours elsewhere."""

    def render(scope: Scope, code: str, message: str) -> Response:
        path = str(scope.get("path", ""))
        dialect = next((d for p, d in prefixes.items() if path == p or path.startswith(p + "/")), NATIVE)
        return dialect.render(scope, code, message)

    return render
