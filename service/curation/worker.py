"""The child process of a publish job: `python -m service.curation.worker JOB_FILE SETTINGS_FILE`.

It holds the corpus lock throughout, backs up every corpus file before changing it, publishes (or removes),
builds the index incrementally (torch loads here, never in the server), and writes its own progress and
outcome into the job file, so the record stays honest if the server dies meanwhile. On a failure it puts
the corpus back as it was: a failed job leaves the draft to fix and the index serving.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from service.curation.jobs import JobStore
from service.curation.locks import corpus_lock
from service.curation.store import Changes, Limits, accept_draft, remove_article, undo_changes
from service.embedder import Embedder
from service.errors import KBError
from service.index import is_fresh
from service.settings import Settings

__all__ = ["main", "run_job"]

log = logging.getLogger("kb")


def run_job(job_file: Path, settings: Settings, embedder: Embedder | None = None) -> bool:
    """Do the job; True when it is built (the server then reloads)."""
    from service.build.pipeline import build

    store = JobStore(job_file.parent.parent)
    job = store.load(job_file.stem)
    root = settings.corpus_dir
    backup = store.backup(job.id)
    store.update(job.id, state="queued", pid=os.getpid(), step="waiting for the corpus lock")
    try:
        with corpus_lock(
            root, timeout=settings.build_lock_timeout, what=f"{job.kind} job {job.id} ({job.article})"
        ):
            changes = Changes(root, backup)
            limits = Limits.of(settings)
            try:
                if job.kind == "accept":
                    store.update(job.id, state="running", step="checking and publishing the draft")
                    accept_draft(root, job.article, changes, limits)
                else:
                    store.update(job.id, state="running", step="removing the article and mending links")
                    store.update(job.id, removed=remove_article(root, job.article, changes, limits))
                if is_fresh(settings.index_dir, root, settings.model):
                    store.update(job.id, step="the index already serves this corpus")
                else:
                    store.update(job.id, step="building the index (incremental)")
                    manifest = build(settings, embedder, retrain=False)
                    store.update(job.id, index=manifest.summary())
            except BaseException:
                undo_changes(root, backup)
                raise
            # still holding the lock: a server starting meanwhile waits for it, then finds the job built
            store.update(job.id, state="built", step="reloading")
        return True
    except KBError as exc:
        message = exc.message
    except Exception as exc:  # recorded and logged like any failure, never lost with the process
        message = f"{type(exc).__name__}: {exc}"
    log.error("job %s (%s %s) failed: %s", job.id, job.kind, job.article, message)
    store.update(job.id, state="failed", step="", pid=None, message=f"{message}; nothing was changed")
    return False


def main(argv: list[str] | None = None, embedder: Embedder | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s", stream=sys.stderr)
    job_file, settings_file = Path(args[0]), Path(args[1])
    settings = Settings.model_validate_json(settings_file.read_bytes())
    return 0 if run_job(job_file, settings, embedder) else 1


if __name__ == "__main__":
    sys.exit(main())
