# Two entry points (see README): `make demo` and `make test`. Both build everything
# they need from nothing; the Python environment and Cargo's target directory live
# in a cache outside the clone so repeated runs reuse them.
CACHE       ?= $(HOME)/.cache/prefcore
VENV        ?= $(CACHE)/venv
PY          := $(VENV)/bin/python
export CARGO_TARGET_DIR ?= $(CACHE)/target
STAMP       := $(VENV)/.deps-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test lint build bench env

$(STAMP):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "maturin>=1.7,<2" pytest hypothesis polars "pandas>=2.2" datasets \
		scipy scikit-learn pytrec_eval-terrier ranx mypy ruff numpy pyarrow
	touch $@

env: $(STAMP)

build: $(STAMP)
	$(VENV)/bin/maturin develop --release --uv 2>/dev/null || \
		VIRTUAL_ENV=$(VENV) $(VENV)/bin/maturin develop --release -q

demo: build
	$(VENV)/bin/prefcore demo

lint: $(STAMP)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests benches
	$(VENV)/bin/ruff format --check python tests benches
	$(VENV)/bin/mypy

test: build lint
	cargo test --workspace
	$(PY) -m pytest -q

bench: build
	$(PY) benches/bench_metrics.py
