"""The curators' actions on a logged question that change the corpus: a phrasing of a principle
(corpus/phrasings/log.yaml) and an in/out-of-scope label for the confidence model
(corpus/calibration/log.jsonl). Both are plain files reviewed in git like any corpus edit; neither
changes what is served until the next `kb build`, which reads them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from service.confidence import CALIBRATION_DIR
from service.corpus import PHRASINGS_DIR, LoggedPhrasing
from service.curation.locks import corpus_lock
from service.files import write_atomic
from service.store.models import PhrasingAdded, ScopeLabelled

__all__ = ["LOG_CALIBRATION", "LOG_PHRASINGS", "add_phrasing", "label_scope"]

LOG_PHRASINGS = f"{PHRASINGS_DIR}/log.yaml"
LOG_CALIBRATION = f"{CALIBRATION_DIR}/log.jsonl"


def add_phrasing(
    corpus_dir: Path, principle_id: str, text: str, request_id: str, by: str | None
) -> PhrasingAdded:
    """Add `text` as a phrasing of `principle_id`, marked with the request it came from and today's date."""
    path = corpus_dir / LOG_PHRASINGS
    with corpus_lock(corpus_dir):
        data: dict[str, list[Any]] = {}
        if path.exists():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = data.setdefault(principle_id, [])
        texts = {e if isinstance(e, str) else e.get("text") for e in entries}
        added = text not in texts
        if added:
            entry = LoggedPhrasing(
                text=text, source=f"query-log {request_id}", added=datetime.now(UTC).date(), by=by
            )
            entries.append(entry.model_dump(exclude_none=True))
            body = yaml.safe_dump(dict(sorted(data.items())), allow_unicode=True, sort_keys=False, width=1000)
            header = (
                "# phrasings added from the query log (kb log phrasing); reviewed in git like the others\n"
            )
            write_atomic(path, (header + body).encode())
    return PhrasingAdded(file=LOG_PHRASINGS, principle_id=principle_id, text=text, added=added)


def label_scope(
    corpus_dir: Path, mode: str, text: str, in_scope: bool, request_id: str, by: str | None
) -> ScopeLabelled:
    """Label a logged request in or out of scope for the confidence model; labelling it again replaces
    the label. One JSON line per request, the format of corpus/calibration/*.jsonl."""
    path = corpus_dir / LOG_CALIBRATION
    label_id = f"log-{request_id}"
    record = {
        "id": label_id,
        "mode": mode,
        "text": text,
        "in_scope": in_scope,
        "kind": "log",
        "source": f"query-log {request_id}",
        "added": datetime.now(UTC).date().isoformat(),
        **({"by": by} if by else {}),
    }
    with corpus_lock(corpus_dir):
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        kept = [line for line in lines if line.strip() and json.loads(line).get("id") != label_id]
        kept.append(json.dumps(record, ensure_ascii=False))
        write_atomic(path, ("\n".join(kept) + "\n").encode())
    return ScopeLabelled(file=LOG_CALIBRATION, id=label_id, mode=mode, text=text, in_scope=in_scope)
