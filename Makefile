# Two commands do everything on a fresh machine with Python 3.11, 3.12 or 3.13 and make:
#   make report   build the whole evaluation from the shipped data
#   make test     run the test suite
# Everything else is a step of those two.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP  := $(VENV)/.installed
KERNEL := kuntakokeilu
JOBS   ?= 2
# uv must not manage interpreters or touch anything outside the project
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1

.PHONY: setup report test test-fast data panel runs lab bench clean help

help:
	@echo "make report  build panel, run notebooks, render report (HTML + PDF)"
	@echo "make test    run the full test suite (slow tests included)"
	@echo "make setup   create .venv with pinned dependencies and the '$(KERNEL)' kernel"
	@echo "make data    verify raw data checksums and build data/processed/panel.parquet"
	@echo "make lab     start JupyterLab on 127.0.0.1 with the '$(KERNEL)' kernel"
	@echo "make bench   speed against peer libraries (benchmarks/README.md)"

setup: $(STAMP)

$(STAMP): pyproject.toml uv.lock
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v < (3, 14) else "make setup: Python 3.11 to 3.13 is needed, $(PYTHON) is %d.%d; run e.g. make setup PYTHON=python3.12" % v)'
	@echo ">> setup 1/4: creating $(VENV) with $$($(PYTHON) --version)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo ">> setup 2/4: installing uv $(UV_VERSION) into $(VENV) (pip)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@echo ">> setup 3/4: installing the pinned dependencies of uv.lock (first time: about a minute)"
	@# --compile-bytecode: .pyc files make every notebook kernel start ~3x faster
	@$(BIN)/uv sync --frozen --inexact --extra dev --compile-bytecode
	@echo ">> setup 4/4: registering Jupyter kernel '$(KERNEL)'"
	@$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (kuntakokeilu)" >/dev/null
	@# numba compiles the solvers' kernels once into its on-disk cache (~10 s), so that parallel
	@# runs and test workers load them instead of each compiling them again
	@echo ">> setup: compiling the estimators' numba kernels (first time: ~10 s)"
	@$(BIN)/python -c "from analysis.estimators._compiled import warm; warm()"
	@touch $(STAMP)
	@echo ">> setup: done ($(BIN)/python, $(BIN)/kuntakokeilu)"

data: setup
	@$(BIN)/kuntakokeilu panel

panel: data

runs: data
	@$(BIN)/kuntakokeilu run --jobs $(JOBS)

report: runs
	@$(BIN)/kuntakokeilu report

test: setup
	@echo ">> test: running the test suite (slow tests included)"
	@$(BIN)/python -m pytest -n $(JOBS) --durations=15 -m "not serial"
	@echo ">> test: deadline tests, alone on the machine"
	@$(BIN)/python -m pytest -m serial

test-fast: setup
	@$(BIN)/python -m pytest -n $(JOBS) -m "not slow"

lab: setup
	@# --allow-root only where the user is root (containers), where JupyterLab refuses otherwise
	@$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser --notebook-dir=notebooks \
		--MappingKernelManager.default_kernel_name=$(KERNEL) $(if $(filter 0,$(shell id -u)),--allow-root)

bench: setup
	@$(BIN)/uv sync --frozen --inexact --extra dev --group bench --compile-bytecode --quiet
	@$(BIN)/uv pip install --quiet --no-deps "synthdid==0.10.1"
	@$(BIN)/python benchmarks/run_benchmarks.py

clean:
	rm -rf data/processed/*.parquet reports/_build reports/_output
