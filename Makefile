# The README's two commands: `make setup` (fresh machine -> .venv with everything) and `make test`.
# `make run` runs the main job on built-in defaults. Every target is idempotent.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.k4mlpf-installed

.PHONY: setup k4 test run bench clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile scripts/setup_root_links.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# the CPU wheel on disk; an unpinned torch would pull a multi-GB CUDA build
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	bash scripts/setup_root_links.sh $(VENV)
	touch $(STAMP)

# The Gaudi component MLPFParticleFlow, for tests/k4run (`pytest -k k4run`). In a sourced Key4hep
# release (KEY4HEP_STACK set) it is built there; else, where ../shared/key4hep exists, its prebuilt
# stack is installed at /opt/k4 (as root; ~20 s the first time, ~1 s after) and used; else nothing
# is built and tests/k4run skip with the reason. build/k4 is configured once and then rebuilt
# incrementally (nothing to do when up to date).
K4_SETUP := $(wildcard ../shared/key4hep/setup.sh)
K4_BUILD := build/k4
K4_CMAKE := test -f $(K4_BUILD)/CMakeCache.txt || cmake -S . -B $(K4_BUILD) $(if $(shell command -v ninja),-G Ninja) \
            -DCMAKE_BUILD_TYPE=Release; cmake --build $(K4_BUILD) -j$(shell nproc 2>/dev/null || echo 2)

k4:
ifdef KEY4HEP_STACK
	$(K4_CMAKE)
else ifneq ($(K4_SETUP),)
	@if [ "$$(id -u)" = 0 ] || [ -e /opt/k4/env.sh ]; then \
	  $(K4_SETUP) $(VENV) && bash -c 'source /opt/k4/env.sh && $(K4_CMAKE)'; \
	else echo "k4mlpf: not root and no /opt/k4: Key4hep stack not installed, tests/k4run will skip"; fi
else
	@echo "k4mlpf: no Key4hep stack (no KEY4HEP_STACK, no ../shared/key4hep): tests/k4run will skip"
endif

test: setup k4
	$(PY) -m pytest -q -p no:cacheprovider

run: setup
	$(PY) scripts/pipeline.py

bench: setup
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean-venv:
	rm -rf $(VENV)
