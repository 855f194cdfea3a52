# forcehttps developer tasks. `make` alone lists them.
# Go tools are pinned in scripts/tools.sh and installed into .tools/bin.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

GO       ?= go
FUZZTIME ?= 10s
RUN_ARGS ?= edge
export GO FUZZTIME

.PHONY: help tools test-deps lint test bench-once fuzz-short vuln check run

help: ## List the targets
	@echo "usage: make TARGET   (variables: FUZZTIME=$(FUZZTIME) RUN_ARGS=$(RUN_ARGS))"
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  %-11s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

tools: ## Install the pinned Go tools (staticcheck, benchstat, govulncheck, h2spec) into .tools/bin
	bash scripts/tools.sh

test-deps: ## Install what the tests drive: Debian's chromium, Pebble (ACME test CA), PostgreSQL, wrk, h2load, h2spec
	bash scripts/browser.sh
	bash scripts/pebble.sh >/dev/null
	bash scripts/postgres.sh >/dev/null
	bash scripts/apt.sh wrk nghttp2-client >/dev/null
	bash scripts/tools.sh h2spec

lint: ## gofmt -l, go vet, staticcheck, go mod tidy -diff (all modules), shellcheck
	bash scripts/lint.sh
	bash scripts/shellcheck.sh

test: test-deps ## The whole suite: go test -race -shuffle=on ./... ; nested modules (bench/) in short mode
	bash scripts/modules.sh run root -- $(GO) test -race -shuffle=on ./...
	$(GO) test -count=1 -run '^TestLateWrite' .   # racy by design: see latewrite_test.go
	$(GO) test -count=1 ./internal/rawio ./internal/h1 ./internal/h2 ./internal/upstream ./internal/edge   # raw system calls: only built without -race (internal/rawio)
	bash scripts/modules.sh run nested -- $(GO) test -short -run . -bench='^$$' ./...

bench-once: ## Run every benchmark once (-benchtime=1x) so they don't rot
	bash scripts/modules.sh run root -- $(GO) test -run='^$$' -bench=. -benchtime=1x ./...

fuzz-short: ## Fuzz each FuzzXxx target of the root module for FUZZTIME
	bash scripts/fuzz.sh

vuln: ## govulncheck ./... (skips if the vulnerability database is unreachable)
	bash scripts/vuln.sh

check: ## tools, lint, test, bench-once, fuzz-short, vuln, stopping at the first failure
	$(MAKE) tools
	$(MAKE) lint
	$(MAKE) test
	$(MAKE) bench-once
	$(MAKE) fuzz-short
	$(MAKE) vuln

run: ## go run ./cmd/forcehttps edge (override: RUN_ARGS="...")
	@if [[ ! -d cmd/forcehttps ]]; then echo "run: cmd/forcehttps does not exist yet" >&2; exit 1; fi
	$(GO) run ./cmd/forcehttps $(RUN_ARGS)
