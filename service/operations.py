"""One shape per operation: the request models are the interface, and both the in-process core
(`KnowledgeBase`) and the HTTP client (`KBClient`) satisfy `Operations`; the CLI and the tools are
written against it, so they run the same way in-process and against a server."""

from __future__ import annotations

from typing import Protocol

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

__all__ = ["Operations"]


class Operations(Protocol):
    # `ctx` says which edge called and who (the core records the call); a client over HTTP ignores it:
    # the server records the call with its own
    def search(self, req: SearchRequest, *, ctx: CallContext | None = None) -> SearchResponse: ...

    def search_batch(self, req: SearchBatchRequest) -> SearchBatchResponse: ...

    def ask(self, req: AskRequest, *, ctx: CallContext | None = None) -> AskResponse: ...

    def diagnose(self, req: DiagnoseRequest, *, ctx: CallContext | None = None) -> DiagnoseResponse: ...

    def feedback(self, req: FeedbackRequest, ctx: CallContext | None = None) -> FeedbackReceipt: ...

    def get(self, principle_id: str) -> Principle: ...

    def list_principles(self, req: PrincipleQuery) -> PrincipleList: ...

    def documents(self) -> DocumentList: ...

    def document(self, doc: str, req: DocumentQuery | None = None) -> Document: ...

    def types(self) -> TypeList: ...

    def health(self) -> Health: ...
