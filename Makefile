# PAKE Operator. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Every target runs with the cached toolchain on PATH (Node 24, kubectl,
# kube-apiserver, etcd, helm) and PAKE_* variables naming the binaries.
TOOLS := . "$$(bash tools/toolchain.sh)" &&

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: toolchain
toolchain: ## Install Node 24, build the Kubernetes binaries, etcd and helm (cached), install PostgreSQL/Redis
	@bash tools/toolchain.sh >/dev/null

node_modules/.package-lock.json: package-lock.json
	@$(TOOLS) npm ci --no-audit --no-fund --loglevel=error

.PHONY: deps
deps: toolchain node_modules/.package-lock.json ## Install npm dependencies

.PHONY: build
build: deps ## Compile TypeScript to dist/
	@$(TOOLS) npm run -s build

.PHONY: generate
generate: deps ## Regenerate CRDs and chart files from the zod schemas in src/crds
	@$(TOOLS) npm run -s generate

.PHONY: generate-check
generate-check: deps ## Fail when generated CRDs are stale
	@$(TOOLS) npm run -s generate:check

.PHONY: lint
lint: deps generate-check ## ESLint, Prettier and the TypeScript compiler
	@$(TOOLS) npm run -s typecheck && npm run -s lint

.PHONY: test
test: deps generate-check ## Type-check, then run unit and integration tests against real parts; prints "N passed, N failed"
	@$(TOOLS) npm run -s typecheck && node tools/run-tests.ts

.PHONY: test-unit
test-unit: deps ## Unit tests only (pure logic, no processes)
	@$(TOOLS) node tools/run-tests.ts --project unit

.PHONY: test-integration
test-integration: deps ## Integration tests only (real control plane, PostgreSQL, Redis)
	@$(TOOLS) node tools/run-tests.ts --project integration --project canary

.PHONY: bench
bench: deps ## Benchmarks under bench/ (not part of make test)
	@$(TOOLS) for b in bench/*.bench.ts; do node --expose-gc "$$b"; done

.PHONY: dev
dev: deps ## Start control plane, PostgreSQL, Redis (and the operator) in the foreground; Ctrl-C stops all
	@$(TOOLS) node tools/dev.ts

.PHONY: dev-up
dev-up: deps ## Same as dev, in the background; returns when ready
	@$(TOOLS) node tools/dev.ts --detach

.PHONY: dev-down
dev-down: ## Stop what dev-up started
	@$(TOOLS) node tools/dev.ts --down

.PHONY: clean
clean: ## Remove build output and the dev environment's state (not the toolchain cache)
	rm -rf dist .dev coverage
