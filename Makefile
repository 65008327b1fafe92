# Set-up, demo and test entry points. Needs only python3 (3.11+): uv is bootstrapped into .tools/.
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
DEMO_OUT ?= demo_bundle
PYTEST_ARGS ?=

.PHONY: sync demo test test-slow test-all lint bench bench-scale quality dist-tests

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv

sync: $(UV)
	$(UV) sync --all-packages --frozen --quiet --compile-bytecode

demo: sync
	$(UV) run --no-sync leadforge generate --recipe b2b_saas_procurement_v1 --seed 42 \
		--mode student_public --out $(DEMO_OUT) --no-validate
	$(UV) run --no-sync leadforge validate $(DEMO_OUT)
	$(UV) run --no-sync leadforge inspect $(DEMO_OUT)

test: sync
	$(UV) run --no-sync pytest -n auto -q $(PYTEST_ARGS)

test-slow: sync
	$(UV) run --no-sync pytest -n auto -q --runslow -m slow $(PYTEST_ARGS)

test-all: sync
	$(UV) run --no-sync pytest -n auto -q --runslow $(PYTEST_ARGS)

lint: sync
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .
	$(UV) run --no-sync mypy

bench: sync
	$(UV) run --no-sync python benchmarks/speed.py

bench-scale: sync
	$(UV) run --no-sync python benchmarks/scale.py --quick

quality: sync
	$(UV) run --no-sync python benchmarks/quality.py

dist-tests: $(UV)
	bash .ci/dist-tests.sh
