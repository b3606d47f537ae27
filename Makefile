# replicad: a WS-Management (WinRM) SMI-S replication service for sparse image files.
GO       ?= go
DATA_DIR ?= ./replicad-data
LISTEN   ?= 127.0.0.1:5985
FUZZTIME ?= 30s
# CI_FUZZTIME bounds each fuzz target's run inside `make test`.
CI_FUZZTIME ?= 5s

.PHONY: run build test test-short cover fuzz bench lint clean

## run: build and start the daemon on embedded defaults (127.0.0.1:5985, ./replicad-data); Ctrl-C stops it and make exits 0
run:
	$(GO) run ./cmd/replicad --listen $(LISTEN) --data-dir $(DATA_DIR) --log-format console --own-terminal

## build: compile replicad and replicactl into ./bin
build:
	$(GO) build -o bin/ ./cmd/...

# RACE_GCFLAGS: under -race, golang.org/x/crypto/blowfish (bcrypt's cipher: pure
# computation on memory one goroutine owns) is compiled without the race
# detector's instrumentation, which made each bcrypt cost 2 s of CPU instead of
# 0.1 s; every package of replicad and the rest of its dependencies keep it. The
# integration tests build their daemon the same way (integration/daemon_test.go),
# and every test's daemon is that -race build: a plain build for the protocol-only
# tests saved no wall time once bcrypt was fixed (docs/testing.md).
RACE_GCFLAGS ?= golang.org/x/crypto/blowfish=-race=false

# -vet=off: go vet ./... has just run every analyzer on every package and its
# tests; go test would run a subset of them again.
## test: install test dependencies, vet, and run every test (unit and integration, with the race detector) with real clients required, then each fuzz target for CI_FUZZTIME
test:
	./scripts/test-deps.sh
	$(GO) vet ./...
	REPLICAD_REQUIRE_CLIENTS=1 $(GO) test -race -gcflags='$(RACE_GCFLAGS)' -vet=off -count=1 -timeout 40m ./...
	./scripts/fuzz.sh $(CI_FUZZTIME)

## test-short: unit tests only, in about a minute: -short skips the integration tests (every test that runs the replicad binary) and the few slow unit tests; no race detector
test-short:
	$(GO) test -short -count=1 ./...

## cover: unit and integration tests with coverage counted in the daemons too; per-package table (scripts/cover.sh, docs/testing.md)
cover:
	./scripts/cover.sh

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

## bench: Go benchmarks plus the side-by-side copy comparison
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	./bench/copy.sh

lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l .; exit 1)
	$(GO) vet ./...

clean:
	rm -rf bin
crashtest: ; ./scripts/crashtest.sh
load: ; $(GO) build -o bin/ ./cmd/replicad && $(GO) run ./bench/load -replicad bin/replicad
reliability: ; ./scripts/reliability.sh
