"""One router per concern; each router's route class says who may call its routes (service/api/access.py)."""

from service.api.routers import (
    admin,
    assistants,
    browse,
    curation,
    dify,
    documents,
    meta,
    openai_compat,
    query,
    web,
)

__all__ = [
    "admin",
    "assistants",
    "browse",
    "curation",
    "dify",
    "documents",
    "meta",
    "openai_compat",
    "query",
    "web",
]
