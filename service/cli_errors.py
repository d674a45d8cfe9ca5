"""What the terminal says when something goes wrong: in Chinese, naming the argument and what to do.

The core's errors carry a stable English `code` and an English `message` (the HTTP API and `--json` keep
both as they are). A person at the terminal gets one line: what went wrong and what to do, in Chinese,
with the core's detail in brackets where it names something (a file, a URL, a type).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

__all__ = ["describe_error", "describe_invalid"]

# request fields as the command line names them
_ARGUMENTS = {
    "question": "问题 QUESTION",
    "situation": "情况描述 SITUATION",
    "query": "搜索词 QUERY",
    "k": "--k",
    "min_relevance": "--min-relevance",
    "types": "--type",
    "docs": "--doc",
    "pitfalls_only": "--pitfalls-only",
}
# what to do about a bad value, per field
_HINTS = {
    "question": '请写一个社群运营方面的问题,例如 kb ask "社群定位分哪几步?"',
    "situation": '请用几句话描述群里发生了什么,例如 kb diagnose "群里每天都是广告,没人说话"',
    "query": '请写要搜索的词,例如 kb search "群规"',
    "types": "可用的类型见 kb types",
    "docs": "可用的文章见 GET /documents",
}

# error code -> what it means and what to do; `{detail}` is the core's own message
_BY_CODE = {
    "not_found": "找不到这条原则({detail}):请用 kb search 或 kb ask 找到它的 id",
    "unknown_type": "未知的类型({detail}):可用的类型见 kb types",
    "unknown_document": "未知的文章({detail}):用文章编号(如 001)或 corpus/raw 下的文件名",
    "duplicate": "这篇文章已经在知识库里({detail}):确实要再加一次请用 --force",
    "invalid_input": "输入有误({detail})",
    "busy": "语料正被占用({detail})",
    "too_many_drafts": "待审阅的草稿太多({detail}):先接受或移除一篇(kb accept / kb remove)",
    "draft_invalid": "草稿文件有误,请按提示修改({detail})",
    "bad_host": "服务器不接受这个主机名({detail})",
    "build_busy": "另一个 kb build 正在进行({detail}):请等它结束后再试",
    "corpus_invalid": "语料文件有误,请按提示修改后再运行 kb build({detail})",
    "index_invalid": "索引缺失或损坏({detail}):请运行 kb build(或 make serve)",
    "index_stale": "索引已过期,语料或模型已改变:请运行 kb build(或 make serve)",
    "store_unavailable": "查询记录数据库不可用({detail})",
    "unknown_request": "没有这个回答的记录({detail}):request id 见回答的 request_id,记录保留有期限",
    "bad_request": "请求有误({detail})",
    "unauthorized": "缺少或无效的 API 密钥({detail}):用 --api-key 或环境变量 KB_API_KEY 提供",
    "forbidden": "这个 API 密钥无权执行此操作({detail})",
    "too_large": "输入太长({detail})",
    "timeout": "服务器处理超时({detail}):请稍后重试",
    "overloaded": "服务器繁忙({detail}):请稍后重试",
    "bad_url": "--url 不是有效的地址({detail}):请写成 http://主机:端口",
    "bad_key": "API 密钥格式不对({detail}):只能是可打印的 ASCII 字符",
    "unreachable": "连不上服务器({detail}):请检查 --url,并确认 kb serve 在运行",
    "bad_response": "对方的回答不像知识库服务器({detail}):--url 指向的是知识库服务吗?",
}


# not_found names several things: what the core's message says it could not find
_NOT_FOUND = {
    "no article": "找不到这篇文章({detail}):草稿见 kb drafts,已发布的文章见 GET /documents",
    "no draft": "这篇文章没有待审阅的草稿({detail}):草稿见 kb drafts",
    "no job": "找不到这个任务({detail})",
}


def describe_error(code: str, message: str) -> str:
    """One line for a person: the code's meaning and remedy, the core's message as detail."""
    template = _BY_CODE.get(code, "出错了({detail})")
    if code == "not_found":
        template = next((t for start, t in _NOT_FOUND.items() if message.startswith(start)), template)
    return template.format(detail=message)


def _reason(err: Mapping[str, object]) -> str:
    kind = str(err.get("type", ""))
    ctx = cast(Mapping[str, object], err.get("ctx") or {})
    msg = str(err.get("msg", ""))
    if kind == "string_too_short":
        return "不能为空" if ctx.get("min_length") == 1 else f"至少要 {ctx.get('min_length')} 个字符"
    if kind == "string_too_long":
        return f"太长了,最多 {ctx.get('max_length')} 个字符"
    if kind in ("greater_than_equal", "greater_than"):
        return f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"不能大于 {ctx.get('le', ctx.get('lt'))}"
    if kind == "too_long":
        return f"最多 {ctx.get('max_length')} 项"
    if "only whitespace" in msg:
        return "只有空白或看不见的字符"
    if "control characters" in msg:
        return "含有控制字符"
    if "unknown type" in msg:
        return "有未知的类型(" + msg.removeprefix("Value error, ") + ")"
    return "取值无效(" + msg.removeprefix("Value error, ") + ")"


def describe_invalid(errors: Sequence[Mapping[str, object]]) -> str:
    """A request model's refusal, per argument: "问题 QUESTION 不能为空:请写…"."""
    parts = []
    for err in errors[:3]:
        loc = [str(x) for x in cast(Sequence[object], err.get("loc", ())) if x != "body"]
        field = loc[0] if loc else ""
        name = _ARGUMENTS.get(field, field or "输入")
        hint = _HINTS.get(field)
        parts.append(f"{name} {_reason(err)}" + (f":{hint}" if hint else ""))
    return ";".join(parts)
