# GenStudio: `make run` opens the app, `make test` runs the whole test suite. Both create .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Pinned in every install command so nothing swaps the CPU build of torch for a CUDA one.
TORCH := torch==2.13.0

.PHONY: run test package selftest starter bench lint screenshots clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH) -e .
	touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(PY) -m pip install --quiet $(TORCH) -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(PY) main.py

test: $(VENV)/.dev
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check genstudio trainers tests benchmarks packaging scripts main.py
	$(VENV)/bin/lint-imports

package: $(VENV)/.dev
	$(PY) -m pip install --quiet $(TORCH) -e '.[package]'
	$(PY) packaging/build.py

selftest: $(VENV)/.installed
	QT_QPA_PLATFORM=offscreen $(PY) -m genstudio.cli selftest

starter: $(VENV)/.installed
	$(PY) -m trainers.starters

bench: $(VENV)/.dev
	$(PY) -m pip install --quiet $(TORCH) -r benchmarks/requirements.txt
	$(PY) -m pip install --quiet --no-deps $(TORCH) denoising-diffusion-pytorch stylegan2-pytorch
	$(PY) benchmarks/diffusion.py
	$(PY) benchmarks/gan_throughput.py

# Every canvas and dialog in both themes, under a virtual X server (apt-get install xvfb).
screenshots: $(VENV)/.installed
	xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) scripts/screenshots.py

clean:
	rm -rf build dist .pytest_cache
