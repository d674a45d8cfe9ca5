#!/usr/bin/env bash
# The README's screenshots of the web UI (docs/screenshots/*.png), taken by the browser tests themselves
# (tests/test_web.py saves one per flow when KB_SCREENSHOTS is set), so they show what the tests saw.
# Needs chromium, chromium-driver and a Chinese font (without one every character is a box); pngquant
# makes them small.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! fc-list :lang=zh | grep -q .; then
  echo "no Chinese font: apt-get install fonts-wqy-microhei (or fonts-noto-cjk)" >&2
  exit 1
fi
PY=${PY:-.venv/bin/python}
KB_SCREENSHOTS=docs/screenshots "$PY" -m pytest -q tests/test_web.py
# a palette of 256 colours is plenty for text on flat colours: about a quarter of the size
if command -v pngquant >/dev/null; then
  pngquant --force --skip-if-larger --quality 60-85 --ext .png docs/screenshots/*.png || true
else
  echo "pngquant missing (apt-get install pngquant): screenshots left unoptimised" >&2
fi
ls -l docs/screenshots/*.png
