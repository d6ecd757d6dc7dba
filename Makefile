# Two entry points (see README): `make demo` runs the main job, `make test` runs every check.
# Both set up everything they need on a fresh clone: a virtual environment in .venv, the Rust
# extension built in release mode, and the dependencies from pyproject.toml: `make demo` only the
# package's own (numpy), `make test` also its `test` and `bench` extras. `make test` installs
# Debian's Go, Ruby and glibc sources with apt-get when run as root (NEARCOPY_NO_APT=1: it does not).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BASE_STAMP := $(VENV)/.base-stamp
STAMP := $(VENV)/.deps-stamp
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: all demo test build rust-test lint py-test test-corpora bench bench-quick bench-corpus fmt clean fuzz sanitize

all: test

# The virtual environment with maturin and the package's own dependencies: what the demo needs.
# (tomli reads pyproject.toml for scripts/extras.py where Python is older than 3.11.)
$(BASE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "maturin>=1.9.4,<2" "tomli>=1.1; python_version < '3.11'"
	$(PY) -m pip install --quiet $$($(PY) scripts/extras.py)
	touch $@

# Then the `test` and `bench` extras of pyproject.toml: what the checks and benchmarks need.
$(STAMP): $(BASE_STAMP)
	$(PY) -m pip install --quiet $$($(PY) scripts/extras.py test bench)
	touch $@

build: $(BASE_STAMP)
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

py-test: $(STAMP) build test-corpora
	$(PY) -m pytest -q

test: rust-test build lint py-test

# The benchmark suite (nearcopy bench: every benchmark, the peers in the same run; under an hour on
# 2 cores), written to benches/results/suite-DATE-CPU/, then the scale model worked out from the results
# (benchsuite/scale_model.py) and the documentation's figures regenerated from them.
# Debian's linux-source-6.1 (root and apt; skipped otherwise) tops the 1 GB filter index up with real
# C sources. BENCH_ARGS adds flags, e.g. BENCH_ARGS="--only minhash serve".
bench: $(STAMP) build
	-$(PY) -m nearcopy.benchsuite.source_corpus --install-packages --mb 1000
	$(PY) -m nearcopy bench $(BENCH_ARGS)
	$(PY) -m nearcopy.benchsuite.scale_model
	$(PY) benches/update_readme.py

# Every benchmark on small inputs (under 5 minutes on 2 cores); results go to .cache/bench-results/.
bench-quick: $(STAMP) build
	$(PY) -m nearcopy bench --quick $(BENCH_ARGS)

# Every cargo-fuzz target (fuzz/) for FUZZ_SECONDS each, under libFuzzer with AddressSanitizer
# (nightly), optimized but with debug assertions (-a), so integer overflow is a crash too. New corpus
# entries go to fuzz/corpus/ (not committed); a crash stops the run and leaves
# its input in fuzz/artifacts/. `make test` runs the same checks briefly without nightly (the short
# fuzz in rust/nearcopy-core/src/fuzzing/tests.rs).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := text_normalizer code_normalizer answer_splitter jsonl_reader segment_reader
fuzz:
	cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
	for target in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$target fuzz/regressions/$$target && \
	  cargo +nightly fuzz run -O -a $$target fuzz/corpus/$$target fuzz/seeds/$$target fuzz/regressions/$$target \
	    -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 || exit 1; \
	done

# The core's tests under AddressSanitizer (nightly; std itself not instrumented), then under
# valgrind's memcheck (stable build). A few minutes each on 2 cores; not part of `make test`.
# Under valgrind the fork test is skipped (it runs under ASan): the forked child's copy of the
# other test threads' heap has no thread left pointing at it, so valgrind calls it leaked and its
# error exit code fails the child.
SANITIZE_TARGET := x86_64-unknown-linux-gnu
sanitize: $(STAMP)
	RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address" ASAN_OPTIONS=detect_leaks=1 \
	  cargo +nightly test -p nearcopy-core --lib --target $(SANITIZE_TARGET) --target-dir target/asan
	cargo test -p nearcopy-core --lib --no-run --message-format=json \
	  | $(PY) scripts/test_executable.py \
	  | xargs -I{} valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	      {} --test-threads=2 --skip a_child_forked_while_the_registry_was_locked

# More real text for the benchmark corpus: Debian's documentation packages (needs root and apt).
bench-corpus: $(STAMP) build
	$(PY) -m nearcopy.benchsuite.corpus --mb 64 --install-packages

fmt: $(STAMP)
	cargo fmt --all
	ruff format python tests benches scripts
	ruff check --fix python tests benches scripts

clean:
	rm -rf target $(VENV) .cache python/nearcopy/*.so
