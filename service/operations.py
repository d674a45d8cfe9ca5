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

__all__ = ["Operations"]


class Operations(Protocol):
    def search(self, req: SearchRequest) -> SearchResponse: ...

    def search_batch(self, req: SearchBatchRequest) -> SearchBatchResponse: ...

    def ask(self, req: AskRequest) -> AskResponse: ...

    def diagnose(self, req: DiagnoseRequest) -> DiagnoseResponse: ...

    def get(self, principle_id: str) -> Principle: ...

    def list_principles(self, req: PrincipleQuery) -> PrincipleList: ...

    def documents(self) -> DocumentList: ...

    def document(self, doc: str, req: DocumentQuery | None = None) -> Document: ...

    def types(self) -> TypeList: ...

    def health(self) -> Health: ...
