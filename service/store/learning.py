"""Learning: feedback on responses, the curators' views of the query log and their actions on a logged
question, bound to the index being served (its principle ids and titles, its query encoder). Reached as
`KnowledgeBase.learning`; every edge (HTTP, CLI, tools) calls these and nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.catalog import Catalog
from service.embedder import Embedder
from service.errors import InputError, StoreError
from service.store import actions
from service.store.context import CallContext
from service.store.models import (
    ClusterList,
    DislikedList,
    FeedbackReceipt,
    FeedbackRequest,
    GapList,
    GapRecord,
    GapRequest,
    LogFilter,
    LoggedEvent,
    PhrasingAdded,
    PhrasingRequest,
    PrincipleHitsList,
    ScopeLabelled,
    ScopeRequest,
)
from service.store.querylog import QueryLog

__all__ = ["LOW_CONFIDENCE", "Learning"]

# answered, but below this: a curator should look (the answer threshold is 0.5)
LOW_CONFIDENCE = 0.6


class Learning:
    def __init__(self, log: QueryLog | None, catalog: Catalog, embedder: Embedder, corpus_dir: Path) -> None:
        self._log = log
        self._catalog = catalog
        self._embedder = embedder
        self._corpus_dir = corpus_dir

    @property
    def log(self) -> QueryLog:
        if self._log is None:
            raise StoreError("the query log is off (KB_QUERY_LOG=off): nothing is recorded or rated")
        return self._log

    def _check_ids(self, ids: Sequence[str], field: str) -> None:
        unknown = [p for p in ids if p not in self._catalog.by_id]
        if unknown:
            raise InputError(f"{field}: unknown principle id {', '.join(map(repr, unknown))}")

    def _title(self, principle_id: str) -> str:
        p = self._catalog.by_id.get(principle_id)
        return p.title if p else principle_id  # a principle the rebuilt index no longer has

    def _encode(self, texts: Sequence[str]) -> Any:
        return self._embedder.encode(list(texts))

    # -- feedback -------------------------------------------------------------------------------------

    def feedback(self, req: FeedbackRequest, ctx: CallContext | None = None) -> FeedbackReceipt:
        """Rate a response by its request id: 404 for one never given, 422 for an unknown principle."""
        self._check_ids(req.principle_ids, "principle_ids")
        return self.log.rate(req, ctx.key_name if ctx else None)

    # -- views ----------------------------------------------------------------------------------------

    def misses(self, flt: LogFilter, below: float = LOW_CONFIDENCE) -> ClusterList:
        """Questions not answered or answered with confidence under `below`, grouped by similarity."""
        return self.log.misses(flt, below, self._encode)

    def disliked(self, flt: LogFilter) -> DislikedList:
        return self.log.disliked(flt, self._title)

    def principle_hits(self, flt: LogFilter) -> PrincipleHitsList:
        return self.log.principle_hits(flt, self._title)

    def events(self, flt: LogFilter, limit: int = 10_000) -> list[LoggedEvent]:
        return self.log.events(flt, limit)

    def event(self, request_id: str) -> LoggedEvent:
        return self.log.event(request_id)

    def gaps(self) -> GapList:
        return self.log.gaps()

    # -- actions --------------------------------------------------------------------------------------

    def add_phrasing(self, req: PhrasingRequest, ctx: CallContext | None = None) -> PhrasingAdded:
        """The logged question becomes a phrasing of a principle (corpus/phrasings/log.yaml)."""
        self._check_ids([req.principle_id], "principle_id")
        ev = self.log.event(req.request_id)
        return actions.add_phrasing(
            self._corpus_dir, req.principle_id, ev.text, ev.request_id, ctx.key_name if ctx else None
        )

    def label_scope(self, req: ScopeRequest, ctx: CallContext | None = None) -> ScopeLabelled:
        """The logged question becomes a labelled request of the confidence model (corpus/calibration)."""
        ev = self.log.event(req.request_id)
        return actions.label_scope(
            self._corpus_dir,
            ev.operation,
            ev.text,
            req.in_scope,
            ev.request_id,
            ctx.key_name if ctx else None,
        )

    def add_gap(self, req: GapRequest, ctx: CallContext | None = None) -> GapRecord:
        """The logged question is a topic no article covers: listed for whoever writes the next article."""
        ev = self.log.event(req.request_id)
        return self.log.add_gap(ev.text, req.note, ev.request_id, ctx.key_name if ctx else None)
