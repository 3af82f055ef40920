# The README's two commands: `make setup` (fresh machine -> .venv with everything) and `make test`.
# `make run` runs the main job on built-in defaults. Every target is idempotent.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.k4mlpf-installed

.PHONY: setup k4 test run bench bench-summary clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile scripts/setup_root_links.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# the CPU wheel on disk; an unpinned torch would pull a multi-GB CUDA build
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	bash scripts/setup_root_links.sh $(VENV)
	touch $(STAMP)

# The Gaudi component MLPFParticleFlow in build/k4, for tests/k4run (`pytest -k k4run`): with
# K4MLPF_KEY4HEP_SETUP (a setup script to source), a sourced Key4hep release, or the prebuilt stack
# of ../shared/key4hep (installed at /opt/k4 as root: ~20 s the first time, ~1 s after). Without a
# stack nothing is built and tests/k4run skip. Incremental: ~1 s when up to date. See .ci/k4build.sh.
k4:
	bash .ci/k4build.sh $(VENV)

test: setup k4
	$(PY) -m pytest -q -p no:cacheprovider

run: setup
	$(PY) scripts/pipeline.py

# every benchmark script alone; bench_summary.py repeats bench_reco.py and bench_io.py, so it has its own target
bench: setup
	for b in benchmarks/bench_*.py; do [ $$b = benchmarks/bench_summary.py ] && continue; echo "== $$b"; $(PY) $$b || exit 1; done

bench-summary: setup
	$(PY) benchmarks/bench_summary.py

clean-venv:
	rm -rf $(VENV)
