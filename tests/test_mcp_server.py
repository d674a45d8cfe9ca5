"""`kb mcp` on stdio: garbage lines are skipped without a traceback and the session goes on."""

from __future__ import annotations

import json
import subprocess
import sys

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}


def test_garbage_on_stdin_is_survived() -> None:
    stdin = b"garbage\n\xff\xfe\n{}\n[1, 2]\n" + json.dumps(INITIALIZE).encode() + b"\n"
    proc = subprocess.run(
        [sys.executable, "-c", "from service.cli import main; main()", "mcp"],
        input=stdin, capture_output=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr
    replies = [json.loads(line) for line in proc.stdout.splitlines()]
    assert replies[-1]["id"] == 1 and replies[-1]["result"]["serverInfo"]["name"] == "community-ops-kb"
