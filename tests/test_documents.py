"""The raw articles: listing, whole text, bounded ranges raw and normalised, over the core and HTTP."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from service.errors import InputError, NotFoundError
from service.kb import KnowledgeBase
from service.models import MAX_RANGE_CHARS, DocumentQuery
from service.normalize import normalize_text
from service.settings import Settings


def test_listing_describes_every_raw_article(kb: KnowledgeBase, settings: Settings) -> None:
    listing = kb.documents()
    files = sorted((settings.corpus_dir / "raw").glob("*.txt"))
    assert listing.total == len(listing.documents) == len(files) == 5
    assert [d.id for d in listing.documents] == ["000", "001", "002", "003", "004"]
    for d, path in zip(listing.documents, files, strict=True):
        text = path.read_text(encoding="utf-8")
        assert d.doc == path.name and d.id == path.name[:3]
        assert d.chars == len(text) and d.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert d.principles == sum(p.source.doc == d.doc for p in kb.index.catalog.principles) > 0
        assert d.title == next(p.source.title for p in kb.index.catalog.principles if p.source.doc == d.doc)


def test_whole_text_and_every_citation_range(kb: KnowledgeBase) -> None:
    whole = kb.document("002")
    assert whole.text is not None and whole.range is None and len(whole.text) == whole.chars
    assert kb.document(whole.doc).text == whole.text  # the file name works too
    for p in kb.index.catalog.principles:
        s = p.source
        found = kb.document(s.doc, DocumentQuery(start=s.start, end=s.end))
        assert found.text is None and found.range is not None
        assert found.range.raw == s.quote  # what the citation quotes, verbatim
        assert found.range.normalized == normalize_text(s.quote)


def test_range_defaults_and_bounds(kb: KnowledgeBase) -> None:
    r = kb.document("001", DocumentQuery(start=100)).range
    assert r is not None and (r.start, r.end) == (100, 100 + MAX_RANGE_CHARS)
    chars = kb.document("000").chars
    tail = kb.document("000", DocumentQuery(start=chars - 10)).range
    assert tail is not None and (tail.end, len(tail.raw)) == (chars, 10)
    r = kb.document("002", DocumentQuery(end=30)).range
    assert r is not None and (r.start, r.end) == (0, 30)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (10, 5, "end: 5 is before start 10"),
        (0, MAX_RANGE_CHARS + 1, f"at most {MAX_RANGE_CHARS} characters"),
        (0, 10**6, "outside"),
        (10**6, None, "outside"),
    ],
)
def test_bad_ranges(kb: KnowledgeBase, start: int, end: int | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        kb.document("001", DocumentQuery(start=start, end=end))


def test_unknown_document(kb: KnowledgeBase) -> None:
    with pytest.raises(NotFoundError, match="no document '009'; documents: 000"):
        kb.document("009")


def test_http_routes(client: TestClient, kb: KnowledgeBase) -> None:
    assert client.get("/documents").json() == kb.documents().model_dump(mode="json")
    p = kb.get("p002-ad-only-groups")
    r = client.get("/documents/002", params={"start": p.source.start, "end": p.source.end})
    assert r.status_code == 200 and r.json()["range"]["raw"] == p.source.quote
    assert "只有广告的微信群" in r.json()["range"]["normalized"]  # 只有廣告 in the raw text
    bad = client.get("/documents/002", params={"start": 0, "end": MAX_RANGE_CHARS + 1})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    assert client.get("/documents/009").json()["error"]["code"] == "not_found"
    assert client.get("/documents/002", params={"begin": 3}).status_code == 422
