"""Publish jobs from the HTTP edge: accept a draft or remove an article, rebuild the index, swap the new
index into the running KnowledgeBase. A client polls `GET /admin/jobs/{id}`.

The work runs in a child process (service/curation/worker.py), so the serving process never imports torch
and a crash of either side is survivable: each job is a JSON file under KB_DATA_DIR/jobs that the child
updates itself (any serving process can read it), and every file the job changes in the corpus is backed
up first. A job whose processes are gone is reported `interrupted`, its changes undone so that the index
on disk serves the corpus again (a restart is never refused over it), and `retry` starts it again.
One job per article at a time: a second accept of the same draft is refused with 409.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from service.curation.locks import corpus_lock
from service.curation.models import Job
from service.curation.store import (
    DraftPaths,
    article_stem,
    draft_paths,
    resolve_article,
    undo_changes,
    write_atomic,
)
from service.errors import BusyError, InputError, KBError, NotFoundError
from service.index import Manifest, is_fresh
from service.kb import KnowledgeBase
from service.settings import Settings

__all__ = ["BOOT_ID", "JobStore", "Publisher", "recover_jobs"]

log = logging.getLogger("kb")

# this serving process: a job started by another (a restart, another worker) is watched by that one
BOOT_ID = uuid.uuid4().hex[:12]
ACTIVE = ("queued", "running", "built")
Kind = Literal["accept", "remove"]


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet waited for) has done its work
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


class JobStore:
    """The job records: one JSON file each, written atomically, under `data_dir/jobs`."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "jobs"

    def path(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.json"

    def backup(self, job_id: str) -> Path:
        """Where the job backs up each corpus file before changing it."""
        return self.dir / job_id

    def settings_file(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.settings.json"

    def save(self, job: Job) -> Job:
        job = job.model_copy(update={"updated": time.time()})
        write_atomic(self.path(job.id), job.model_dump_json(indent=1).encode())
        return job

    def update(self, job_id: str, **changes: object) -> Job:
        return self.save(self.load(job_id).model_copy(update=changes))

    def load(self, job_id: str) -> Job:
        if not job_id.isalnum() or len(job_id) > 32:
            raise NotFoundError(f"no job {job_id!r}")
        try:
            return Job.model_validate_json(self.path(job_id).read_bytes())
        except FileNotFoundError as exc:
            raise NotFoundError(f"no job {job_id!r}") from exc
        except (OSError, ValidationError) as exc:
            raise InputError(f"job {job_id}: its record is unreadable ({exc.__class__.__name__})") from exc

    def all(self) -> list[Job]:
        out = []
        for path in sorted(self.dir.glob("*.json")):
            if path.name.endswith(".settings.json"):
                continue
            try:
                out.append(Job.model_validate_json(path.read_bytes()))
            except (OSError, ValidationError):
                continue
        return sorted(out, key=lambda j: j.created)


def _orphaned(job: Job) -> bool:
    """Active on paper, but no process is left to finish it or to notice that it ended."""
    if job.state not in ACTIVE:
        return False
    server_gone = job.boot_id != BOOT_ID and not (job.server_pid != os.getpid() and _alive(job.server_pid))
    if job.state == "built":  # the child's work is done (it may still be exiting): only a reload was left
        return server_gone
    return server_gone and not _alive(job.pid)


def _settle(store: JobStore, job: Job, settings: Settings, why: str) -> Job:
    """A job whose child died without finishing: undo its changes (unless its build finished and the
    index on disk serves the corpus as changed), so the index serves the corpus again; `interrupted`."""
    root = settings.corpus_dir
    backup = store.backup(job.id)
    if job.state == "built":  # a serving process loads the index on disk, which is this job's
        shutil.rmtree(backup, ignore_errors=True)
        message = f"{why}; its build had finished: serving it"
        return store.save(
            job.model_copy(update={"state": "done", "step": "", "pid": None, "message": message})
        )
    try:
        with corpus_lock(root, timeout=0, what=f"recovering job {job.id}"):
            changed = (backup / "changes.json").exists()
            if changed and is_fresh(settings.index_dir, root, settings.model):
                message = f"{why}; its build had finished: serving it"
                done = job.model_copy(update={"state": "done", "step": "", "pid": None, "message": message})
                shutil.rmtree(backup, ignore_errors=True)
                return store.save(done)
            undone = undo_changes(root, backup) if changed else []
            DraftPaths(root, job.article).publishing.unlink(missing_ok=True)
            shutil.rmtree(backup, ignore_errors=True)
    except BusyError:
        return job  # someone holds the corpus (the child itself, still finishing?): look again later
    fresh = is_fresh(settings.index_dir, root, settings.model)
    message = (
        f"{why}; "
        + (
            f"the corpus was put back as it was ({len(undone)} files); "
            if undone
            else "nothing was changed; "
        )
        + ("retry it" if fresh else "the index is stale for another reason: run `kb build`, then retry")
    )
    log.error("job %s (%s %s) interrupted: %s", job.id, job.kind, job.article, message)
    return store.save(
        job.model_copy(update={"state": "interrupted", "step": "", "pid": None, "message": message})
    )


def recover_jobs(settings: Settings) -> list[Job]:
    """At start-up, before the index is loaded: every job left active by processes that are gone is
    settled, so that a publish killed half-way never stops the server from starting."""
    store = JobStore(settings.data_dir)
    for j in store.all():
        if j.state in ACTIVE and j.boot_id != BOOT_ID and _alive(j.pid):
            # the server died, its child did not: let it finish (it holds the corpus lock) and settle then
            log.warning("waiting for job %s (process %s) to finish before loading the index", j.id, j.pid)
            with corpus_lock(settings.corpus_dir, settings.build_lock_timeout, what="`kb serve` starting"):
                pass
    return [_settle(store, j, settings, "its processes ended (a crash or a restart)") for j in store.all()
            if _orphaned(j)]  # fmt: skip


class Publisher:
    """Starts and watches publish jobs for one KnowledgeBase. `command` runs the child (tests give one
    with a fake embedder); the job file and the settings file are appended to it."""

    def __init__(
        self,
        kb: KnowledgeBase,
        command: Sequence[str] | None = None,
        reload: Callable[[], Manifest] | None = None,
    ) -> None:
        self.kb = kb
        self.command = list(command or [sys.executable, "-m", "service.curation.worker"])
        # how a finished job's index is swapped in: every worker of `kb serve --workers` (the app's
        # reload_everywhere), this KnowledgeBase alone by default
        self.reload = reload or kb.reload
        self.store = JobStore(kb.settings.data_dir)
        self._lock = threading.Lock()

    def start(self, article: str, kind: Kind = "accept", retry_of: str | None = None) -> Job:
        root = self.kb.settings.corpus_dir
        with self._lock:
            if kind == "accept":
                stem = draft_paths(root, article).stem  # 404 now rather than in the job
            else:
                stem = article_stem(resolve_article(root, article))
            for other in self.store.all():
                if other.article == stem and other.state in ACTIVE and not _orphaned(other):
                    doing = "publishing" if other.kind == "accept" else "removing"
                    raise BusyError(
                        f"job {other.id} is {doing} {stem} already; a second job cannot help: "
                        f"wait for it (GET /admin/jobs/{other.id})"
                    )
            now = time.time()
            job = self.store.save(
                Job(id=uuid.uuid4().hex[:12], kind=kind, article=stem, state="queued", created=now,
                    boot_id=BOOT_ID, server_pid=os.getpid(), retry_of=retry_of)
            )  # fmt: skip
            if kind == "accept":
                write_atomic(DraftPaths(root, stem).publishing, job.id.encode())
            settings = self.kb.settings.model_dump_json(exclude={"api_keys"})
            write_atomic(self.store.settings_file(job.id), settings.encode())
        threading.Thread(target=self._run, args=(job.id,), daemon=True, name=f"kb-job-{job.id}").start()
        return job

    def retry(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.state not in ("failed", "interrupted"):
            raise BusyError(f"job {job_id} is {job.state}: only a failed or interrupted job is retried")
        return self.start(job.article, job.kind, retry_of=job.id)

    def get(self, job_id: str) -> Job:
        job = self.store.load(job_id)
        if _orphaned(job):
            job = _settle(self.store, job, self.kb.settings, "its processes ended (a crash or a restart)")
        return job

    def _run(self, job_id: str) -> None:
        settings = self.kb.settings
        cmd = [*self.command, str(self.store.path(job_id)), str(self.store.settings_file(job_id))]
        try:
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
            job = self.store.load(job_id)
            if job.state == "built":
                self.store.update(job_id, step="reloading")
                try:
                    manifest = self.reload()
                except KBError as exc:
                    raise KBError(f"published and built, but the reload failed: {exc.message}") from exc
                done = "published" if job.kind == "accept" else "removed"
                self.store.update(job_id, state="done", step="", pid=None, message=f"{done} and serving",
                                  index=manifest.summary())  # fmt: skip
                shutil.rmtree(self.store.backup(job_id), ignore_errors=True)
            elif job.state in ("queued", "running"):
                tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
                why = f"its process ended with status {proc.returncode} {tail[0]}".strip()
                _settle(self.store, job, settings, why)
            else:
                log.error("job %s (%s %s) failed: %s", job_id, job.kind, job.article, job.message)
        except KBError as exc:
            self._fail(job_id, exc.message)
        except Exception as exc:  # a job thread must record every failure, not die silently
            self._fail(job_id, f"{type(exc).__name__}: {exc}")
        finally:
            self.store.settings_file(job_id).unlink(missing_ok=True)
            job = self.store.load(job_id)
            if job.state != "done":
                DraftPaths(settings.corpus_dir, job.article).publishing.unlink(missing_ok=True)

    def _fail(self, job_id: str, message: str) -> None:
        log.error("job %s failed: %s", job_id, message)
        self.store.update(job_id, state="failed", step="", pid=None, message=message)
