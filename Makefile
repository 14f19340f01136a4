# The two commands: `make demo` and `make test`. Both set up everything they need first.
.PHONY: setup demo test test-fast bench lint

setup:
	@bash scripts/setup.sh

demo: setup
	@.venv/bin/camcount demo

test: setup
	@bash scripts/fetch_test_weights.sh .camcount/test-models
	@$(MAKE) --no-print-directory lint
	@.venv/bin/pytest

bench: setup
	@.venv/bin/python -m bench

lint: setup
	@.venv/bin/ruff check .
	@.venv/bin/lint-imports --no-cache
