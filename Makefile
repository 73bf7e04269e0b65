# Rustis: `make help` lists the targets.
SHELL := /bin/bash
PORT ?= 6379
ARGS ?=
CARGO ?= cargo

.PHONY: help run build test deps bench flamegraph lint clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## Release build (target/release/rustis)
	$(CARGO) build --release

run: build ## Build and run the server in the foreground (PORT=6379, ARGS= for more flags)
	./target/release/rustis --port $(PORT) $(ARGS)

deps: ## Install what the tests need (redis-server, redis-tools) when missing
	@bash tools/ensure-deps.sh

test: deps ## Run every test: Rust unit/property/integration/differential + Python tooling tests
	$(CARGO) test --no-fail-fast
	python3 -m unittest discover -s tests/python -t . -v

bench: build ## Rustis versus redis-server, every suite, non-interactive
	python3 benchmark.py --versus-redis --suite all --label bench-$$(git rev-parse --short HEAD 2>/dev/null || echo local)

flamegraph: build ## Profile under load (server on port 16399) with perf cpu-clock; SVG by inferno
	bash tools/flamegraph.sh

lint: ## cargo fmt --check and clippy -D warnings
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

clean: ## Remove build products and profiles
	$(CARGO) clean
	rm -rf perf.data perf.data.old flamegraph*.svg tools/__pycache__ tests/python/__pycache__
