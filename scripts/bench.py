"""Throughput, latency, memory, cold start and build time: `python scripts/bench.py [--url URL]`.

Starts `kb serve` on a free port (unless --url), then for /search, /ask and /diagnose at concurrency 1
and 16 drives realistic Chinese queries through an asyncio + httpx load generator, twice: all-unique
queries (every one misses the embedding cache: the honest figure) and a small repeated set (what the
LRU cache buys). Also measures the encoder ceiling (the default model batch-encoding the same queries
in-process with sentence-transformers on torch: the yardstick of issue #6, whatever encoder serves), the
/search c16 : ceiling ratio, the int8 ONNX query encoder's own in-process rate (informative), server
RSS, cold start (process start -> /health 200) and `kb build` time into a scratch folder. The server
encodes queries as KB_ENCODER says (default onnx); set it in the environment to bench torch.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from service.devserver import start_kb_serve

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Fragments operators use, combined into many distinct, realistic questions and situations.
SUBJECTS = ["新建的微信群", "我们的付费社群", "公司的客户群", "宝妈团购群", "读书会的群", "行业交流群",
            "粉丝群", "快闪群", "学习打卡群", "会员群", "本地生活群", "企业微信社群"]  # fmt: skip
PROBLEMS = ["没人说话", "全是广告", "一直掉人", "活跃度很低", "只有我在发消息", "大家只潜水不互动",
            "转化很差", "新人进来不知道干嘛", "老用户越来越少", "发了干货也没人看", "变成了死群",
            "成员互相加好友推销"]  # fmt: skip
ASKS = ["怎么办?", "问题出在哪里?", "该怎么改进?", "要不要解散?", "应该先做什么?"]
LEADS = ["", "请问", "求助:", "我想知道", "想请教一下,"]
SITUATIONS = ["老板要求一周再建二十个群", "我每天按话术模板回复消息", "群规只写了禁止发广告",
              "没有设置任何入群门槛", "活动就是发红包", "每天推三篇文章"]  # fmt: skip


def questions() -> list[str]:
    out = [f"{lead}{s}{p},{a}" for lead, s, p, a in itertools.product(LEADS, SUBJECTS, PROBLEMS, ASKS)]
    random.Random(7).shuffle(out)
    return out


def situations() -> list[str]:
    out = [f"{s}{p},{x},{a}" for s, p, x, a in itertools.product(SUBJECTS, PROBLEMS, SITUATIONS, ASKS[:2])]
    random.Random(11).shuffle(out)
    return out


def start_server(env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str, float]:
    try:
        return start_kb_serve(env, cwd=ROOT)
    except RuntimeError:
        sys.exit("error: kb serve exited; run `kb build` first")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def drive(
    url: str, path: str, field: str, texts: list[str], concurrency: int, seconds: float
) -> dict[str, Any]:
    """Closed-loop load from wrk (a C load generator, so the client costs the two cores little):
    `concurrency` connections, each sending the next text as soon as its last answer came."""
    if shutil.which("wrk") is None:
        sys.exit("error: wrk not found: apt-get install wrk")
    threads = min(concurrency, 2)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as f:
        f.write("\n".join(texts) + "\n")
        f.flush()
        cmd = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
               "-s", str(HERE / "wrk_post.lua"), url, "--", path, field, f.name, str(threads)]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    stats: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    stats["qps"] = stats["n"] / stats["seconds"]
    return stats


def encoder_ceiling(texts: list[str], batch: int = 64) -> float:
    """Queries per second of the default model batch-encoding the texts in-process on torch."""
    from service.embedder import SentenceTransformerEmbedder
    from service.settings import get_settings

    return _rate(SentenceTransformerEmbedder(get_settings().model), texts, batch)


def onnx_rate(texts: list[str], batch: int = 64) -> float:
    """Queries per second of the index's int8 ONNX encoder on the same texts, in-process (0 if none)."""
    from service.embedder import OnnxEmbedder
    from service.index import load_index
    from service.settings import get_settings

    s = get_settings()
    folder = load_index(s.index_dir, s.corpus_dir, s.model).encoder_dir
    if folder is None:
        return 0.0
    return _rate(OnnxEmbedder(folder, s.encoder_threads), texts, batch)


def _rate(emb: Any, texts: list[str], batch: int) -> float:
    from service.normalize import normalize_text

    norm = [normalize_text(t) for t in texts]
    emb.encode(norm[:batch])  # warm-up
    t0 = time.perf_counter()
    for i in range(0, len(norm), batch):
        emb.encode(norm[i : i + batch])
    return len(norm) / (time.perf_counter() - t0)


def build_seconds() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "KB_INDEX_DIR": tmp}
        t0 = time.perf_counter()
        cmd = [sys.executable, "-c", "from service.cli import main; main()", "build"]
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="bench a running server instead of starting one")
    ap.add_argument("--seconds", type=float, default=8.0, help="duration of each load run")
    args = ap.parse_args()

    proc, cold_start = None, float("nan")
    url = args.url
    if url is None:
        proc, url, cold_start = start_server()
    try:
        qs, sits = questions(), situations()
        # disjoint pools: a text seen by one run never reaches another as a cache hit
        half = len(qs) // 2
        pools = {
            "/search": ("query", qs[:half]),
            "/ask": ("question", qs[half:]),
            "/diagnose": ("situation", sits),
        }
        rows = []
        for path, (field, pool) in pools.items():
            used = 0
            for conc in (1, 16):
                cold = drive(url, path, field, pool[used:], conc, args.seconds)
                used += cold["n"]
                repeated = drive(url, path, field, pool[:20], conc, args.seconds)
                rows.append((path, conc, cold, repeated))
        rss = rss_mib(proc.pid) if proc else float("nan")
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)

    from service.settings import get_settings

    encoder = get_settings().encoder if proc else "? (--url)"
    ceiling = encoder_ceiling(questions()[:512])
    onnx = onnx_rate(questions()[:512])
    build = build_seconds()
    print(f"{'endpoint':10s} {'conc':>4s} | {'unique qps':>10s} {'p50':>7s} {'p95':>7s} {'p99':>7s} | "
          f"{'repeat qps':>10s} {'p50':>7s} {'p99':>7s} | errors")  # fmt: skip
    for path, conc, c, r in rows:
        print(f"{path:10s} {conc:4d} | {c['qps']:10.1f} {c['p50']:7.1f} {c['p95']:7.1f} {c['p99']:7.1f} | "
              f"{r['qps']:10.1f} {r['p50']:7.1f} {r['p99']:7.1f} | {c['errors'] + r['errors']}")  # fmt: skip
    search16 = next(c["qps"] for p, n, c, _ in rows if p == "/search" and n == 16)
    print(f"encoder ceiling (in-process batch encode, torch): {ceiling:.1f} queries/s")
    print(f"/search c16 unique : ceiling = {search16 / ceiling:.2f} (server: KB_ENCODER={encoder})")
    print(f"int8 ONNX encoder alone (in-process, same queries): {onnx:.1f} queries/s")
    print(f"server RSS after load: {rss:.0f} MiB; cold start to /health 200: {cold_start:.2f} s")
    print(f"kb build (fresh folder, model load included): {build:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
