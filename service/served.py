"""What one request reads of the index being served, and the constants every policy shares.

`Served` is built once per loaded index and swapped whole on reload, so a request that took it sees
one index from start to finish. The three policies (service/search.py, ask.py, diagnose.py) each take
the request, its `Query` and this object.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from service.catalog import Catalog
from service.confidence import Judge
from service.corpus import read_curated
from service.documents import Documents
from service.embedder import Vectors
from service.index import LoadedIndex
from service.retrieval import DenseRetriever, Retrieval
from service.settings import Settings

__all__ = ["COSINE", "LINK_SHARE", "Encode", "EncoderKind", "Served", "encoder_kind"]

# the signal whose values are cosines (ask's list titles and diagnose's clauses are judged on it)
COSINE = DenseRetriever.name
# the best hit's followers take at most (k + 1) // LINK_SHARE places: ask's links and diagnose's alike
LINK_SHARE = 3

Encode = Callable[[Sequence[str]], Vectors]  # normalised texts -> unit vectors (the query encoder)
EncoderKind = str  # "adapted" or "base": the cosine thresholds depend on which encoder serves queries


def encoder_kind(index: LoadedIndex) -> EncoderKind:
    return "adapted" if index.manifest.query_model else "base"


class Served:
    """Everything one request reads of an index."""

    def __init__(self, index: LoadedIndex, settings: Settings, encode: Encode) -> None:
        self.index = index
        # loading the index has just checked corpus/raw against the index's corpus hash
        self.documents = Documents(
            settings.corpus_dir / "raw", index.catalog, lambda: read_curated(settings.corpus_dir).junk
        )
        self.retrieval = Retrieval.for_index(index, settings)
        self.judge = Judge(index.confidence, index.references, settings.answer_threshold)
        self.encode = encode
        self.encoder_kind = encoder_kind(index)

    @property
    def catalog(self) -> Catalog:
        return self.index.catalog
