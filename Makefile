# The two commands a new user needs: `make serve` (set up what serving needs, run the service on its embedded
# defaults) and `make test` (set up what testing needs, run the tests). Setup skips whatever is already satisfied.
# CI runs `bash .ci/run`, which calls `make test` and then the slow suites.
PY := .venv/bin/python

.PHONY: setup setup-serve serve test test-slow lint

setup-serve:
	bash scripts/setup.sh serve

setup:
	bash scripts/setup.sh test

serve: setup-serve
	.venv/bin/redactor db upgrade
	.venv/bin/redactor serve --host 127.0.0.1 --port 8000

lint: setup
	.venv/bin/ruff check .

test: setup lint
	bash scripts/services.sh
	$(PY) -m pytest -q -m "not slow"

test-slow: setup
	bash scripts/services.sh
	$(PY) -m pytest -q -m slow || [ $$? -eq 5 ]
