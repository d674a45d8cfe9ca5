"""The web UI (issue 16): one page shell and our own unminified scripts and styles from service/web/,
served open like /health. They hold no data: every answer comes from the JSON API, which the scripts call
with the key as a bearer header (asked for once, on the first 401), so a key never enters a URL or a log."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from service.api.access import Access
from service.api.access import router as make_router

__all__ = ["ASSETS", "assets", "open_router"]

# where the UI's scripts and styles are served from (the app mounts `assets()` there)
ASSETS = "/ui"
_STATIC = Path(str(files("service") / "web" / "static"))

open_router = make_router(Access.OPEN, tags=["web"])


def assets() -> StaticFiles:
    return StaticFiles(directory=_STATIC)


@open_router.get("/", include_in_schema=False)
def index() -> FileResponse:
    """The UI's page shell: the pages themselves are drawn by its scripts from the API's answers."""
    # no-cache: a new release's shell (and so its script versions) is picked up at once
    return FileResponse(_STATIC / "index.html", headers={"Cache-Control": "no-cache"})
