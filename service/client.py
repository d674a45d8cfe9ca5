"""Typed HTTP client for a running knowledge-base server; the CLI's --url mode uses it too.

It satisfies `service.operations.Operations`, as the in-process `KnowledgeBase` does: the same request
models in, the same response models out.

with KBClient("http://127.0.0.1:8000") as kb:
    print(kb.ask(AskRequest(question="社群定位分哪几步?")).answer)
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from service.models import (
    AskRequest,
    AskResponse,
    DiagnoseRequest,
    DiagnoseResponse,
    Health,
    Principle,
    PrincipleList,
    PrincipleQuery,
    SearchRequest,
    SearchResponse,
    TypeList,
)

__all__ = ["KBClient", "KBClientError"]

M = TypeVar("M", bound=BaseModel)


class KBClientError(Exception):
    """The server answered with an error (`status`, `code`, `message`), or no knowledge-base server
    answered. Codes of the client's own: `bad_url` and `bad_key` (status 0: nothing was sent),
    `unreachable` (status 0), `bad_response` (whatever answered is not a knowledge-base server)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class KBClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        if api_key is not None and not (api_key.isascii() and api_key.isprintable() and api_key.strip()):
            # a header carries ASCII only; the server's keys are ASCII too
            raise KBClientError(0, "bad_key", "the API key must be printable ASCII characters")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        try:
            url = httpx.URL(base_url.rstrip("/"))
        except (httpx.InvalidURL, ValueError) as exc:
            raise KBClientError(0, "bad_url", f"{base_url!r} is not a valid URL ({exc})") from exc
        if url.scheme not in ("http", "https") or not url.host:
            raise KBClientError(0, "bad_url", f"{base_url!r} is not an http:// or https:// URL with a host")
        self._http = httpx.Client(base_url=url, headers=headers, timeout=timeout)

    def __enter__(self) -> KBClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(
        self,
        model: type[M],
        method: str,
        path: str,
        body: BaseModel | None = None,
        params: BaseModel | None = None,
    ) -> M:
        try:
            resp = self._http.request(
                method,
                path,
                json=body.model_dump(exclude_none=True) if body is not None else None,
                params=params.model_dump(exclude_none=True) if params is not None else None,
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise KBClientError(
                0, "unreachable", f"no server answered at {self._http.base_url}: {exc or type(exc).__name__}"
            ) from exc
        if resp.status_code >= 400:
            try:
                err: Any = resp.json()["error"]
                raise KBClientError(resp.status_code, str(err["code"]), str(err["message"]))
            except (ValueError, KeyError, TypeError):
                raise self._foreign(resp, "without a knowledge-base error body") from None
        try:
            return model.model_validate_json(resp.content)
        except ValidationError:
            raise self._foreign(resp, f"with a body that is not a {model.__name__}") from None

    def _foreign(self, resp: httpx.Response, what: str) -> KBClientError:
        kind = resp.headers.get("content-type", "no content type").split(";")[0]
        return KBClientError(
            resp.status_code,
            "bad_response",
            f"{resp.request.url} answered {resp.status_code} ({kind}) {what}: "
            "is --url a knowledge-base server?",
        )

    def search(self, req: SearchRequest) -> SearchResponse:
        return self._call(SearchResponse, "POST", "/search", req)

    def ask(self, req: AskRequest) -> AskResponse:
        return self._call(AskResponse, "POST", "/ask", req)

    def diagnose(self, req: DiagnoseRequest) -> DiagnoseResponse:
        return self._call(DiagnoseResponse, "POST", "/diagnose", req)

    def get(self, principle_id: str) -> Principle:
        return self._call(Principle, "GET", f"/principles/{quote(principle_id, safe='')}")

    def list_principles(self, req: PrincipleQuery) -> PrincipleList:
        return self._call(PrincipleList, "GET", "/principles", params=req)

    def types(self) -> TypeList:
        return self._call(TypeList, "GET", "/types")

    def health(self) -> Health:
        return self._call(Health, "GET", "/health")
