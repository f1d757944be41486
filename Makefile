.PHONY: run test setup services stop migrate lint bench

run:   ## set up everything and run web + worker + beat (Ctrl-C stops all)
	infra/dev/run.sh

test:  ## set up everything and run lint, types, import contract, tests and browser tests
	infra/dev/test.sh

setup:
	infra/dev/setup.sh --browser

services:
	infra/dev/services.sh start

stop:
	infra/dev/services.sh stop

migrate:
	infra/dev/db.sh

bench:
	.venv/bin/python bench/tenancy.py
	.venv/bin/python bench/llm_overhead.py
	.venv/bin/python bench/pipeline_engine.py
	.venv/bin/python bench/turns.py
