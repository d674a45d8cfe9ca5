"""One router per concern; each router's route class says who may call its routes (service/api/access.py)."""

from service.api.routers import admin, assistants, browse, dify, meta, openai_compat, query

__all__ = ["admin", "assistants", "browse", "dify", "meta", "openai_compat", "query"]
