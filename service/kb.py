"""KnowledgeBase: the one core object behind the HTTP API, the CLI and the chat-assistant tools."""

from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from service import answer, diagnosis
from service.corpus import load_corpus
from service.embedder import BatchingEmbedder, Embedder, OnnxEmbedder, SentenceTransformerEmbedder, Vectors
from service.errors import NotFoundError, UnknownTypeError
from service.hits import to_hit
from service.index import LoadedIndex, Manifest, build_index, load_index
from service.models import (
    AskRequest,
    AskResponse,
    DiagnoseRequest,
    DiagnoseResponse,
    GroupInfo,
    Health,
    Principle,
    PrincipleList,
    SearchRequest,
    SearchResponse,
    TypeList,
)
from service.normalize import normalize_text
from service.onnx_export import export_or_explain
from service.search import Ranked, Searcher, Variant
from service.settings import Settings

# ask's candidate pool: deep enough that a whole list group is usually inside it
ASK_POOL = 30
# a list question gets the whole list only if the list's title is this close to the question
LIST_TITLE_MIN_COSINE = 0.80
# a list this short is read as a whole: when ask's best hit introduces it, its members follow
SHORT_LIST = 6


log = logging.getLogger("kb")


def make_embedder(settings: Settings, index: LoadedIndex | None = None) -> Embedder:
    """The query encoder: the index's int8 ONNX export unless KB_ENCODER=torch or the index has none."""
    if settings.encoder == "onnx":
        if index is not None and index.encoder_dir is not None:
            return OnnxEmbedder(index.encoder_dir, settings.encoder_threads)
        log.warning("the index has no ONNX encoder (see `kb build`'s output): encoding queries with torch")
    return SentenceTransformerEmbedder(settings.model)


def build(settings: Settings, embedder: Embedder | None = None) -> Manifest:
    """Documents are always encoded by the model itself on torch (fp32): the index is then right for
    either query encoder, and the ONNX export is checked against those vectors before it is kept."""
    corpus = load_corpus(settings.corpus_dir)
    embedder = embedder or SentenceTransformerEmbedder(settings.model)
    export = None
    if isinstance(embedder, SentenceTransformerEmbedder):  # a fake embedder of a test has nothing to export
        export = functools.partial(export_or_explain, embedder)
    return build_index(corpus, embedder, settings.index_dir, export)


class KnowledgeBase:
    def __init__(self, settings: Settings, index: LoadedIndex, embedder: Embedder) -> None:
        self.settings = settings
        # every query encode in the process goes through one batching worker
        self.embedder = BatchingEmbedder(embedder, settings.encode_batch_wait_ms)
        self._set_index(index)
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_lock = threading.Lock()

    @classmethod
    def load(cls, settings: Settings, embedder: Embedder | None = None) -> KnowledgeBase:
        index = load_index(settings.index_dir, settings.corpus_dir, settings.model)
        return cls(settings, index, embedder or make_embedder(settings, index))

    def _set_index(self, index: LoadedIndex) -> None:
        # one assignment swaps everything a request reads; each request takes `self.searcher` once and
        # works on that, so a reload never mixes two indexes within a request
        self.searcher = Searcher(index, self.settings)

    @property
    def index(self) -> LoadedIndex:
        return self.searcher.index

    def reload(self) -> Manifest:
        """Load the current index from disk and swap it in; in-flight requests finish on the old one.

        The query encoder stays: the new index has the same model (loading checks) and its document
        vectors come from torch, whichever encoder serves queries."""
        index = load_index(self.settings.index_dir, self.settings.corpus_dir, self.settings.model)
        self._set_index(index)
        return index.manifest

    def warm_up(self) -> None:
        """Load the model, the tokenizer dictionary and OpenCC before the first request, not during it."""
        self.ask(AskRequest(question="社群定位分哪几步?"))
        self.diagnose(DiagnoseRequest(situation="群里全是广告,没人说话"))

    # -- encoding -------------------------------------------------------------------------------------

    def encode_queries(self, normalized: Sequence[str]) -> Vectors:
        """Embeddings of normalised query texts, through an LRU cache of repeats."""
        size = self.settings.query_cache_size
        out: list[Vectors | None] = []
        missing: list[int] = []
        with self._cache_lock:
            for i, text in enumerate(normalized):
                vec = self._cache.get(text) if size else None
                if vec is not None:
                    self._cache.move_to_end(text)
                else:
                    missing.append(i)
                out.append(vec)
        if missing:
            fresh = self.embedder.encode([normalized[i] for i in missing])
            with self._cache_lock:
                for row, i in enumerate(missing):
                    out[i] = fresh[row]
                    if size:
                        self._cache[normalized[i]] = fresh[row]
                        while len(self._cache) > size:
                            self._cache.popitem(last=False)
        return np.stack([v for v in out if v is not None])

    # -- queries --------------------------------------------------------------------------------------

    @staticmethod
    def _check_names(
        given: Sequence[str] | None, known: frozenset[str], field: str, what: str
    ) -> set[str] | None:
        """A filter's names as a set (None when empty); a name the index lacks is a 422 listing them."""
        if not given:
            return None
        unknown = sorted(set(given) - known)
        if unknown:
            raise UnknownTypeError(
                f"{field}: unknown {what}(s) {', '.join(unknown)}; known {what}s: {', '.join(sorted(known))}",
                field=field,
            )
        return set(given)

    def _rank(
        self,
        s: Searcher,
        norm: str,
        k: int,
        types: set[str] | None = None,
        docs: set[str] | None = None,
        variant: Variant = "fused",
        qvec: Vectors | None = None,
    ) -> list[Ranked]:
        dense = s.dense(self.encode_queries([norm])[0] if qvec is None else qvec)
        return s.rank(dense, s.bm25(norm), s.mask(types, docs), k, variant)

    def search(self, req: SearchRequest, variant: Variant = "fused") -> SearchResponse:
        s = self.searcher
        types = self._check_names(req.types, s.type_names, "types", "type")
        docs = self._check_names(req.docs, s.doc_names, "docs", "document")
        ranked = self._rank(s, normalize_text(req.query), req.k, types, docs, variant)
        return SearchResponse(query=req.query, hits=[to_hit(r) for r in ranked])

    def ask(self, req: AskRequest, variant: Variant = "fused") -> AskResponse:
        s = self.searcher
        norm = normalize_text(req.question)
        # the question and its clauses share one encode: ranking needs the first, confidence all
        clauses = [normalize_text(c.text) for c in answer.split_situation(req.question)]
        vecs = self.encode_queries([norm, *(clauses if len(clauses) > 1 else [])])
        dense, bm25 = s.dense(vecs[0]), s.bm25(norm)
        ranked = s.rank(dense, bm25, s.mask(), max(ASK_POOL, req.k), variant)

        def placed(principle_id: str, score: float) -> Ranked:
            # a principle placed by a list or a link, not by its rank: its own scores, the placing score
            return s.scored(principle_id, dense, bm25, score)

        confidence = self._confidence(s, norm, ranked, vecs[1:])
        if confidence < self.settings.answer_threshold:
            return AskResponse(
                question=req.question, answered=False, confidence=confidence, answer=answer.NO_ANSWER, hits=[]
            )
        by_id = {r.principle.id: r for r in ranked}
        group = self._list_group(s, norm, ranked) if answer.is_list_question(req.question) else None
        if group is not None:
            members = s.members[group.id]
            # the whole list, in order, even members ranked outside the pool, at the best member's score
            best = max((by_id[p.id].score for p in members if p.id in by_id), default=0.0)
            lead = [placed(p.id, best) for p in members]
            lead += [by_id[o] for o in group.overviews if o in by_id]
            lead_ids = {r.principle.id for r in lead}
            rest = [r for r in ranked if r.principle.id not in lead_ids]
            hits = [to_hit(r) for r in [*lead, *rest][: max(req.k, len(members))]]
            text = answer.compose_list_answer(group, members, [h.id for h in hits])
        else:
            top = _follow_lead(s, ranked, req.k, placed)
            chosen = [r.principle for r in top[:3] if r.score >= top[0].score * 0.6]
            hits = [to_hit(r) for r in top]
            text = answer.compose_answer(chosen)
        return AskResponse(
            question=req.question, answered=True, confidence=confidence, answer=text, hits=hits
        )

    def _list_group(self, s: Searcher, norm: str, ranked: Sequence[Ranked]) -> GroupInfo | None:
        """Of the lists the top hits point to, the one whose title is closest to the question."""
        candidates = answer.candidate_groups(ranked, s.groups_of)
        if not candidates:
            return None
        vecs = self.encode_queries([norm, *(normalize_text(g.title) for g in candidates)])
        sims = vecs[1:] @ vecs[0]
        best = int(np.argmax(sims))
        # a list answer replaces the ranked hits, so take it only when the list is plainly the topic
        return candidates[best] if sims[best] >= LIST_TITLE_MIN_COSINE else None

    def _confidence(self, s: Searcher, norm: str, ranked: Sequence[Ranked], clause_vecs: Vectors) -> float:
        """Whether the KB has an answer at all.

        Embedding similarity alone lets "怎么做短视频剪辑" look as close as a real question, so the share
        of the question's words the articles use is added in. A long question dilutes its own embedding,
        so each clause is compared too and the closest counts.
        """
        if not ranked:
            return 0.0
        best = max((r.dense or -1.0) for r in ranked)
        for vec in clause_vecs:
            best = max(best, float(s.dense(vec).best.max()))
        coverage = s.coverage(norm)
        return round(best + self.settings.coverage_weight * coverage, 4)

    def diagnose(self, req: DiagnoseRequest, variant: Variant = "fused") -> DiagnoseResponse:
        """Pitfalls behind a described situation; see service/diagnosis.py for how the list is built."""
        clauses = answer.split_situation(req.situation)
        texts = [normalize_text(c.text) for c in clauses] + [normalize_text(req.situation)]
        return diagnosis.diagnose(self.searcher, req, clauses, self.encode_queries(texts), texts, variant)

    # -- browsing -------------------------------------------------------------------------------------

    def get(self, principle_id: str) -> Principle:
        p = self.searcher.by_id.get(principle_id)
        if p is not None:
            return p
        raise NotFoundError(f"no principle with id {principle_id!r}; search or list principles to find ids")

    def list_principles(self, type: str | None = None, doc: str | None = None) -> PrincipleList:
        s = self.searcher
        types = self._check_names([type] if type else None, s.type_names, "type", "type")
        docs = self._check_names([doc] if doc else None, s.doc_names, "doc", "document")
        items = [
            p
            for p in s.principles
            if (types is None or p.type in types) and (docs is None or p.source.doc in docs)
        ]
        return PrincipleList(total=len(items), principles=items)

    def types(self) -> TypeList:
        return TypeList(types=self.index.records.types)

    def health(self) -> Health:
        m = self.index.manifest
        return Health(status="ok", principles=m.principles, model=m.model, index=m.summary())


def _follow_lead(
    s: Searcher, ranked: Sequence[Ranked], k: int, placed: Callable[[str, float], Ranked]
) -> list[Ranked]:
    """The top k, where the best hit is followed by what it points to, at most a third of k in all:
    - the members of a short list it introduces (社群内容分三类, 广告的三种疏导办法): the question is about
      the list even when not phrased as "有哪些";
    - then the principles making the same point in another article: a question rarely cares which
      article says it.
    Followers carry the best hit's score: they are placed by the link, not by their own rank."""
    if not ranked:
        return []
    lead = ranked[0]
    cap = (k + 1) // diagnosis.LINK_SHARE  # the same share as diagnose's links
    introduced = [g for g in s.groups_of[lead.principle.id] if lead.principle.id in g.overviews]
    group = next((g for g in introduced if (g.size or 0) <= SHORT_LIST), None)
    members = [p.id for p in s.members[group.id]] if group else []
    linked = dict.fromkeys([*members, *lead.principle.related])
    follow_ids = [i for i in linked if i != lead.principle.id][:cap]
    follow = [placed(i, lead.score) for i in follow_ids]
    return [lead, *follow, *(r for r in ranked[1:] if r.principle.id not in follow_ids)][:k]
