"""Exceptions raised by the core. Only the edges (HTTP, CLI, MCP) map them to status or exit codes.

KBError                      code, message
├── InputError               a request the caller can fix                -> 422
│   └── UnknownTypeError     a type name outside the vocabulary          -> 422
├── NotFoundError            an unknown principle id                     -> 404
├── AuthError                missing or wrong API key                    -> 401
├── CorpusError              a curated file is invalid (quote not found, ambiguous, bad field)
└── IndexError_              the index is missing, stale, corrupt or built for another model
    └── IndexStaleError      the index was built from another corpus or model: run `kb build`
"""

from __future__ import annotations


class KBError(Exception):
    """Base of every error the core raises on purpose; `code` is stable, `message` is for people."""

    code = "kb_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InputError(KBError):
    code = "invalid_input"


class UnknownTypeError(InputError):
    code = "unknown_type"


class NotFoundError(KBError):
    code = "not_found"


class AuthError(KBError):
    code = "unauthorized"


class CorpusError(KBError):
    code = "corpus_invalid"


class IndexError_(KBError):
    code = "index_invalid"


class IndexStaleError(IndexError_):
    code = "index_stale"
