"""What every retriever shares: the protocol, the signal it returns, and the ranked result of fusion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from service.catalog import BoolArray
from service.embedder import Embedder
from service.models import Principle
from service.query import Query

if TYPE_CHECKING:
    from collections.abc import Callable

    from service.catalog import Catalog

__all__ = [
    "AnnConfig",
    "BuildContext",
    "DocumentVectors",
    "Evidence",
    "FloatArray",
    "IntArray",
    "LoadContext",
    "Ranked",
    "Retriever",
    "Signal",
]

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Evidence:
    """Which of a principle's texts a query was closest to: `field` (title, symptom, question, …) and
    the normalised `text` itself; what `why` quotes."""

    field: str
    text: str


@dataclass(frozen=True)
class Signal:
    """One retriever's scores for one query over every principle of the catalog, in catalog order."""

    name: str
    values: FloatArray
    present: BoolArray  # False where the retriever found nothing: null on the wire, no share in RRF
    evidence_pool: Sequence[Evidence] = ()
    evidence_of: IntArray | None = None  # per principle: its best evidence in `evidence_pool`

    def value(self, i: int) -> float | None:
        return round(float(self.values[i]), 6) if self.present[i] else None

    def evidence(self, i: int) -> Evidence | None:
        return None if self.evidence_of is None else self.evidence_pool[int(self.evidence_of[i])]


Signals = Mapping[str, Signal]


@dataclass(frozen=True)
class Ranked:
    """A principle placed in a ranking: its fused `score` and each signal's own value (None: not found)."""

    principle: Principle
    score: float
    signals: dict[str, float | None]
    evidence: Evidence | None  # from the first signal that has any (dense: the closest vector's text)

    def signal(self, name: str) -> float | None:
        return self.signals.get(name)


@dataclass(frozen=True)
class DocumentVectors:
    """The index's document side as the build and the query encoder's training see it."""

    vectors: npt.NDArray[np.float32]  # unit rows
    owners: npt.NDArray[np.int64]  # principle of each row
    texts: list[str]  # normalised text of each row


@dataclass(frozen=True)
class AnnConfig:
    """When a build indexes the dense vectors for approximate search too, and how it is searched
    (KB_ANN_MIN_VECTORS, KB_ANN_CANDIDATES, KB_ANN_EF_SEARCH)."""

    min_vectors: int
    candidates: int
    ef_search: int


@dataclass(frozen=True)
class BuildContext:
    """What a retriever may read when `kb build` asks it to write its files."""

    principles: Sequence[Principle]
    embedder: Embedder  # the document encoder (the model on torch, or a test's fake)
    # prepares the query side (service/build/query_side.py) once the documents are encoded: the adapted
    # query encoder and its ONNX copy; returns the manifest's fields for them
    query_side: Callable[[Path, DocumentVectors], Mapping[str, str | None]] | None = None
    ann: AnnConfig | None = None  # None: exact search only, whatever the size


@dataclass(frozen=True)
class LoadContext:
    """What a retriever may read when an index is loaded."""

    catalog: Catalog
    dimension: int  # the manifest's vector dimension


class Retriever(Protocol):
    """One retrieval signal: writes and reads its own files in an index folder, scores queries."""

    name: ClassVar[str]  # the key of its signal, in `scores` on the wire and in the fusion weights
    # what `build` writes and `load` reads, relative to the index folder (a folder: some file in it);
    # a build is not swapped in, and an index not loaded, unless its manifest lists every one
    files: ClassVar[tuple[str, ...]]

    @classmethod
    def build(cls, ctx: BuildContext, folder: Path) -> Mapping[str, int | str | None]:
        """Write this retriever's files into `folder`; return what the manifest should record."""
        ...

    @classmethod
    def load(cls, ctx: LoadContext, folder: Path) -> Retriever:
        """Read this retriever's files back (checksums are already verified)."""
        ...

    def score(self, query: Query) -> Signal: ...
