# The README's commands. `make setup` builds .venv from scratch on a fresh machine: torch and
# torchvision first, from the pins in constraints.txt, so that pip never picks another torch.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup setup-browser setup-slurm demo test test-all lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt torch torchvision
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Headless Chromium for the leaderboard page's browser test (skipped where it is absent).
# Debian's package, as root; elsewhere install chromium yourself.
setup-browser:
	command -v chromium >/dev/null || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium)

# A real one-node SLURM for tests/slurm (Debian's SLURM 22.05 + munge, as root); the tests that
# need it are skipped where it is absent. The daemons are started by the tests, not here.
setup-slurm:
	command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
	  && command -v munged >/dev/null || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  slurmctld slurmd slurm-client munge)

demo: setup
	$(BIN)/rsbench demo --out demo_out

test: setup
	$(BIN)/ruff check rsbench tests benchmarks
	$(BIN)/pytest -q

test-all: setup
	$(BIN)/pytest -q -m ""

bench: setup
	$(BIN)/python benchmarks/linear_probe.py
	$(BIN)/python benchmarks/sliding_window.py
	$(BIN)/python benchmarks/detection_eval.py
	$(BIN)/python benchmarks/fsdp_memory.py

clean:
	rm -rf demo_out .rsbench_cache .pytest_cache
