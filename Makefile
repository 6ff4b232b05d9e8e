# The README's commands. `make setup` builds .venv from scratch on a fresh machine: torch and
# torchvision first, from the pins in constraints.txt, so that pip never picks another torch.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup setup-mmdet mmcv-wheel setup-browser setup-slurm demo test test-all lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt torch torchvision
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# The optional MMDetection backend (`rsbench[mmdet]`). mmdet 3.3 needs mmcv < 2.2, which has no
# wheels for modern torch, so mmcv 2.1 is compiled here against .venv's torch (about 15 minutes
# on two cores). Its setup.py asks for C++17 while torch's headers need C++20, hence the sed.
# The wheel is kept in a cache keyed by mmcv, torch and Python versions and reused.
MMCV_VERSION := $(shell sed -n 's/^mmcv==//p' constraints.txt)
TORCH_VERSION := $(shell sed -n 's/^torch==//p' constraints.txt)
PY_TAG := $(shell $(PYTHON) -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
MMCV_WHEELS ?= $(HOME)/.cache/rsbench/wheels/mmcv-$(MMCV_VERSION)-torch-$(TORCH_VERSION)-$(PY_TAG)
MMDET_STAMP := $(VENV)/.mmdet-installed
setup-mmdet: $(MMDET_STAMP)

$(MMDET_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt mmengine "setuptools<80" wheel ninja
	ls $(MMCV_WHEELS)/mmcv-$(MMCV_VERSION)-*.whl >/dev/null 2>&1 || $(MAKE) mmcv-wheel
	$(BIN)/pip install --quiet --no-deps $(MMCV_WHEELS)/mmcv-$(MMCV_VERSION)-*.whl
	$(BIN)/pip install --quiet -c constraints.txt -e ".[mmdet]"
	$(BIN)/python -c "import mmcv.ops, mmdet.apis"
	touch $(MMDET_STAMP)

mmcv-wheel:
	rm -rf build/mmcv && mkdir -p build/mmcv $(MMCV_WHEELS)
	$(BIN)/pip download --quiet --no-deps --no-binary :all: --no-build-isolation \
	  mmcv==$(MMCV_VERSION) -d build/mmcv
	tar xzf build/mmcv/mmcv-$(MMCV_VERSION).tar.gz -C build/mmcv
	sed -i 's/std=c++17/std=c++20/g' build/mmcv/mmcv-$(MMCV_VERSION)/setup.py
	MMCV_WITH_OPS=1 MAX_JOBS=$$(nproc) $(BIN)/pip wheel --quiet --no-deps --no-build-isolation \
	  -w $(MMCV_WHEELS) build/mmcv/mmcv-$(MMCV_VERSION)

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
	$(BIN)/mypy
	$(BIN)/pytest -q

test-all: setup
	$(BIN)/pytest -q -m ""

bench: setup
	$(BIN)/python benchmarks/linear_probe.py
	$(BIN)/python benchmarks/sliding_window.py
	$(BIN)/python benchmarks/detection_eval.py
	$(BIN)/python benchmarks/fsdp_memory.py
	$(BIN)/python benchmarks/load_memory.py
	$(BIN)/python benchmarks/probe_heads.py --one-at-a-time-heads 1

clean:
	rm -rf demo_out .rsbench_cache .pytest_cache
