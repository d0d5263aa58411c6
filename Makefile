# Every target sets itself up: a virtual environment in .venv with the pinned packages and a
# Jupyter kernel for it. Run `make help` for the list.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8888
KERNEL := mapping-course
STAMP := $(VENV)/.installed
# One torch thread and fixed BLAS threads: stored outputs must not depend on the core count.
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help setup ray lab test lint unit notebooks notebooks-default execute lock bench bench-paths \
	bench-peer data clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" && $(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
	  || { echo "error: the course needs Python 3.11; install it or run 'make PYTHON=/path/to/python3.11 ...'"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python 3 (mapping course)"
	touch $(STAMP)

setup: $(STAMP)  ## create .venv with the pinned packages and register the course kernel

RAY_STAMP := $(VENV)/.ray-installed
$(RAY_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[ray]"
	touch $(RAY_STAMP)

ray: $(RAY_STAMP)  ## install the optional Ray extra (chapter 04's Ray backend; make test does this)

lab: setup  ## open JupyterLab on chapters/ (PORT=8888 by default)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=chapters --ServerApp.port=$(PORT) \
	  --ServerApp.port_retries=0 $(if $(filter 0,$(shell id -u)),--allow-root)

test: lint unit notebooks notebooks-default  ## ruff, unit tests, browser test, nbval strict, default CPU path
	@echo "make test: all checks passed"

lint: setup  ## ruff on the library, the tests and the notebooks
	$(VENV)/bin/ruff check .

unit: setup ray  ## unit tests of mini_lib (Ray backend included), notebook hygiene, browser test
	$(PY) -m pytest tests

notebooks: setup ray  ## nbval strict: re-run every notebook, compare with its stored outputs
	$(PY) -m pytest chapters

# A learner on Apple silicon or an x86 without AVX2 runs torch's default kernels: every
# notebook must run there and its assertions hold (outputs may differ in the last digits, so
# lax: errors only). ATEN_CPU_CAPABILITY=default stands in for those CPUs on this machine.
notebooks-default: setup ray  ## every notebook once on torch's default CPU path (nbval lax)
	ATEN_CPU_CAPABILITY=default $(PY) -m pytest chapters --nbval-lax

execute: setup  ## re-execute notebooks in place (NB=chapters/00_*.ipynb for one), strip widget state
	@# nbconvert here sometimes waits forever for a kernel message (both processes idle): each
	@# notebook gets 5 minutes (it needs about 1) and up to 3 tries.
	@for nb in $(or $(NB),chapters/*.ipynb); do \
	  for try in 1 2 3; do \
	    echo "executing $$nb (try $$try)"; \
	    timeout 300 $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	      --ExecutePreprocessor.kernel_name=$(KERNEL) --ExecutePreprocessor.timeout=600 $$nb \
	      && break; \
	    if [ $$try = 3 ]; then echo "error: $$nb failed 3 times"; exit 1; fi; \
	  done; \
	  $(VENV)/bin/nbstripout --keep-output --keep-count $$nb; \
	done

lock: setup  ## rewrite constraints.txt from the current .venv (after a deliberate upgrade)
	{ sed -n '1,3p' constraints.txt; $(PY) -m pip freeze --exclude-editable --exclude stable-baselines3 \
	  | sed -e 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > constraints.new
	mv constraints.new constraints.txt
	@echo "constraints.txt rewritten; now update the pins in environment.yml (tests check them)"

bench: setup  ## timing benchmarks (slider redraws, tabular, DQN over 10 seeds, PG over 5, MAML speed, A3C scaling, 2D-navigation env)
	$(PY) benchmarks/slider_redraw.py
	$(PY) benchmarks/tabular_speed.py
	$(PY) benchmarks/dqn_seeds.py
	$(PY) benchmarks/pg_seeds.py
	$(PY) benchmarks/maml_speed.py
	$(PY) benchmarks/a3c_scaling.py
	$(PY) benchmarks/navigation_speed.py

bench-paths: setup  ## the seed tables behind every asserted training result, on both CPU paths
	$(PY) benchmarks/cpu_paths.py benchmarks/dqn_seeds.py
	$(PY) benchmarks/cpu_paths.py benchmarks/pg_seeds.py
	$(PY) benchmarks/cpu_paths.py benchmarks/a2c_seeds.py
	$(PY) benchmarks/cpu_paths.py benchmarks/maml_live_seeds.py
	$(PY) benchmarks/cpu_paths.py benchmarks/maml_rl_live_seeds.py
	$(PY) benchmarks/cpu_paths.py benchmarks/rl2_live_seeds.py
	$(PY) benchmarks/cpu_paths.py benchmarks/families_seeds.py

bench-peer: setup  ## mini_lib DQN and A2C vs Stable-Baselines3 (installs the optional [peer] extra)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[peer]"
	set -o pipefail; $(PY) benchmarks/dqn_vs_sb3.py | tee benchmarks/results/dqn_vs_sb3.md
	set -o pipefail; $(PY) benchmarks/a2c_vs_sb3.py | tee benchmarks/results/a2c_vs_sb3.md

data: setup  ## regenerate a cached artefact in data/ (NAME=dqn_sweep; without NAME: list them)
	$(PY) -m mini_lib.artefacts $(NAME)

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache
