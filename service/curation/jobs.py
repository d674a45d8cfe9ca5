"""Accepting a draft from the HTTP edge: validate and publish it, rebuild the index incrementally, and
swap the new index into the running KnowledgeBase, in a background thread whose progress a client
polls (`GET /admin/jobs/{id}`). Jobs run one at a time (the corpus lock); the last 100 are kept."""

from __future__ import annotations

import functools
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable

from service.curation.models import AcceptJob
from service.curation.store import accept_draft, resolve_article
from service.errors import KBError, NotFoundError
from service.index import Manifest
from service.kb import KnowledgeBase, build
from service.settings import Settings

__all__ = ["Publisher"]


class Publisher:
    def __init__(
        self,
        kb: KnowledgeBase,
        builder: Callable[[Settings], Manifest] | None = None,
    ) -> None:
        self.kb = kb
        # incremental by default: cached vectors and the latest adapted encoder
        self._build = builder or functools.partial(build, retrain=False)
        self._jobs: OrderedDict[str, AcceptJob] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, article: str) -> AcceptJob:
        doc = resolve_article(self.kb.settings.corpus_dir, article)  # 404 now rather than in the job
        if not (self.kb.settings.corpus_dir / "drafts" / f"{doc.removesuffix('.txt')}.yaml").exists():
            raise NotFoundError(f"no draft for {doc} in corpus/drafts")
        job = AcceptJob(id=uuid.uuid4().hex[:12], article=doc.removesuffix(".txt"), state="queued")
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > 100:
                self._jobs.popitem(last=False)
        threading.Thread(target=self._run, args=(job.id, article), daemon=True, name="kb-accept").start()
        return job.model_copy()

    def get(self, job_id: str) -> AcceptJob:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NotFoundError(f"no job {job_id!r}")
            return job.model_copy()

    def _set(self, job_id: str, **changes: object) -> None:
        with self._lock:
            self._jobs[job_id] = self._jobs[job_id].model_copy(update=changes)

    def _run(self, job_id: str, article: str) -> None:
        settings = self.kb.settings
        try:
            self._set(job_id, state="running", step="checking and publishing the draft")
            accept_draft(settings.corpus_dir, article)
            self._set(job_id, step="building the index (incremental)")
            self._build(settings)  # incremental: builder reuses cached vectors and the adapted encoder
            self._set(job_id, step="reloading")
            manifest = self.kb.reload()
            self._set(
                job_id, state="done", step="", message="published and serving", index=manifest.summary()
            )
        except KBError as exc:
            self._set(job_id, state="failed", message=exc.message)
        except Exception as exc:  # a job thread must record every failure, not die silently
            self._set(job_id, state="failed", message=f"{type(exc).__name__}: {exc}")
