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
from pydantic import BaseModel

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
    """The server answered with an error (`status`, `code`, `message`), or could not be reached (status 0)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class KBClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

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
        except httpx.HTTPError as exc:
            raise KBClientError(0, "unreachable", f"{self._http.base_url}{path}: {exc}") from exc
        if resp.status_code >= 400:
            code, message = "http_error", resp.text[:200]
            try:
                err: Any = resp.json()["error"]
                code, message = str(err["code"]), str(err["message"])
            except (ValueError, KeyError, TypeError):
                pass
            raise KBClientError(resp.status_code, code, message)
        return model.model_validate_json(resp.content)

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
