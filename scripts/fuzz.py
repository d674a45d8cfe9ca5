"""Schema-driven fuzzing of the HTTP API: `python scripts/fuzz.py [--url URL] [--max-examples N]`.

Starts `kb serve` on a free port (unless --url; with a throwaway API key, so the admin routes are fuzzed
too) and runs schemathesis against /openapi.json with every
check but one: `positive_data_acceptance` is left out because the API rejects, on purpose and with a 422
naming the field, inputs the JSON schema cannot express (control characters, type names outside the
vocabulary, unknown documents and tool names). Exit status is schemathesis's: non-zero on any 5xx, any
response that breaks the published schema, or any undocumented status.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from bench import start_server


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="fuzz a running server instead of starting one")
    ap.add_argument("--max-examples", type=int, default=100, help="examples per operation")
    args = ap.parse_args()
    proc, url, auth = None, args.url, []
    scratch = Path(tempfile.mkdtemp(prefix="kb-fuzz-"))
    if url is None:
        # with a key, the always-keyed admin routes are fuzzed too instead of answering only 403; they
        # write (articles, drafts, builds), so the server gets a copy of the corpus and of the index
        key = secrets.token_urlsafe(16)
        root = Path(__file__).resolve().parents[1]
        shutil.copytree(root / "corpus", scratch / "corpus", ignore=shutil.ignore_patterns(".*"))
        shutil.copytree(
            root / "index", scratch / "index", symlinks=True, ignore=shutil.ignore_patterns("cache")
        )
        env = {
            "KB_API_KEYS": key,
            "KB_CORPUS_DIR": str(scratch / "corpus"),
            "KB_INDEX_DIR": str(scratch / "index"),
            "KB_DATA_DIR": str(scratch / "data"),  # the publish jobs' records
        }
        proc, url, _ = start_server(env)
        auth = ["-H", f"Authorization: Bearer {key}"]
    try:
        cmd = [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json", "--checks", "all",
               "--exclude-checks", "positive_data_acceptance", "-n", str(args.max_examples),
               "--generation-deterministic", "--no-color",
               # the learning loop's actions change the corpus on purpose, after which a reload answers
               # its documented 503 index_stale until a rebuild (tests/test_kb.py covers reloads)
               "--exclude-path", "/admin/reload", *auth]  # fmt: skip
        return subprocess.run(cmd).returncode
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
