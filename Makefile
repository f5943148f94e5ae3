# `make test` and `make demo` install what they need first (scripts/bootstrap.sh).
VENV := .venv/bin
DEMO_OUT ?= auditor-demo

.PHONY: setup test lint typecheck unit demo docs golden clean

setup:
	@scripts/bootstrap.sh

lint: setup
	$(VENV)/ruff check auditor tests benchmarks tools

typecheck: setup
	$(VENV)/mypy

unit: setup
	$(VENV)/pytest -q

test: setup lint typecheck unit

demo: setup
	$(VENV)/auditor demo --out $(DEMO_OUT)

docs: setup
	$(VENV)/auditor rules doc > docs/rules.md
	$(VENV)/python -m auditor.schemas docs

golden: setup
	$(VENV)/pytest -q tests --update-golden

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache $(DEMO_OUT)
