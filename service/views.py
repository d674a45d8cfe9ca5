"""An article cut into segments for reading: at every line break, every cited span's edges and every junk
span's edges, so a client shows the clean or the raw text with spans highlighted by drawing segments,
never by computing offsets itself. Used for the published articles (GET /documents/{doc}/view) and for
drafts under review. Nothing here ranks."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from service.normalize import readable_text
from service.view_models import ArticleSegment

__all__ = ["segment_text"]


def segment_text(
    text: str, spans: Mapping[str, tuple[int, int]], junk: Sequence[tuple[int, int]]
) -> list[ArticleSegment]:
    """The article as consecutive segments; `spans` maps a principle id to its (start, end)."""
    cuts = {0, len(text)}
    cuts |= {i + 1 for i, c in enumerate(text) if c == "\n"}
    for start, end in [*spans.values(), *junk]:
        cuts |= {min(max(start, 0), len(text)), min(max(end, 0), len(text))}
    edges = sorted(cuts)
    out = []
    for start, end in itertools.pairwise(edges):
        raw = text[start:end]
        out.append(
            ArticleSegment(
                start=start,
                end=end,
                raw=raw,
                # readable_text keeps line breaks, so clean text keeps the article's paragraphs
                text=readable_text(raw),
                principles=sorted(pid for pid, (s, e) in spans.items() if s <= start and end <= e),
                junk=any(s <= start and end <= e for s, e in junk),
            )
        )
    return out
