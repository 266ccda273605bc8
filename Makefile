# Convene build and test entry points. `make test` is the command CI runs.

GO ?= go
# The actor, session and transport packages run under the race detector.
# Suites that start a protoactor cluster member run without it: the pinned
# protoactor-go reads its member list without a lock when a grain stops
# (cluster/member_list.go, BroadcastEvent) and races in its block list on
# shutdown, so the detector reports the library, not Convene.
RACE_PKGS := ./actors/... ./auth/... ./signaling/... ./transport/... ./client/... ./store/... ./internal/... ./metrics/...
OTHER_PKGS := ./messages/... ./control/... ./config/... ./httpapi/... ./cluster/... ./node/... ./cmd/... ./test/...

.PHONY: all build test test-deps vet lint generate demo bench clean

all: build

build:
	$(GO) build -o bin/convene ./cmd/convene

## test: everything CI runs: dependencies, generated-code check, vet, tests.
test: test-deps vet
	$(GO) test -race -count=1 -timeout 15m $(RACE_PKGS)
	$(GO) test -count=1 -timeout 15m $(OTHER_PKGS)

## test-deps: fetch the Go modules and build the pinned tools (buf, protoc
## plugins, grpcurl) that the tests run.
test-deps:
	$(GO) mod download
	$(GO) build -modfile=tools/go.mod -o /dev/null github.com/bufbuild/buf/cmd/buf github.com/fullstorydev/grpcurl/cmd/grpcurl

vet:
	$(GO) vet ./...

## lint: buf lint over proto/.
lint:
	$(GO) tool -modfile=tools/go.mod buf lint

## generate: regenerate messages/ from proto/ with the local plugins.
generate:
	$(GO) tool -modfile=tools/go.mod buf lint
	$(GO) tool -modfile=tools/go.mod buf generate

demo:
	$(GO) run ./cmd/convene demo

## bench: the benchmarks recorded in docs/benchmarks.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./auth/binding/ ./messages/framing/ ./actors/mailboxstats/
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 300x -count 3 ./test/bench/

clean:
	rm -rf bin
