"""The draft store: `kb add` drafts a new article into corpus/drafts/<article>/, `kb accept` publishes a
checked draft into corpus/raw, corpus/principles (and corpus/sources), `kb remove` takes an article out
again and mends what named it. Every write holds the corpus lock (service/curation/locks.py) and is atomic
(temp + os.replace).

A draft lives apart from the published corpus until it is accepted: its folder (`DraftPaths`) holds the
draft, the article's text, the original file when there is one, the edit guard and a summary for
listing. Nothing under corpus/drafts is part of the corpus digest or served, so a pending draft never
makes the index stale.

A person's edits are never overwritten: the guard records the hash of the draft as written; `kb add` of
the same article again redrafts only while the draft still has that hash, and never touches
corpus/principles.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from service.corpus import CuratedFile, read_curated, resolve_quote, to_principle, validate
from service.curation.locks import corpus_lock
from service.curation.models import DraftInfo, DraftList, DraftSummary, RemoveReport
from service.errors import (
    BusyError,
    CorpusError,
    DraftInvalidError,
    DraftLimitError,
    DuplicateError,
    InputError,
    NotFoundError,
    TooLargeError,
    describe_validation,
)
from service.files import write_atomic
from service.ingest.classify import TypeClassifier, train_classifier
from service.ingest.draft import draft_article
from service.ingest.duplicates import find_duplicates
from service.ingest.formats import extract, file_limit, save_source
from service.models import Principle, clean_curated_line
from service.settings import Settings

__all__ = [
    "Changes",
    "DraftPaths",
    "Limits",
    "accept_draft",
    "add_article",
    "article_stem",
    "check_draft",
    "draft_paths",
    "dump_draft",
    "is_edited",
    "list_drafts",
    "migrate_drafts",
    "read_article_file",
    "read_draft",
    "refresh_summary",
    "remove_article",
    "resolve_article",
    "undo_changes",
    "write_atomic",
]

log = logging.getLogger("kb")
Progress = Callable[[str], None]
DRAFTS_DIR = "drafts"
SOURCES_DIR = "sources"


@dataclass(frozen=True)
class Limits:
    """What one curation call may cost, from the settings; `lock_wait`: how long to wait for the corpus
    lock (the CLI waits; the HTTP edge refuses at once rather than hold a shared thread)."""

    # the defaults are the settings' own (service/settings.py is where they are documented)
    max_article_bytes: int = Settings.model_fields["max_article_bytes"].default
    max_drafts: int = Settings.model_fields["max_drafts"].default
    max_principles: int = Settings.model_fields["max_draft_principles"].default
    lock_wait: float = 600.0

    @classmethod
    def of(cls, settings: Settings, lock_wait: float = 600.0) -> Limits:
        return cls(settings.max_article_bytes, settings.max_drafts, settings.max_draft_principles, lock_wait)


@dataclass(frozen=True)
class DraftPaths:
    """Every file of one article's draft, and where each goes when it is accepted: the one place their
    names are spelled."""

    root: Path  # the corpus folder
    stem: str  # the article's name: its raw file without .txt

    @property
    def doc(self) -> str:
        return f"{self.stem}.txt"

    @property
    def dir(self) -> Path:
        return self.root / DRAFTS_DIR / self.stem

    @property
    def draft(self) -> Path:
        return self.dir / "draft.yaml"

    @property
    def text(self) -> Path:
        """The article's text: what becomes corpus/raw/<stem>.txt at accept, what citations index."""
        return self.dir / "article.txt"

    @property
    def guard(self) -> Path:
        """The hash of the draft as `kb add` wrote it: a different hash means a person edited it."""
        return self.dir / "draft.sha256"

    @property
    def summary(self) -> Path:
        return self.dir / "summary.json"

    @property
    def publishing(self) -> Path:
        """Present while a job publishes this draft: holds the job's id."""
        return self.dir / "publishing"

    def originals(self) -> list[Path]:
        """The original file (`<stem>.<ext>`, byte-identical) and its provenance (`<stem>.source.json`,
        service/ingest/formats/provenance.py), which go to corpus/sources/ under the same names at accept:
        the record names its original by a name true in both places."""
        return sorted(self.dir.glob(f"{self.stem}.*")) if self.dir.is_dir() else []

    @property
    def raw(self) -> Path:
        return self.root / "raw" / self.doc

    @property
    def principles(self) -> Path:
        return self.root / "principles" / f"{self.stem}.yaml"

    def published_source(self, original: Path) -> Path:
        return self.root / SOURCES_DIR / original.name

    def exists(self) -> bool:
        return self.draft.is_file()


class Changes:
    """The files one publish (accept, remove) changes, each backed up into `backup` before it changes, so
    that a job killed half-way can be undone (`undo_changes`). Without `backup` (the CLI), it only writes."""

    def __init__(self, root: Path, backup: Path | None = None) -> None:
        self.root = root
        self.backup = backup
        self.touched: list[str] = []

    def _before(self, path: Path) -> None:
        rel = path.relative_to(self.root).as_posix()
        if self.backup is None or rel in self.touched:
            return
        existed = path.exists()
        if existed:
            write_atomic(self.backup / "files" / rel, path.read_bytes())
        self.touched.append(rel)
        entries = [*_journal(self.backup), {"path": rel, "existed": existed}]
        write_atomic(self.backup / "changes.json", json.dumps(entries).encode())  # before the change

    def write(self, path: Path, data: bytes) -> None:
        self._before(path)
        write_atomic(path, data)

    def unlink(self, path: Path) -> None:
        if path.exists():
            self._before(path)
            path.unlink()


def _journal(backup: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads((backup / "changes.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return list(data) if isinstance(data, list) else []


def undo_changes(root: Path, backup: Path) -> list[str]:
    """Put every file a killed job changed back as it was; returns their paths (relative to the corpus)."""
    undone = []
    for entry in reversed(_journal(backup)):
        rel = str(entry["path"])
        path = root / rel
        if entry["existed"]:
            write_atomic(path, (backup / "files" / rel).read_bytes())
        else:
            path.unlink(missing_ok=True)
        undone.append(rel)
    for folder in {(root / u).parent for u in undone}:
        if folder.is_relative_to(root / DRAFTS_DIR) and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return undone


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


def read_article_file(path: Path, limit: int) -> bytes:
    """A file for `kb add`: a regular file, its size checked before reading (and the read bounded, in
    case it grows meanwhile), so that a huge file, /dev/zero or a FIFO is refused instead of read."""
    try:
        st = path.stat()
    except OSError as exc:
        raise InputError(f"cannot read {path.name} ({exc.strerror}): check the path") from exc
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a device, FIFO or socket)"
        raise InputError(f"{path.name}: {kind}; give an article's file")
    limit = file_limit(limit)  # the file may be larger than its text (a .docx, a PDF, a web page)
    too_large = (
        f"{path.name}: the file is over the limit of {limit:,} bytes: "
        "split the article, or save it without images, and add the parts"
    )
    if st.st_size > limit:
        raise TooLargeError(too_large)
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path.name} ({exc.strerror}): check the path") from exc
    if len(data) > limit:
        raise TooLargeError(too_large)
    return data


def _check_line(field: str, value: str) -> None:
    """A curated one-line field from the CLI, checked as the HTTP models check it."""
    try:
        clean_curated_line(value)
    except ValueError as exc:
        raise InputError(f"{field}: {exc}") from exc


def _clean_line(value: str) -> str | None:
    """A title a page or document gave itself, as a curated line: whitespace folded to spaces, cut to
    the title limit; None when what is left is not a valid curated line (a page's title is not the
    curator's word: drafting then titles the article from its text)."""
    line = " ".join(value.split())[:120]
    try:
        return clean_curated_line(line) if line else None
    except ValueError:
        return None


def article_stem(doc: str) -> str:
    return doc.removesuffix(".txt")


def _draft_stems(root: Path) -> list[str]:
    folder = root / DRAFTS_DIR
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def migrate_drafts(root: Path) -> list[str]:
    """Drafts of the first layout (corpus/drafts/<stem>.yaml beside a `.sha256` mark, the text already in
    corpus/raw) moved into their own folders, the text out of corpus/raw. Returns the stems moved; a
    draft whose article is published meanwhile is refused, naming both files."""
    moved = []
    for old in sorted((root / DRAFTS_DIR).glob("*.yaml")):
        paths = DraftPaths(root, old.stem)
        if _published_files(root, paths.doc):
            raise CorpusError(
                f"drafts/{old.name}: its article is published already (principles/ names {paths.doc}); "
                "delete the old draft or `kb remove` the article"
            )
        if paths.raw.exists():
            write_atomic(paths.text, paths.raw.read_bytes())
        elif not paths.text.exists():
            raise CorpusError(f"drafts/{old.name}: its article raw/{paths.doc} is missing")
        mark = old.with_name(f".{old.stem}.sha256")
        if mark.exists():
            write_atomic(paths.guard, mark.read_bytes())
            mark.unlink()
        write_atomic(paths.draft, old.read_bytes())
        old.unlink()
        paths.raw.unlink(missing_ok=True)
        refresh_summary(paths)
        moved.append(old.stem)
    if moved:
        log.warning("moved %d draft(s) into corpus/drafts/<article>/: %s", len(moved), ", ".join(moved))
    return moved


def _migrated(root: Path) -> None:
    """Drafts of the first layout moved before anything reads drafts (under the lock; at once or 409)."""
    if (root / DRAFTS_DIR).is_dir() and any((root / DRAFTS_DIR).glob("*.yaml")):
        with corpus_lock(root, timeout=0, what="moving drafts into their folders"):
            migrate_drafts(root)


def resolve_article(root: Path, article: str) -> str:
    """A raw file name from what a user types: the file name, its stem, or a unique prefix ("005"), among
    the published articles and the drafts."""
    published = {p.name for p in (root / "raw").glob("*.txt")}
    pool = sorted(published | {f"{s}.txt" for s in _draft_stems(root)})
    if article in pool:
        return article
    found = [n for n in pool if n.startswith(article)]
    if len(found) == 1:
        return found[0]
    raise NotFoundError(
        f"no article {article!r} (see `kb drafts` and GET /documents)"
        if not found
        else f"{article!r} names several articles: {found}"
    )


def draft_paths(root: Path, article: str) -> DraftPaths:
    """The draft of the article a user names; NotFoundError when it has none."""
    _migrated(root)
    paths = DraftPaths(root, article_stem(resolve_article(root, article)))
    if not paths.exists():
        raise NotFoundError(f"no draft for {paths.doc} in corpus/drafts (published articles are not drafts)")
    return paths


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


def check_draft(
    root: Path, draft: dict[str, Any], text: str, where: str, max_principles: int | None = None
) -> list[Principle]:
    """The corpus checks on a draft beside the published corpus: parse, quotes, junk, groups, types.
    Raises DraftInvalidError naming the problem (never a bare ValidationError)."""
    if max_principles is not None and len(draft.get("principles") or []) > max_principles:
        raise TooLargeError(
            f"{where}: {len(draft['principles'])} principles is over the limit of {max_principles} "
            "(KB_MAX_DRAFT_PRINCIPLES)"
        )
    try:
        cf: CuratedFile = CuratedFile.model_validate(draft)
    except ValidationError as exc:
        raise DraftInvalidError(describe_validation(exc.errors(), prefix=f"{where}: ")) from exc
    cur = read_curated(root)
    try:
        junk = dict(cur.junk)
        junk[cf.doc] = [
            resolve_quote(text, j.from_, j.to, f"{where}: junk[{i}]") for i, j in enumerate(cf.junk)
        ]
        mine = [to_principle(cp, cf, text, where) for cp in cf.principles]
        origin = {**cur.origin, **{p.id: where for p in mine}}
        validate([*cur.principles, *mine], cur.types, [*cur.groups, *cf.groups], junk, origin)
    except CorpusError as exc:  # the draft's own fault: the published corpus loaded above
        raise DraftInvalidError(exc.message) from exc
    return mine


def _next_number(root: Path) -> int:
    names = [p.name for p in (root / "raw").glob("*.txt")] + _draft_stems(root)
    nums = [int(m.group(1)) for n in names if (m := re.match(r"(\d+)_", n))]
    return max(nums, default=-1) + 1


def _lock(root: Path, limits: Limits, what: str) -> Any:
    return corpus_lock(root, timeout=limits.lock_wait, what=what)


def add_article(
    root: Path,
    data: bytes,
    name: str,
    title: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
    limits: Limits | None = None,
) -> DraftSummary:
    limits = limits or Limits()
    say = progress or (lambda _: None)
    if title is not None:
        _check_line("title", title)
    # any format (service/ingest/formats/): the draft holds the extracted text, which citations index,
    # and the original beside it with its block map
    extracted = extract(data, name, limits.max_article_bytes)
    original, text = data, extracted.text
    if len(text.encode("utf-8")) > limits.max_article_bytes:
        raise TooLargeError(
            f"{name}: its text is over the limit of {limits.max_article_bytes} bytes (KB_MAX_ARTICLE_BYTES)"
        )
    if title is None and extracted.title:
        title = _clean_line(extracted.title)
    data = text.encode("utf-8")
    with _lock(root, limits, f"`kb add` of {name}"):
        migrate_drafts(root)
        published = {p.name: p.read_bytes() for p in sorted((root / "raw").glob("*.txt"))}
        pending = {f"{s}.txt": DraftPaths(root, s).text for s in _draft_stems(root)}
        raw = {**published, **{doc: p.read_bytes() for doc, p in pending.items() if p.exists()}}
        say("duplicates")
        dups = find_duplicates(data, text, raw)
        exact = next((d for d in dups if d.kind == "exact"), None)
        if exact is not None:
            return _redraft(root, exact.doc, text, title, progress, limits)
        if dups and not force:
            d = dups[0]
            raise DuplicateError(
                f"{name} is a near-duplicate of {d.doc} (shares {d.score:.0%} of its text): "
                "add it with --force if it is a different article"
            )
        if len(pending) >= limits.max_drafts:
            raise DraftLimitError(
                f"{len(pending)} drafts are pending, the limit (KB_MAX_DRAFTS); accept or remove one first"
            )
        doc = f"{_next_number(root):03d}_{_sha(data)[:16]}.txt"
        draft, summary = draft_text(root, text, doc, title, progress)
        paths = DraftPaths(root, article_stem(doc))
        check_draft(root, draft, text, f"drafts/{paths.stem}", limits.max_principles)
        write_atomic(paths.text, data)
        _save_draft(paths, draft)
        save_source(extracted, original, paths.dir, paths.stem)
        summary.duplicates = [f"{d.doc} ({d.kind}, {d.score:.0%})" for d in dups]
        return summary


def _save_draft(paths: DraftPaths, draft: dict[str, Any]) -> None:
    body = dump_draft(draft)
    write_atomic(paths.draft, body)
    write_atomic(paths.guard, _sha(body).encode())
    refresh_summary(paths)


def is_edited(paths: DraftPaths) -> bool:
    if not paths.exists():
        return False
    try:
        return paths.guard.read_text().strip() != _sha(paths.draft.read_bytes())
    except OSError:
        return True


def _published_files(root: Path, doc: str) -> list[Path]:
    return [p for p in sorted((root / "principles").glob("*.yaml")) if _doc_of(p) == doc]


def _redraft(
    root: Path, doc: str, text: str, title: str | None, progress: Progress | None, limits: Limits
) -> DraftSummary:
    """`kb add` of an article already added: redraft unless a person has touched its draft."""
    if (root / "raw" / doc).exists() or _published_files(root, doc):
        raise DuplicateError(f"{doc} is already published in corpus/principles; `kb remove` it first")
    paths = DraftPaths(root, article_stem(doc))
    if is_edited(paths):
        summary = _summary_of(paths)
        summary.kept = True
        return summary
    draft, summary = draft_text(root, text, doc, title, progress)
    check_draft(root, draft, text, f"drafts/{paths.stem}", limits.max_principles)
    _save_draft(paths, draft)
    return summary


def _doc_of(path: Path) -> str | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return str(data.get("doc")) if isinstance(data, dict) else None


def read_draft(paths: DraftPaths) -> dict[str, Any]:
    """The draft's YAML as a mapping with a `principles:` list, or DraftInvalidError naming what is
    wrong (relative to the corpus folder, never a server path)."""
    where = f"drafts/{paths.stem}/{paths.draft.name}"
    try:
        data = yaml.safe_load(paths.draft.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise DraftInvalidError(f"{where}: not valid YAML{at}: {problem}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DraftInvalidError(f"{where}: cannot be read ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("principles"), list):
        raise DraftInvalidError(f"{where}: not a draft (no `principles:` list)")
    for i, p in enumerate(data["principles"]):
        if not isinstance(p, dict):
            raise DraftInvalidError(f"{where}: principles[{i}] is not a mapping")
        for key in ("generated", "source"):
            if p.get(key) is not None and not isinstance(p[key], dict):
                raise DraftInvalidError(f"{where}: {p.get('id', i)}: `{key}` must be a mapping")
    if data.get("generated") is not None and not isinstance(data["generated"], dict):
        raise DraftInvalidError(f"{where}: `generated` must be a mapping")
    return data


def _open_items(draft: dict[str, Any]) -> int:
    return sum(1 for p in draft.get("principles") or [] if isinstance(p, dict) and p.get("generated"))


def _summary_of(paths: DraftPaths) -> DraftSummary:
    data = read_draft(paths)
    ps = [p for p in data["principles"] if isinstance(p, dict)]
    by_type: dict[str, int] = {}
    for p in ps:
        by_type[str(p.get("type"))] = by_type.get(str(p.get("type")), 0) + 1
    return DraftSummary(
        article=paths.stem,
        doc=paths.doc,
        title=str(data.get("title", "")),
        principles=len(ps),
        by_type=by_type,
        groups=len(data.get("groups") or []),
        junk=len(data.get("junk") or []),
        low_confidence=list((data.get("generated") or {}).get("low_confidence") or []),
    )


def _signature(paths: DraftPaths) -> list[int]:
    st = paths.draft.stat()
    return [st.st_mtime_ns, st.st_size]


def refresh_summary(paths: DraftPaths) -> DraftInfo:
    """The draft's line in the list, parsed once per change of the draft (a hand edit included: the
    list notices a new size or time and summarises that draft again)."""
    signature = _signature(paths)
    try:
        data = read_draft(paths)
        info = DraftInfo(
            article=paths.stem,
            doc=paths.doc,
            title=str(data.get("title", ""))[:200],
            principles=len(data["principles"]),
            open_items=_open_items(data),
            edited=is_edited(paths),
        )
    except DraftInvalidError as exc:
        info = DraftInfo(article=paths.stem, doc=paths.doc, principles=0, open_items=0, edited=True,
                         problem=exc.message)  # fmt: skip
    body = {"signature": signature, "info": info.model_dump(mode="json")}
    write_atomic(paths.summary, json.dumps(body, ensure_ascii=False).encode())
    return info


def _listed(paths: DraftPaths) -> DraftInfo:
    try:
        saved = json.loads(paths.summary.read_text(encoding="utf-8"))
        if saved["signature"] == _signature(paths):
            info = DraftInfo.model_validate(saved["info"])
        else:
            info = refresh_summary(paths)
    except (OSError, ValueError, KeyError, TypeError, ValidationError):
        info = refresh_summary(paths)
    job = paths.publishing.read_text(encoding="utf-8").strip() if paths.publishing.exists() else None
    return info.model_copy(update={"status": "publishing" if job else "pending", "job": job})


def list_drafts(root: Path) -> DraftList:
    """Every pending draft from its summary (a small JSON file each), not by parsing the drafts."""
    _migrated(root)
    out = [_listed(DraftPaths(root, s)) for s in _draft_stems(root) if DraftPaths(root, s).exists()]
    return DraftList(drafts=out)


def accept_draft(
    root: Path, article: str, changes: Changes | None = None, limits: Limits | None = None
) -> DraftInfo:
    """Validate the draft against the published corpus and publish it: its text into corpus/raw, the
    draft into corpus/principles, the original file into corpus/sources; the draft folder goes."""
    limits = limits or Limits()
    with _lock(root, limits, f"`kb accept` of {article}"):
        paths = draft_paths(root, article)
        ch = changes or Changes(root)
        where = f"drafts/{paths.stem}"
        for target in (paths.principles, paths.raw):
            if target.exists():
                raise CorpusError(
                    f"{target.relative_to(root)} exists: an accepted article is edited there, "
                    "never overwritten"
                )
        body = paths.draft.read_bytes()
        data = read_draft(paths)
        text = paths.text.read_text(encoding="utf-8")
        check_draft(root, data, text, where, limits.max_principles)
        info = DraftInfo(
            article=paths.stem, doc=paths.doc, title=str(data.get("title", "")),
            principles=len(data["principles"]), open_items=_open_items(data), edited=is_edited(paths),
        )  # fmt: skip
        # the text first: a principles file naming a missing raw file would break every load meanwhile
        ch.write(paths.raw, paths.text.read_bytes())
        for original in paths.originals():
            ch.write(paths.published_source(original), original.read_bytes())
        ch.write(paths.principles, body)
        for f in sorted(paths.dir.iterdir()):
            ch.unlink(f)
        paths.dir.rmdir()
        return info


_LINK_LINE = re.compile(r"^(\s*(?:related|fixed_by):\s*)\[(.*)\]\s*$")


def _mend_links(text: str, gone: set[str]) -> tuple[str, list[str]]:
    """Links (`related: [a, b]`, `fixed_by: [...]`) to the removed principles taken out of a principles
    file, line by line so that the rest of the file stays as its curator wrote it."""
    out, cut = [], []
    current = ""
    for line in text.splitlines(keepends=True):
        if m := re.match(r"^\s*-\s*id:\s*(\S+)", line):
            current = m.group(1)
        m = _LINK_LINE.match(line.rstrip("\n"))
        if m is None:
            out.append(line)
            continue
        ids = [i.strip() for i in m.group(2).split(",") if i.strip()]
        kept = [i for i in ids if i not in gone]
        field = m.group(1).strip().rstrip(":")
        cut += [f"{current}.{field} -> {i}" for i in ids if i in gone]
        if kept == ids:
            out.append(line)
        elif kept:
            out.append(f"{m.group(1)}[{', '.join(kept)}]\n")
    return "".join(out), cut


def _cut_phrasings(text: str, gone: set[str]) -> tuple[str, list[str]]:
    """Top-level entries of a phrasings file naming a removed principle, taken out with their lists."""
    out, cut, skipping = [], [], False
    for line in text.splitlines(keepends=True):
        if line.strip() and line[0] not in " \t#-":  # a top-level key: a principle id
            key = line.split(":", 1)[0].strip().strip("'\"")
            skipping = key in gone
            if skipping:
                cut.append(key)
        if not skipping:
            out.append(line)
    return "".join(out), cut


def remove_article(
    root: Path, article: str, changes: Changes | None = None, limits: Limits | None = None
) -> RemoveReport:
    """Take an article out and leave a corpus that builds: its raw text, principles, original file and
    draft go, and so do the phrasings of its principles, the links other principles make to them and the
    labelled requests naming it, each listed. What cannot be mended is refused before anything changes."""
    limits = limits or Limits()
    with _lock(root, limits, f"`kb remove` of {article}"):
        migrate_drafts(root)
        doc = resolve_article(root, article)
        paths = DraftPaths(root, article_stem(doc))
        if paths.publishing.exists():
            job = paths.publishing.read_text(encoding="utf-8").strip()
            raise BusyError(f"{doc} is being published by job {job}; remove it once the job is done")
        ch = changes or Changes(root)
        report = RemoveReport(article=paths.stem, doc=doc)
        mine = _published_files(root, doc)
        gone_ids: set[str] = set()
        for path in mine:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            gone_ids |= {str(p.get("id")) for p in data.get("principles") or [] if isinstance(p, dict)}
        # plan every edit first, check it mends everything, then write
        plan: dict[Path, bytes] = {}
        for path in sorted((root / "principles").glob("*.yaml")):
            if path in mine:
                continue
            mended, cut = _mend_links(path.read_text(encoding="utf-8"), gone_ids)
            left = _links(yaml.safe_load(mended) or {}) & gone_ids
            if left:
                raise CorpusError(
                    f"principles/{path.name} links to {sorted(left)} in a form `kb remove` cannot edit; "
                    "remove those links by hand, then `kb remove` again (nothing was changed)"
                )
            if cut:
                plan[path] = mended.encode("utf-8")
                report.links += [f"principles/{path.name}: {c}" for c in cut]
        for path in sorted((root / "phrasings").glob("*.yaml")):
            kept, cut = _cut_phrasings(path.read_text(encoding="utf-8"), gone_ids)
            data = yaml.safe_load(kept)
            if data is not None and (not isinstance(data, dict) or set(data) & gone_ids):
                raise CorpusError(
                    f"phrasings/{path.name} names {sorted(gone_ids & set(data or {}))} in a form `kb remove` "
                    "cannot edit; remove those entries by hand (nothing was changed)"
                )
            if cut:
                plan[path] = kept.encode("utf-8")
                report.phrasings += [f"phrasings/{path.name}: {c}" for c in cut]
        for path in sorted((root / "calibration").glob("*.jsonl")):
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            kept_lines = [ln for ln in lines if not ln.strip() or json.loads(ln).get("doc") != doc]
            if len(kept_lines) != len(lines):
                plan[path] = "".join(kept_lines).encode("utf-8")
                report.labelled.append(f"calibration/{path.name}: {len(lines) - len(kept_lines)} requests")
        targets = [paths.raw, *mine, *sorted((root / SOURCES_DIR).glob(f"{paths.stem}.*"))]
        if paths.dir.is_dir():
            targets += sorted(paths.dir.iterdir())
        for path, data in plan.items():
            if path.parent.name == "phrasings" and not yaml.safe_load(data):
                ch.unlink(path)  # nothing left in it
            else:
                ch.write(path, data)
        for path in targets:
            if path.exists():
                ch.unlink(path)
                report.removed.append(path.relative_to(root).as_posix())
        if paths.dir.is_dir() and not any(paths.dir.iterdir()):
            paths.dir.rmdir()
        drafts = root / DRAFTS_DIR
        if drafts.is_dir() and not any(drafts.iterdir()):
            drafts.rmdir()  # the corpus as it was before the first `kb add`
        return report


def _links(data: Any) -> set[str]:
    out: set[str] = set()
    for p in data.get("principles") or [] if isinstance(data, dict) else []:
        if isinstance(p, dict):
            for key in ("related", "fixed_by"):
                out |= {str(i) for i in p.get(key) or []}
    return out
