# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go

.PHONY: build test run proto proto-check bench lint clean

## build: every binary into bin/
build:
	$(GO) build -o bin/ ./cmd/...
	CGO_ENABLED=0 $(GO) build -o bin/healthcheck ./cmd/healthcheck

## test: install and start what the tests need (MariaDB, PostgreSQL, ...) and run them all
test:
	bash scripts/test.sh

## run: install what is missing, build, and start a local cluster on SQLite
run: build
	bash scripts/install-deps.sh run
	bin/diego-dev

## proto: regenerate the Go code of proto/ with the pinned generators
proto:
	bash scripts/genproto.sh

## proto-check: fail if the committed generated code differs from what proto/ generates
proto-check:
	bash scripts/genproto.sh --check

## bench: the diego-bench scenarios (a database is started for those that need one)
bench: build
	bash scripts/bench.sh

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin .diego-dev
