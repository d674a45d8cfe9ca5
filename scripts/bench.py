"""Throughput, latency, memory, cold start and build time: `python scripts/bench.py [--url URL]`.

Starts `kb serve` on a free port (unless --url; with admission limits raised to measure capacity, see
CAPACITY_LIMITS), then for /search, /ask and /diagnose at concurrency 1 and 16 drives realistic Chinese
queries with wrk (QPS counts answered requests only; errors are reported beside them), twice: all-unique
queries (every one misses the embedding cache: the honest figure) and a small repeated set (what the
LRU cache buys). Also measures the encoder ceiling (the default model batch-encoding the same queries
in-process with sentence-transformers on torch: the yardstick of issue #6, whatever encoder serves), the
/search c16 : ceiling ratio, the int8 ONNX query encoder's own in-process rate (informative), server
RSS, cold start (process start -> /health 200) and `kb build` time into a scratch folder. The server
encodes queries as KB_ENCODER says (default onnx); set it in the environment to bench torch.

`--serving` makes the "Serving load" table of docs/results.md: /search, /ask and /diagnose at 1, 16, 64
and 256 clients (the --overload client below, answers and refusals timed apart) on three servers
started side by side and driven one at a time, cell by cell: one worker, the defaults (a worker per
core) and the defaults with admission off (at 16 and 256 clients only); /health is sampled every
50 ms during the 256-client cells; cold start and RSS per worker are reported.

`--overload` measures admission control instead: /search and /diagnose at concurrency 16, 64 and 256,
each connection a client that sends its next unique text as soon as it has an answer (after waiting the
Retry-After of a 503, times a random 1-2 so that refused clients do not come back in step, as the
contract asks; `--ignore-retry-after` retries at once). Every answer is timed by status, so admitted
requests (200), refusals (503 overloaded) and anything else are reported apart (wrk cannot split its
latencies by status, so this load generator is asyncio on raw sockets), and the p99s are given again
without the first second, when every connection opens at once.
"""

from __future__ import annotations

import argparse
import asyncio
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


# the throughput runs measure capacity, not admission control (that is --overload's and --serving's
# job): wrk retries a refusal at once, so admission is off. A setting in the environment wins
CAPACITY_LIMITS = {"KB_ADMISSION": "false"}


def start_server(env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str, float]:
    try:
        return start_kb_serve(env, cwd=ROOT, timeout=120)
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
    # answered requests only: a refusal (503) is not throughput. wrk's latencies cannot be split by status
    stats["qps"] = (stats["n"] - stats["errors"]) / stats["seconds"]
    return stats


async def _client(
    host: str,
    port: int,
    path: str,
    bodies: list[bytes],
    until: float,
    honour: bool,
    out: list[tuple[int, float, float]],
) -> None:
    """One keep-alive connection sending POSTs back to back; records (status, ms, sent at) of every answer
    (status 0: the connection failed)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        i = 0
        while time.perf_counter() < until:
            body = bodies[i % len(bodies)]
            i += 1
            head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
            t0 = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readline()
            headers = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
            length = int(headers.split("content-length:")[1].split("\r\n")[0])
            await reader.readexactly(length)
            status = int(status_line.split()[1])
            out.append((status, (time.perf_counter() - t0) * 1000, t0))
            if status == 503 and honour:
                retry = (
                    headers.split("retry-after:")[1].split("\r\n")[0] if "retry-after:" in headers else "1"
                )
                # with jitter, as a well-behaved client retries: refused clients do not return in step
                await asyncio.sleep(float(retry) * random.uniform(1, 2))
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        out.append((0, float("nan"), time.perf_counter()))
    finally:
        writer.close()


async def _health(host: str, port: int, until: float, out: list[float]) -> None:
    """GET /health every 50 ms on a new connection each time, as a load balancer's check does: ms each
    (nan: no answer)."""
    while time.perf_counter() < until:
        t0 = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"GET /health HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
            await reader.read()
            writer.close()
            out.append((time.perf_counter() - t0) * 1000)
        except OSError:
            out.append(float("nan"))
        await asyncio.sleep(0.05)


def overload(url: str, path: str, field: str, texts: list[str], concurrency: int, seconds: float,
             honour: bool, health: list[float] | None = None) -> dict[str, Any]:  # fmt: skip
    """A closed loop of `concurrency` clients for `seconds`; with `health`, /health is sampled meanwhile
    into it."""
    host, port = url.removeprefix("http://").split(":")
    per = max(1, len(texts) // concurrency)
    out: list[tuple[int, float, float]] = []
    began = time.perf_counter()

    async def run() -> None:
        nonlocal began
        began = time.perf_counter()
        until = began + seconds
        slices = [texts[c * per : (c + 1) * per] or texts for c in range(concurrency)]
        bodies = [[json.dumps({field: t, "k": 10}, ensure_ascii=False).encode() for t in s] for s in slices]
        tasks = [_client(host, int(port), path, b, until, honour, out) for b in bodies]
        if health is not None:
            tasks.append(_health(host, int(port), until, health))
        await asyncio.gather(*tasks)

    asyncio.run(run())

    ok = [ms for st, ms, _ in out if st == 200]
    refused = [ms for st, ms, _ in out if st == 503]
    # the first second is the burst of every connection opening at once; after it, the steady state
    ok_later = [ms for st, ms, at in out if st == 200 and at - began >= 1]
    refused_later = [ms for st, ms, at in out if st == 503 and at - began >= 1]
    return {
        "ok": len(ok), "qps": len(ok) / seconds, "ok_p50": pct(ok, 0.5), "ok_p99": pct(ok, 0.99),
        "refused": len(refused), "ref_p50": pct(refused, 0.5), "ref_p99": pct(refused, 0.99),
        "ref_max": max(refused, default=float("nan")), "other": len(out) - len(ok) - len(refused),
        "ok_p99_later": pct(ok_later, 0.99), "ref_p99_later": pct(refused_later, 0.99),
    }  # fmt: skip


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def overload_report(url: str, seconds: float, honour: bool) -> None:
    pools = {"/search": ("query", questions()), "/diagnose": ("situation", situations())}
    print(f"{'endpoint':10s} {'conc':>4s} | {'admitted':>8s} {'qps':>6s} {'p50':>7s} {'p99':>7s} | "
          f"{'refused':>7s} {'p50':>6s} {'p99':>6s} {'max':>6s} | other | p99 after 1 s")  # fmt: skip
    for path, (field, pool) in pools.items():
        for conc in (16, 64, 256):
            r = overload(url, path, field, pool, conc, seconds, honour)
            admitted = f"{r['ok']:8d} {r['qps']:6.1f} {r['ok_p50']:7.1f} {r['ok_p99']:7.1f}"
            refused = f"{r['refused']:7d} {r['ref_p50']:6.1f} {r['ref_p99']:6.1f} {r['ref_max']:6.1f}"
            later = f"{r['ok_p99_later']:7.1f} {r['ref_p99_later']:6.1f}"
            print(f"{path:10s} {conc:4d} | {admitted} | {refused} | {r['other']:5d} | {later}")


def worker_rss(pid: int) -> list[float]:
    """MiB of each worker of the `kb serve` whose process is `pid` (itself alone with one worker)."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += (task / "children").read_text().split()
    # the supervisor also starts multiprocessing's resource tracker: workers are the ones serving
    workers = [int(c) for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
    return [rss_mib(w) for w in workers] or [rss_mib(pid)]


# the configurations the serving table compares, interleaved: every cell is measured on each in turn
CONFIGS = {
    "1 worker": {"KB_WORKERS": "1"},
    "default": {},
    "admission off": {"KB_ADMISSION": "false"},
}
# admission off is measured only where the contract compares with it (c16) and where it matters (c256)
OFF_AT = (16, 256)


def serving_report(
    seconds: float, honour: bool, concurrencies: tuple[int, ...], endpoints: list[str], wrk_rounds: int
) -> None:
    """The "Serving load" table: each endpoint at each concurrency on every configuration of CONFIGS,
    one server each, all started first and driven one at a time; /health sampled during the largest."""
    import subprocess as sp

    commit = sp.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    servers: dict[str, tuple[subprocess.Popen[bytes], str, float]] = {}
    try:
        for name, env in CONFIGS.items():
            servers[name] = start_server(env)  # one at a time: each cold start on a machine otherwise idle
        print(f"commit {commit.strip()}, {os.cpu_count()} cores, `kb serve` defaults unless said; "
              f"{seconds:g} s a cell; clients {'honour' if honour else 'ignore'} Retry-After")  # fmt: skip
        for name, (proc, _, cold) in servers.items():
            rss = ", ".join(f"{r:.0f}" for r in worker_rss(proc.pid))
            print(f"- {name}: cold start (process start to first /health 200) {cold:.2f} s; "
                  f"RSS per worker {rss} MiB")  # fmt: skip
        print()
        print("| endpoint | clients | config | answered/s | p50 ms | p99 ms | refused | refused p99 ms "
              "| p99 after 1 s (answered, refused) | /health p99, max ms (samples) |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|")
        qs, sits = questions(), situations()
        pools = {"/search": ("query", qs), "/ask": ("question", qs[::-1]), "/diagnose": ("situation", sits)}
        for path, (field, pool) in pools.items():
            if path not in endpoints:
                continue
            for conc in concurrencies:
                for name, (_, url, _) in servers.items():
                    if name == "admission off" and conc not in OFF_AT:
                        continue
                    health: list[float] | None = [] if conc == max(concurrencies) else None
                    r = overload(url, path, field, pool, conc, seconds, honour, health)
                    h = f"{pct(health, 0.99):.1f}, {max(health):.1f} ({len(health)})" if health else "–"
                    later = f"{r['ok_p99_later']:.1f}, {r['ref_p99_later']:.1f}"
                    print(f"| `{path}` | {conc} | {name} | {r['qps']:.1f} | {r['ok_p50']:.1f} "
                          f"| {r['ok_p99']:.1f} | {r['refused']} | {r['ref_p99']:.1f} | {later} | {h} |",
                          flush=True)  # fmt: skip
        if wrk_rounds:
            # wrk (C, so the client costs the cores little) retries a refusal at once: Retry-After ignored
            print()
            print("| wrk `/search` 16 connections, round | config | answered/s | p50 ms | p99 ms | non-2xx |")
            print("|---|---|---|---|---|---|")
            used = 0
            for n in range(1, wrk_rounds + 1):
                for name, (_, url, _) in servers.items():
                    start = used % len(qs)  # round the pool: a server sees a text again only after
                    # thousands of others, so its 1024-entry embedding cache does not help
                    w = drive(url, "/search", "query", qs[start:] + qs[:start], 16, seconds)
                    used += w["n"]
                    cells = f"{w['qps']:.1f} | {w['p50']:.1f} | {w['p99']:.1f} | {w['errors']}"
                    print(f"| {n} | {name} | {cells} |", flush=True)
        for name, (proc, _, _) in servers.items():
            rss = ", ".join(f"{r:.0f}" for r in worker_rss(proc.pid))
            print(f"- {name}: RSS per worker after the run {rss} MiB")
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=60)


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
    ap.add_argument("--overload", action="store_true", help="admission control at concurrency 16/64/256")
    ap.add_argument("--skip-build", action="store_true", help="leave out the fresh `kb build` (minutes)")
    ap.add_argument(
        "--ignore-retry-after", action="store_true", help="--overload/--serving clients retry a 503 at once"
    )
    ap.add_argument(
        "--serving",
        action="store_true",
        help="the serving-load table: c1-c256 on one worker, the default and admission off, interleaved",
    )
    ap.add_argument("--concurrency", default="1,16,64,256", help="--serving: the client counts")
    ap.add_argument("--endpoints", default="/search,/ask,/diagnose", help="--serving: the endpoints")
    ap.add_argument(
        "--wrk-rounds", type=int, default=0, help="--serving: then rounds of wrk /search c16 on each config"
    )
    args = ap.parse_args()
    if args.serving:
        conc = tuple(int(c) for c in args.concurrency.split(","))
        serving_report(
            args.seconds, not args.ignore_retry_after, conc, args.endpoints.split(","), args.wrk_rounds
        )
        return 0

    proc, cold_start = None, float("nan")
    url = args.url
    if url is None:
        limits = {k: os.environ.get(k, v) for k, v in CAPACITY_LIMITS.items()}
        proc, url, cold_start = start_server(None if args.overload else limits)
    if args.overload:
        try:
            overload_report(url, args.seconds, honour=not args.ignore_retry_after)
            if proc:
                print(f"server RSS after load: {rss_mib(proc.pid):.0f} MiB")
        finally:
            if proc:
                proc.terminate()
                proc.wait(timeout=30)
        return 0
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
    build = float("nan") if args.skip_build else build_seconds()
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
