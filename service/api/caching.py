"""Browsing routes that clients may cache: an ETag from the index being served, 304 on If-None-Match,
Cache-Control, and a 422 for a query parameter the route does not take (a typo such as `?limt=2` would
otherwise be answered as if it were not there).

`CachedRoute` is a `GuardedRoute` (service/api/access.py) whose inner handler does these checks, so the
key is checked first, then the parameters, then the route runs and its answer is compared with the
client's copy. The ETag changes with the corpus, the build and the server's version: everything a
browsing answer depends on.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from service import __version__
from service.api.access import GuardedRoute
from service.api.errors import render
from service.errors import InputError
from service.index import Manifest

__all__ = ["CachedRoute", "cache_control", "cached_router", "etag_of"]


def etag_of(manifest: Manifest) -> str:
    stamp = "".join(c for c in manifest.built_at if c.isdigit())
    return f'"{manifest.corpus_sha256[:16]}-{stamp}-{__version__}"'


def _matches(if_none_match: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route reads: its own and its dependencies', a model's fields by alias."""
    names: set[str] = set()
    for param in dependant.query_params:
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= {f.alias or n for n, f in annotation.model_fields.items()}
        else:
            names.add(param.alias)
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


class _Cached(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        allowed = frozenset(_query_names(self.dependant))

        async def cached(request: Request) -> Response:
            unknown = sorted(set(request.query_params) - allowed)
            if unknown:
                takes = ", ".join(sorted(allowed)) or "none"
                message = f"{', '.join(unknown)}: unknown query parameter; this route takes: {takes}"
                return render(InputError.code, message)
            response = await handler(request)
            if response.status_code != 200:
                return response
            etag = etag_of(request.app.state.kb.index.manifest)
            headers = {"ETag": etag, "Cache-Control": request.app.state.cache_control}
            if _matches(request.headers.get("if-none-match", ""), etag):
                return Response(status_code=304, headers=headers)
            response.headers.update(headers)
            return response

        return cached


class CachedRoute(GuardedRoute, _Cached):
    """Checked like every KEY route first (GuardedRoute wraps _Cached's handler), then cached."""


def cached_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=CachedRoute, **kwargs)


def cache_control(max_age: int, private: bool) -> str:
    """`private` when the routes need a key: a shared cache must not hand one client's answer to another."""
    return f"{'private' if private else 'public'}, max-age={max_age}"
