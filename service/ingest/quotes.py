"""`from`/`to` quotes for a span, chosen so that they resolve back to exactly that span under the
corpus rules (service.corpus.resolve_quote): `from` occurs once in the article, `to` is the first
occurrence after it and ends where the span ends."""

from __future__ import annotations

__all__ = ["quote_span"]


def quote_span(text: str, start: int, end: int, short: int = 8) -> tuple[str, str | None] | None:
    """The shortest readable quotes (at least `short` characters of `from` where the span allows),
    or None when no unique `from` exists (a passage repeated word for word)."""
    span = text[start:end]
    frm = None
    for n in range(min(short, len(span)), len(span) + 1):
        cand = span[:n]
        if len(cand.strip()) < 4 or cand != cand.rstrip():
            continue
        if text.find(cand) == start and text.find(cand, start + 1) < 0:
            frm = cand
            break
    if frm is None:
        return None
    if start + len(frm) == end:
        return frm, None
    for m in range(min(6, end - start - len(frm)), end - start - len(frm) + 1):
        if m < 2:
            continue
        to = text[end - m : end]
        if to != to.lstrip():
            continue
        if text.find(to, start + len(frm)) == end - m:
            return frm, to
    return (span, None) if text.find(span) == start and text.find(span, start + 1) < 0 else None
