"""Links into the web UI (service/web/static/): its hash routes, as app.js and dom.js's `articleHref`
read them, so a Dify record or a chat reply opens the article with the cited span highlighted."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from service.models import Source

__all__ = ["article_link", "principle_link"]


def article_link(base: str, source: Source, principle_id: str) -> str:
    """`#/article/{doc}?p=…&start=…&end=…`: the article page, scrolled to the span and highlighting it."""
    params = urlencode({"p": principle_id, "start": source.start, "end": source.end})
    return f"{base.rstrip('/')}/#/article/{quote(source.doc, safe='')}?{params}"


def principle_link(base: str, principle_id: str) -> str:
    """`#/principle/{id}`: the principle's own page (title, summary, advice, source)."""
    return f"{base.rstrip('/')}/#/principle/{quote(principle_id, safe='')}"
