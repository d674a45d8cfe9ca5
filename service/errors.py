"""Exceptions raised by the core, and the one table that says what each code means at each edge.

KBError                      code, message
├── InputError               a request the caller can fix                -> 422, exit 2
│   ├── UnknownTypeError     a type name outside the vocabulary          -> 422, exit 2
│   ├── UnknownDocumentError a document (short id or file name) the index lacks -> 422, exit 2
│   ├── DuplicateError       `kb add` of an article already in the corpus -> 409, exit 2
│   ├── TooLargeError        over a documented limit (article size, principles per draft) -> 413, exit 2
│   └── DraftInvalidError    a draft file a person broke (YAML, a field) -> 422, exit 2
├── DraftLimitError          KB_MAX_DRAFTS drafts pending already       -> 409, exit 1
├── NotFoundError            an unknown principle id                     -> 404, exit 2
│   ├── UnknownKnowledgeError a Dify knowledge_id that names no scope   -> 404
│   └── UnknownModelError    an OpenAI-compatible model name we do not serve -> 404
│   └── UnknownRequestError  a request id the query log has no response for -> 404, exit 2
├── BusyError                another build or corpus write holds the lock -> 409, exit 1
├── CorpusError              a curated file is invalid (quote not found, ambiguous, bad field)
├── IndexError_              the index is missing, stale, corrupt or built for another model -> 503
│   └── IndexStaleError      the index was built from another corpus or model: run `kb build`
├── BuildBusyError           another `kb build` holds the index folder's lock            -> exit 1
└── StoreError               the query log's database cannot be opened or is switched off -> 503, exit 1

The HTTP edge, the CLI and the HTTP client all read `EDGE_CODES` (status and exit code by error code),
render bodies with `error_body` and describe pydantic validation errors with `describe_validation`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import NamedTuple, cast

__all__ = [
    "EDGE_CODES",
    "BuildBusyError",
    "BusyError",
    "CorpusError",
    "DraftInvalidError",
    "DraftLimitError",
    "DuplicateError",
    "Edge",
    "IndexError_",
    "IndexStaleError",
    "InputError",
    "KBError",
    "NotFoundError",
    "StoreError",
    "TooLargeError",
    "UnknownDocumentError",
    "UnknownKnowledgeError",
    "UnknownModelError",
    "UnknownRequestError",
    "UnknownTypeError",
    "code_for_status",
    "describe_validation",
    "edge",
    "error_body",
]


class KBError(Exception):
    """Base of every error the core raises on purpose; `code` is stable, `message` is for people."""

    code = "kb_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(KBError):
    code = "invalid_input"


class UnknownTypeError(InputError):
    code = "unknown_type"


class DuplicateError(InputError):
    code = "duplicate"


class BusyError(KBError):
    """`retry_after`: seconds after which asking again may succeed (the HTTP edge's Retry-After); None
    when retrying cannot help (the draft is being published by a job already)."""

    code = "busy"

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnknownDocumentError(InputError):
    code = "unknown_document"


class NotFoundError(KBError):
    code = "not_found"


class UnknownKnowledgeError(NotFoundError):
    code = "unknown_knowledge"


class UnknownModelError(NotFoundError):
    code = "model_not_found"


class TooLargeError(InputError):
    """Over a documented limit: an article's size, a draft's principles."""

    code = "too_large"


class DraftLimitError(KBError):
    """As many drafts pending as KB_MAX_DRAFTS allows: accept or remove one first."""

    code = "too_many_drafts"


class DraftInvalidError(InputError):
    """A draft file a person broke (YAML syntax, a wrong field): named, never a 500."""

    code = "draft_invalid"


class UnknownRequestError(NotFoundError):
    code = "unknown_request"


class CorpusError(KBError):
    code = "corpus_invalid"


class IndexError_(KBError):
    code = "index_invalid"


class IndexStaleError(IndexError_):
    code = "index_stale"


class BuildBusyError(KBError):
    code = "build_busy"


class StoreError(KBError):
    code = "store_unavailable"


class Edge(NamedTuple):
    status: int  # HTTP
    exit: int  # CLI: 0 success, 1 failure, 2 bad input, 3 no answer


# every error code any edge emits: the core's and the HTTP layer's own
EDGE_CODES: Mapping[str, Edge] = {
    InputError.code: Edge(422, 2),
    UnknownTypeError.code: Edge(422, 2),
    UnknownDocumentError.code: Edge(422, 2),
    NotFoundError.code: Edge(404, 2),
    UnknownKnowledgeError.code: Edge(404, 2),
    UnknownModelError.code: Edge(404, 2),
    UnknownRequestError.code: Edge(404, 2),
    DuplicateError.code: Edge(409, 2),
    BusyError.code: Edge(409, 1),
    DraftLimitError.code: Edge(409, 1),
    DraftInvalidError.code: Edge(422, 2),
    CorpusError.code: Edge(500, 1),
    IndexError_.code: Edge(503, 1),
    IndexStaleError.code: Edge(503, 1),
    BuildBusyError.code: Edge(503, 1),
    StoreError.code: Edge(503, 1),
    KBError.code: Edge(500, 1),
    "bad_request": Edge(400, 2),
    "bad_host": Edge(400, 2),
    "unauthorized": Edge(401, 2),
    "forbidden": Edge(403, 2),
    "method_not_allowed": Edge(405, 2),
    "too_large": Edge(413, 2),
    "unsupported_media_type": Edge(415, 2),
    "internal_error": Edge(500, 1),
    "timeout": Edge(504, 1),
    "overloaded": Edge(503, 1),
    # the HTTP client's own: nothing was sent (a bad --url or key), nothing answered, something else did
    "bad_url": Edge(0, 2),
    "bad_key": Edge(0, 2),
    "unreachable": Edge(0, 1),
    "bad_response": Edge(0, 1),
}
# the codes of statuses the web framework raises itself (an unknown path, a wrong method, a bad body)
_FRAMEWORK = {EDGE_CODES[c].status: c for c in ("bad_request", "not_found", "method_not_allowed")}


def edge(code: str, status: int | None = None) -> Edge:
    """Status and exit code of an error code; an unknown code (from a newer server) goes by `status`."""
    if code in EDGE_CODES:
        return EDGE_CODES[code]
    status = status or 500
    return Edge(status, 2 if 400 <= status < 500 else 1)


def code_for_status(status: int) -> str:
    """The error code of an HTTP status raised by the framework itself (a 404 path, a 405 method)."""
    return _FRAMEWORK.get(status, "http_error")


def error_body(code: str, message: str) -> bytes:
    """`{"error": {"code", "message"}}`: the one shape of every error, from every route."""
    body = {"error": {"code": code, "message": message}}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def describe_validation(errors: Sequence[Mapping[str, object]], prefix: str = "") -> str:
    """pydantic errors as "field: message; …" (the first five), the field path without "body"."""
    parts = []
    for err in errors[:5]:
        loc = [str(x) for x in cast(Sequence[object], err.get("loc", ())) if x != "body"]
        field = prefix + (".".join(loc) or "body")
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{field}: {msg}")
    return "; ".join(parts)
