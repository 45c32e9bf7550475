# The two commands a new user needs: `make serve` (set up, run the service on its embedded defaults) and
# `make test` (set up, run the tests). CI runs `bash .ci/run`, which calls `make test` and then the slow suites.
PY := .venv/bin/python

.PHONY: setup serve test test-slow lint

setup:
	bash scripts/setup.sh

serve: setup
	.venv/bin/redactor db upgrade
	.venv/bin/redactor serve --host 127.0.0.1 --port 8000

lint:
	.venv/bin/ruff check .

test: setup lint
	bash scripts/services.sh
	$(PY) -m pytest -q -m "not slow"

test-slow: setup
	bash scripts/services.sh
	$(PY) -m pytest -q -m slow || [ $$? -eq 5 ]
