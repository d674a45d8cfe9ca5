"""A saved WeChat article page (mp.weixin.qq.com): the title from h1.rich_media_title (or og:title, or
the page script's msg_title), the account from #js_name, the publish time from #publish_time or the
script's `ct`/`create_time` (a Unix time, shown in China time), the body from #js_content with the
follow/QR/阅读原文 boilerplate and whatever follows 往期推荐 dropped."""

from __future__ import annotations

import datetime as dt
import html
import re
from importlib.metadata import version

from selectolax.lexbor import LexborHTMLParser

from service.errors import InputError
from service.ingest.formats.blocks import TextBuilder, tidy
from service.ingest.formats.webpage import NO_ARTICLE, Page, PageWalker

__all__ = ["is_boilerplate", "read_wechat"]

_CHINA = dt.timezone(dt.timedelta(hours=8))
# what WeChat pages say around an article, never in it: follow prompts, QR codes, share bars
_FOLLOW = re.compile(
    r"扫一扫|扫码|二维码|长按(识别|关注|添加|扫)|点击(上方)?(蓝字|关注)|点击上方.{0,8}关注|关注(我们|公众号|本号|该公众号)"
    r"|阅读原文|预览时标签不可点|喜欢此内容的人还喜欢|微信扫一扫|轻点两下取消|继续滑动看下一个|向上滑动看下一个"
)
_END = re.compile(r"[-—–_=\s]*(END|完|THE END|全文完)[-—–_=\s]*", re.I)
_SHARE_BAR = re.compile(r"([分享收藏点赞在看赞赏留言写留言]+[\s|·、]*)+")
# a list of other articles follows these: the rest of the page is not this article
_TRAILER = re.compile(r"^(往期(推荐|回顾|精选|文章)|推荐阅读|相关阅读|精彩回顾|历史文章)")
_SCRIPT_VAR = r"(?:var\s+)?{name}\s*[=:]\s*(?:htmlDecode\()?\s*(['\"])(.*?)\1"
_TIMESTAMP = re.compile(r"\b(?:ct|create_time|publish_time|svr_time_ct)\s*[=:]\s*['\"]?(\d{10})\b")
_DATE_TEXT = re.compile(r"(\d{4})[-年/.](\d{1,2})[-月/.](\d{1,2})日?(?:\s+(\d{1,2}):(\d{2}))?")
_WORDS = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]")


def is_boilerplate(line: str) -> bool:
    """A line of a WeChat page that belongs to the page, not the article (short: a sentence of the
    article that mentions a QR code is kept)."""
    if not _WORDS.search(line):  # decoration: ▼, ———, ···
        return True
    if _END.fullmatch(line) or _SHARE_BAR.fullmatch(line):
        return True
    return len(line) <= 50 and bool(_FOLLOW.search(line))


def _script_var(scripts: str, *names: str) -> str | None:
    for name in names:
        m = re.search(_SCRIPT_VAR.format(name=re.escape(name)), scripts)
        if m and m.group(2).strip():
            # the page escapes it for a JS string holding HTML: \x26amp; and friends
            value = re.sub(r"\\x([0-9a-fA-F]{2})", lambda g: chr(int(g.group(1), 16)), m.group(2))
            return tidy(html.unescape(html.unescape(value))) or None
    return None


def _published(tree: LexborHTMLParser, scripts: str) -> str | None:
    node = tree.css_first("#publish_time")
    shown = tidy(node.text()) if node is not None else ""
    if shown:
        m = _DATE_TEXT.search(shown)
        if m is None:
            return shown
        y, mo, d, h, mi = m.groups()
        if h is None:
            return dt.date(int(y), int(mo), int(d)).isoformat()
        return dt.datetime(int(y), int(mo), int(d), int(h), int(mi), tzinfo=_CHINA).isoformat()
    m = _TIMESTAMP.search(scripts)
    if m:
        return dt.datetime.fromtimestamp(int(m.group(1)), _CHINA).isoformat()
    return _script_var(scripts, "createTime")


def _first_text(tree: LexborHTMLParser, *selectors: str) -> str | None:
    for sel in selectors:
        node = tree.css_first(sel)
        if node is not None:
            words = tidy(node.attributes.get("content") or "") if node.tag == "meta" else tidy(node.text())
            if words:
                return words
    return None


def read_wechat(tree: LexborHTMLParser, name: str) -> Page:
    scripts = "\n".join(s.text() for s in tree.css("script"))
    title = _first_text(tree, "h1.rich_media_title", "#activity-name", 'meta[property="og:title"]') or (
        _script_var(scripts, "msg_title") or _first_text(tree, "title")
    )
    account = _first_text(tree, "#js_name", "#profileBt a") or _script_var(scripts, "nickname", "nick_name")
    author = _first_text(tree, 'meta[name="author"]', "#js_author_name") or _script_var(scripts, "author")
    out = TextBuilder()
    if title:
        out.add(title, "heading", level=1, path="h1.rich_media_title")
    trailer = False

    def drop(line: str) -> bool:
        nonlocal trailer
        trailer = trailer or bool(_TRAILER.match(line))
        return trailer or is_boilerplate(line)

    content = tree.css_first("#js_content")
    if content is not None:  # its own style is visibility:hidden until the page's script shows it
        PageWalker(out, drop).walk(content, "#js_content")
    if len(out.blocks) <= (1 if title else 0):
        raise InputError(f"{name}: {NO_ARTICLE}")
    return Page(
        out.text,
        out.blocks,
        title=title,
        author=author,
        account=account,
        published=_published(tree, scripts),
        extractor=f"selectolax {version('selectolax')}",
    )
