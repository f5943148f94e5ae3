# The README's two commands are `scripts/bootstrap.sh demo` and `scripts/bootstrap.sh test` (they
# install make itself on a bare Debian); these targets install what they need first, too.
VENV := .venv/bin
DEMO_OUT ?= auditor-demo

.PHONY: setup test lint typecheck unit demo docs golden wheel-check clean

setup:
	@scripts/bootstrap.sh install test

lint: setup
	$(VENV)/ruff check auditor tests benchmarks tools

typecheck: setup
	$(VENV)/mypy

# Three workers on two cores, whole files each (module fixtures render their PDFs once): with two,
# the cores were idle a third of the time (tests wait on the lab, endpoints, deadlines and child
# processes). Each worker starts its own PostgreSQL lab and endpoint on free ports.
# Bytecode caches on even where the environment turns them off (PYTHONDONTWRITEBYTECODE): the
# suite starts Python over a hundred times (the CLI, lab servers, PDF workers), and without
# them each start compiles auditor's 170 modules again (0.6 s of a 2.5 s start).
unit: setup
	env -u PYTHONDONTWRITEBYTECODE $(VENV)/pytest -q -n 3 --dist loadfile

test: setup lint typecheck unit

demo:
	@scripts/bootstrap.sh install demo
	$(VENV)/auditor demo --out $(DEMO_OUT)

# The built wheel in a fresh venv: `auditor demo`, and `auditor lab sql up/down` with [lab].
wheel-check: setup
	scripts/wheel-check.sh

docs: setup
	$(VENV)/auditor rules doc > docs/rules.md
	$(VENV)/python -m auditor.schemas docs

golden: setup
	$(VENV)/pytest -q tests --update-golden

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache $(DEMO_OUT)
