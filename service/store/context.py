"""CallContext: who is calling and through which edge, passed by each edge to the core with the request.

The core records one event per call from it (service/kb.py); the edges only say where the call came
from. The caller's key is known by its name only: the key itself never reaches the core.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["CallContext", "Surface", "new_request_id"]

Surface = Literal["http", "mcp", "cli", "tools"]


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class CallContext:
    surface: Surface
    key_name: str | None = None
    # the HTTP edge passes the access log's id (X-Request-ID); other edges get a fresh one
    request_id: str = field(default_factory=new_request_id)
