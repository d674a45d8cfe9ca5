"""The draft store: `kb add` writes a new article into corpus/raw and its draft into corpus/drafts,
`kb accept` publishes a checked draft into corpus/principles, `kb remove` takes an article out again.
Every write holds the corpus lock (service/curation/locks.py) and is atomic (temp + os.replace).

A person's edits are never overwritten: beside each draft, `.<article>.sha256` records the hash of the
draft as written; `kb add` of the same article again redrafts only while the draft still has that hash,
and never touches corpus/principles. Drafts are not part of the corpus digest and never served.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from service.corpus import CuratedFile, read_curated, resolve_quote, to_principle, validate
from service.curation.locks import corpus_lock
from service.curation.models import DraftInfo, DraftList, DraftSummary
from service.errors import CorpusError, DuplicateError, InputError, NotFoundError
from service.ingest.classify import TypeClassifier, train_classifier
from service.ingest.draft import draft_article
from service.ingest.duplicates import find_duplicates
from service.models import Principle

__all__ = [
    "MAX_ARTICLE_BYTES",
    "accept_draft",
    "add_article",
    "article_stem",
    "check_draft",
    "draft_path",
    "dump_draft",
    "is_edited",
    "list_drafts",
    "remove_article",
    "resolve_article",
    "write_atomic",
]

MAX_ARTICLE_BYTES = 200_000  # about 65,000 Chinese characters: five times the longest article so far
Progress = Callable[[str], None]


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dump_draft(draft: dict[str, Any]) -> bytes:
    header = (
        "# Draft written by `kb add`. Check every principle against the article (corpus/CURATING.md),\n"
        "# rewrite what `generated:` lists, delete each `generated:` entry you have checked, then\n"
        "# `kb accept` this article. Re-running `kb add` never overwrites this file once you edit it.\n"
    )
    body = yaml.safe_dump(draft, allow_unicode=True, sort_keys=False, width=100)
    return (header + body).encode("utf-8")


def decode_article(data: bytes, name: str) -> str:
    if len(data) > MAX_ARTICLE_BYTES:
        raise InputError(f"{name}: {len(data)} bytes is over the limit of {MAX_ARTICLE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if not text.strip():
        raise InputError(f"{name}: the article is empty")
    if "\x00" in text or re.search(r"[\x01-\x08\x0e-\x1f]", text):
        raise InputError(f"{name}: control characters: not a text file")
    if not re.search(r"[\u4e00-\u9fff]", text):
        raise InputError(f"{name}: no Chinese text: the knowledge base holds Chinese articles")
    return text


def article_stem(doc: str) -> str:
    return doc.removesuffix(".txt")


def resolve_article(root: Path, article: str) -> str:
    """A raw file name from what a user types: the file name, its stem, or a unique prefix ("005")."""
    names = sorted(p.name for p in (root / "raw").glob("*.txt"))
    drafts = sorted(p.stem + ".txt" for p in (root / "drafts").glob("*.yaml"))
    pool = sorted(set(names) | set(drafts))
    if article in pool:
        return article
    found = [n for n in pool if n.startswith(article)]
    if len(found) == 1:
        return found[0]
    raise NotFoundError(
        f"no article {article!r}" if not found else f"{article!r} names several articles: {found}"
    )


def _classifier(root: Path, exclude: str | None = None) -> tuple[TypeClassifier, Any]:
    cur = read_curated(root)
    titles = {g.id: g.title for g in cur.groups}
    training = [p for p in cur.principles if p.source.doc != exclude]
    return train_classifier(training, titles), cur.types


def draft_text(
    root: Path, text: str, doc: str, title: str | None = None, progress: Progress | None = None
) -> tuple[dict[str, Any], DraftSummary]:
    """Draft an article without writing anything (the evaluation uses this too)."""
    classifier, types = _classifier(root, exclude=doc)
    draft, report, _ = draft_article(text, doc, doc.split("_")[0], classifier, types, title, progress)
    summary = DraftSummary(
        article=article_stem(doc),
        doc=doc,
        title=draft["title"],
        principles=report.principles,
        by_type=report.by_type,
        groups=report.groups,
        junk=report.junk,
        low_confidence=report.low_confidence,
        dropped=report.dropped,
    )
    return draft, summary


def check_draft(root: Path, draft: dict[str, Any], text: str, where: str) -> list[Principle]:
    """The corpus checks on a draft beside the published corpus: parse, quotes, junk, groups, types."""
    cf: CuratedFile = CuratedFile.model_validate(draft)
    cur = read_curated(root)
    junk = dict(cur.junk)
    junk[cf.doc] = [resolve_quote(text, j.from_, j.to, f"{where}: junk[{i}]") for i, j in enumerate(cf.junk)]
    mine = [to_principle(cp, cf, text, where) for cp in cf.principles]
    origin = {**cur.origin, **{p.id: where for p in mine}}
    validate([*cur.principles, *mine], cur.types, [*cur.groups, *cf.groups], junk, origin)
    return mine


def _next_number(root: Path) -> int:
    nums = [int(m.group(1)) for p in (root / "raw").glob("*.txt") if (m := re.match(r"(\d+)_", p.name))]
    return max(nums, default=-1) + 1


def add_article(
    root: Path,
    data: bytes,
    name: str,
    title: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> DraftSummary:
    say = progress or (lambda _: None)
    text = decode_article(data, name)
    with corpus_lock(root):
        raw = {p.name: p.read_bytes() for p in sorted((root / "raw").glob("*.txt"))}
        say("duplicates")
        dups = find_duplicates(data, text, raw)
        exact = next((d for d in dups if d.kind == "exact"), None)
        if exact is not None:
            return _redraft(root, exact.doc, text, title, progress)
        if dups and not force:
            d = dups[0]
            raise DuplicateError(
                f"{name} is a near-duplicate of {d.doc} (shares {d.score:.0%} of its text): "
                "add it with --force if it is a different article"
            )
        doc = f"{_next_number(root):03d}_{_sha(data)[:16]}.txt"
        draft, summary = draft_text(root, text, doc, title, progress)
        check_draft(root, draft, text, f"drafts/{article_stem(doc)}.yaml")
        write_atomic(root / "raw" / doc, data)
        _save_draft(root, doc, draft)
        summary.duplicates = [f"{d.doc} ({d.kind}, {d.score:.0%})" for d in dups]
        return summary


def _save_draft(root: Path, doc: str, draft: dict[str, Any]) -> None:
    body = dump_draft(draft)
    write_atomic(root / "drafts" / f"{article_stem(doc)}.yaml", body)
    write_atomic(root / "drafts" / f".{article_stem(doc)}.sha256", _sha(body).encode())


def is_edited(root: Path, doc: str) -> bool:
    path = root / "drafts" / f"{article_stem(doc)}.yaml"
    mark = root / "drafts" / f".{article_stem(doc)}.sha256"
    if not path.exists():
        return False
    return not mark.exists() or mark.read_text().strip() != _sha(path.read_bytes())


def _redraft(root: Path, doc: str, text: str, title: str | None, progress: Progress | None) -> DraftSummary:
    """`kb add` of an article already in corpus/raw: redraft unless a person has touched its files."""
    published = (root / "principles" / f"{article_stem(doc)}.yaml").exists() or any(
        _doc_of(p) == doc for p in (root / "principles").glob("*.yaml")
    )
    if published:
        raise DuplicateError(f"{doc} is already published in corpus/principles; `kb remove` it first")
    if is_edited(root, doc):
        summary = _summary_of(root, doc)
        summary.kept = True
        return summary
    draft, summary = draft_text(root, text, doc, title, progress)
    check_draft(root, draft, text, f"drafts/{article_stem(doc)}.yaml")
    _save_draft(root, doc, draft)
    return summary


def _doc_of(path: Path) -> str | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return str(data.get("doc")) if isinstance(data, dict) else None


def _open_items(draft: dict[str, Any]) -> int:
    return sum(1 for p in draft.get("principles") or [] if isinstance(p, dict) and p.get("generated"))


def _summary_of(root: Path, doc: str) -> DraftSummary:
    data = yaml.safe_load((root / "drafts" / f"{article_stem(doc)}.yaml").read_text(encoding="utf-8")) or {}
    ps = [p for p in data.get("principles") or [] if isinstance(p, dict)]
    by_type: dict[str, int] = {}
    for p in ps:
        by_type[str(p.get("type"))] = by_type.get(str(p.get("type")), 0) + 1
    return DraftSummary(
        article=article_stem(doc),
        doc=doc,
        title=str(data.get("title", "")),
        principles=len(ps),
        by_type=by_type,
        groups=len(data.get("groups") or []),
        junk=len(data.get("junk") or []),
        low_confidence=list((data.get("generated") or {}).get("low_confidence") or []),
    )


def list_drafts(root: Path) -> DraftList:
    out = []
    for path in sorted((root / "drafts").glob("*.yaml")):
        doc = path.stem + ".txt"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            out.append(DraftInfo(article=path.stem, doc=doc, principles=0, open_items=0, edited=True,
                                 problem=f"not valid YAML: {exc}"))  # fmt: skip
            continue
        out.append(
            DraftInfo(
                article=path.stem,
                doc=doc,
                principles=len(data.get("principles") or []),
                open_items=_open_items(data),
                edited=is_edited(root, doc),
            )
        )
    return DraftList(drafts=out)


def accept_draft(root: Path, article: str) -> DraftInfo:
    """Validate the draft against the published corpus and move it into corpus/principles."""
    with corpus_lock(root):
        doc, path = draft_path(root, article)
        target = root / "principles" / f"{article_stem(doc)}.yaml"
        if target.exists():
            raise CorpusError(f"{target} exists: an accepted article is edited there, never overwritten")
        body = path.read_bytes()
        try:
            data = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise CorpusError(f"{path.name}: cannot read YAML: {exc}") from exc
        from pydantic import ValidationError

        from service.errors import describe_validation

        try:
            check_draft(root, data, (root / "raw" / doc).read_text(encoding="utf-8"), path.name)
        except ValidationError as exc:
            raise CorpusError(describe_validation(exc.errors(), prefix=f"{path.name}: ")) from exc
        info = DraftInfo(
            article=article_stem(doc), doc=doc, principles=len(data.get("principles") or []),
            open_items=_open_items(data), edited=is_edited(root, doc),
        )  # fmt: skip
        write_atomic(target, body)
        path.unlink()
        (root / "drafts" / f".{article_stem(doc)}.sha256").unlink(missing_ok=True)
        return info


def remove_article(root: Path, article: str) -> list[str]:
    """Delete an article's raw file, its published principles and its draft; returns what went."""
    with corpus_lock(root):
        doc = resolve_article(root, article)
        gone = []
        candidates = [
            root / "raw" / doc,
            root / "drafts" / f"{article_stem(doc)}.yaml",
            root / "drafts" / f".{article_stem(doc)}.sha256",
            *(p for p in (root / "principles").glob("*.yaml") if _doc_of(p) == doc),
        ]
        for path in candidates:
            if path.exists():
                path.unlink()
                gone.append(str(path.relative_to(root)))
        drafts = root / "drafts"
        if drafts.is_dir() and not any(drafts.iterdir()):
            drafts.rmdir()  # the corpus as it was before the first `kb add`
        return gone


def draft_path(root: Path, article: str) -> tuple[str, Path]:
    """The article's file name and its draft's path; NotFoundError when it has no draft."""
    doc = resolve_article(root, article)
    path = root / "drafts" / f"{article_stem(doc)}.yaml"
    if not path.exists():
        raise NotFoundError(f"no draft for {doc} in corpus/drafts")
    return doc, path
