"""Typed HTTP client for a running knowledge-base server; the CLI's --url mode uses it too.

It satisfies `service.operations.Operations`, as the in-process `KnowledgeBase` does: the same request
models in, the same response models out. A method also takes the request's fields directly
(`kb.ask("社群定位分哪几步?", k=3)`). Every failure raises `KBClientError`: an invalid request (before
anything is sent, status 422), an error answer, an unreachable server (status 0), an answer that is not
the expected model.

It needs only httpx and pydantic: `pip install community-ops-kb` installs the client without the
server's dependencies (those are the `[serve]` and `[server]` extras).

with KBClient("http://127.0.0.1:8000") as kb:
    print(kb.ask("社群定位分哪几步?").answer)
    for p in kb.iter_principles(type="pitfall"):
        print(p.id, p.title)
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from service.errors import describe_validation
from service.models import (
    AskRequest,
    AskResponse,
    DiagnoseRequest,
    DiagnoseResponse,
    Document,
    DocumentList,
    DocumentQuery,
    Health,
    Principle,
    PrincipleList,
    PrincipleQuery,
    SearchBatchRequest,
    SearchBatchResponse,
    SearchRequest,
    SearchResponse,
    TypeList,
)
from service.store.context import CallContext
from service.store.models import FeedbackReceipt, FeedbackRequest

__all__ = ["KBClient", "KBClientError"]

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)


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

    # `ctx` is the in-process core's (which edge called): the server records the call under its own
    def search(
        self, req: SearchRequest | str, *, ctx: CallContext | None = None, **fields: Any
    ) -> SearchResponse:
        return self._call(SearchResponse, "POST", "/search", _request(SearchRequest, req, "query", fields))

    def search_batch(self, req: SearchBatchRequest | list[str], **fields: Any) -> SearchBatchResponse:
        body = _request(SearchBatchRequest, req, "queries", fields)
        return self._call(SearchBatchResponse, "POST", "/search/batch", body)

    def ask(self, req: AskRequest | str, *, ctx: CallContext | None = None, **fields: Any) -> AskResponse:
        return self._call(AskResponse, "POST", "/ask", _request(AskRequest, req, "question", fields))

    def diagnose(
        self, req: DiagnoseRequest | str, *, ctx: CallContext | None = None, **fields: Any
    ) -> DiagnoseResponse:
        body = _request(DiagnoseRequest, req, "situation", fields)
        return self._call(DiagnoseResponse, "POST", "/diagnose", body)

    def feedback(
        self, req: FeedbackRequest | str, ctx: CallContext | None = None, **fields: Any
    ) -> FeedbackReceipt:
        """Rate a response by its request id: `kb.feedback(resp.request_id, rating="down",
        reason="wrong", principle_ids=["p000-blind-start"])`."""
        body = _request(FeedbackRequest, req, "request_id", fields)
        return self._call(FeedbackReceipt, "POST", "/feedback", body)

    def get(self, principle_id: str) -> Principle:
        return self._call(Principle, "GET", f"/principles/{_segment(principle_id)}")

    def list_principles(self, req: PrincipleQuery | None = None, **fields: Any) -> PrincipleList:
        """One page (`limit`, `offset`) of the principles matching `type`, `doc`, `group`."""
        params = _request(PrincipleQuery, req, None, fields)
        return self._call(PrincipleList, "GET", "/principles", params=params)

    def iter_principles(self, **fields: Any) -> Iterator[Principle]:
        """Every principle matching the filters, page after page."""
        offset: int | None = fields.pop("offset", 0)
        while offset is not None:
            page = self.list_principles(offset=offset, **fields)
            yield from page.principles
            offset = page.next_offset

    def documents(self) -> DocumentList:
        return self._call(DocumentList, "GET", "/documents")

    def document(self, doc: str, req: DocumentQuery | None = None, **fields: Any) -> Document:
        """A raw article by short id (000) or file name: whole, or `start`/`end` of it."""
        params = _request(DocumentQuery, req, None, fields)
        return self._call(Document, "GET", f"/documents/{_segment(doc)}", params=params)

    def types(self) -> TypeList:
        return self._call(TypeList, "GET", "/types")

    def health(self) -> Health:
        return self._call(Health, "GET", "/health")


def _segment(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise KBClientError(422, "invalid_input", f"expected a non-empty id, got {value!r}")
    return quote(value, safe="")


def _request(model: type[R], req: R | str | list[str] | None, field: str | None, fields: dict[str, Any]) -> R:
    """The request model from a model, or from its main field's value and other fields; an invalid
    request is a KBClientError like every other failure, and nothing is sent."""
    try:
        if isinstance(req, model):
            return model.model_validate({**req.model_dump(exclude_unset=True), **fields}) if fields else req
        data = dict(fields)
        if req is not None:
            if field is None:
                raise KBClientError(422, "invalid_input", f"expected a {model.__name__}, got {req!r}")
            data[field] = req
        return model.model_validate(data)
    except ValidationError as exc:
        raise KBClientError(422, "invalid_input", describe_validation(exc.errors())) from exc
