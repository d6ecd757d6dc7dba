# Two entry points (see README): `make demo` runs the main job, `make test` runs every check.
# Both set up everything they need on a fresh clone: a virtual environment in .venv, the build and
# test dependencies from pyproject.toml, and the Rust extension built in release mode.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-stamp
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: all demo test build rust-test lint py-test test-corpora bench bench-corpus fmt clean

all: test

# The virtual environment with maturin and the `test` and `bench` extras of pyproject.toml.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "maturin>=1.9.4,<2" $$($(PYTHON) scripts/extras.py test bench)
	touch $@

build: $(STAMP)
	maturin develop --release --quiet

demo: build
	$(PY) -m nearcopy demo

rust-test: $(STAMP)
	cargo test --workspace --quiet

lint: $(STAMP)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	ruff check python tests benches scripts
	ruff format --check python tests benches scripts
	mypy
	$(PY) -m mypy.stubtest nearcopy._core

# Go and Ruby sources for the code tests, from Debian's packages (best effort, see the script).
test-corpora:
	bash scripts/install_test_corpora.sh

py-test: build test-corpora
	$(PY) -m pytest -q

test: rust-test build lint py-test

# The MinHash benchmark (nearcopy, datasketch, rensa on one corpus; about 2 minutes), then the
# README's performance section regenerated from its result. OPENBLAS_NUM_THREADS=1 keeps numpy's
# idle BLAS threads from spinning on the cores being measured.
bench: build
	OPENBLAS_NUM_THREADS=1 $(PY) benches/bench_minhash.py $(BENCH_ARGS)
	$(PY) benches/bench_code_speed.py
	$(PY) benches/bench_code_quality.py
	$(PY) benches/bench_code_detect.py
	$(PY) benches/bench_filter.py
	$(PY) benches/source_corpus.py --install-packages --mb 1000
	$(PY) benches/bench_filter_speed.py
	$(PY) benches/bench_dedup.py
	$(PY) benches/bench_dedup_speed.py
	$(PY) benches/bench_dedup_scale.py
	$(PY) benches/bench_serve.py
	$(PY) benches/update_readme.py

# More real text for the benchmark corpus: Debian's documentation packages (needs root and apt).
bench-corpus: build
	$(PY) benches/corpus.py --mb 64 --install-packages

fmt: $(STAMP)
	cargo fmt --all
	ruff format python tests benches scripts
	ruff check --fix python tests benches scripts

clean:
	rm -rf target $(VENV) .cache python/nearcopy/*.so
