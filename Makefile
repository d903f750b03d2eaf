# wsforge developer commands. `make setup test` is what CI runs (.ci/run).

GO       ?= go
FUZZTIME ?= 20s
BENCHFLAGS ?=
ADDR     ?= 127.0.0.1:8080

# Progress: every stage of setup and test prints a line "== NAME: COMMAND
# [at 4m05s]" when it starts and one with its duration when it ends, the
# times counted from WSFORGE_T0, when the first make started.
ifndef WSFORGE_T0
WSFORGE_T0 := $(shell date +%s)
endif
export WSFORGE_T0
STAGE = bash scripts/stage.sh

.PHONY: all setup test vet lint unit bench bench-compare fuzz fuzz-smoke soak demo echo autobahn autobahn-docker interop

all: test

# setup is idempotent: it checks the toolchain, fetches the modules'
# dependencies and installs the interop peers (Debian: nginx, redis-server,
# chromium, python3-websockets; npm: ws from a lockfile) when missing.
setup:
	@command -v $(GO) >/dev/null 2>&1 || { echo "setup: '$(GO)' not found; install Go 1.25 or later from https://go.dev/dl/" >&2; exit 1; }
	$(GO) version
	@$(STAGE) 'setup: modules' $(GO) mod download
	@$(STAGE) 'setup: interop peers' bash interop/setup.sh

# test is what CI runs after setup: formatting and vet, the unit tests under
# -race, every fuzz target briefly, both roles of the conformance suite, and
# the real peers. About 6 minutes on an idle 2-core machine (CI: 351 s).
test: vet unit fuzz-smoke autobahn interop
	@$(STAGE) 'test: every stage passed'

# vet fails if any file needs gofmt (it lists them), then runs go vet.
vet:
	@$(STAGE) 'vet: gofmt -l' sh -c '! gofmt -l . | grep .'
	@$(STAGE) vet $(GO) vet ./...
	@$(STAGE) 'vet: arm64 (NEON masking), 386 and purego builds' sh -c 'GOARCH=arm64 $(GO) vet . && GOARCH=386 $(GO) vet . && $(GO) vet -tags purego .'
	@$(STAGE) 'unit: purego masking' $(GO) test -tags purego -count=1 -run 'Mask' .

lint: vet

# unit runs the tests under -race, then the root package again without it:
# testing.AllocsPerRun assertions skip under -race, so only the second run
# holds the zero-allocation promises.
unit:
	@$(STAGE) 'unit (race)' $(GO) test -race -count=1 ./...
	@$(STAGE) 'unit (no race)' $(GO) test -count=1 .

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(BENCHFLAGS) ./...

# bench-compare runs the side-by-side benchmarks against other libraries
# (a nested module, so that the library itself depends on none of them).
bench-compare:
	bash bench/run.sh

# fuzz replays the corpora, then runs every fuzz target (func FuzzXxx in a
# _test.go file) of every package in the module for FUZZTIME each.
fuzz:
	@$(STAGE) fuzz env FUZZTIME=$(FUZZTIME) GO=$(GO) bash scripts/fuzz.sh

# fuzz-smoke is the short run CI does: 10 seconds a target, plus the time
# to build each target's instrumented test binary.
fuzz-smoke:
	@$(STAGE) 'fuzz smoke' env FUZZTIME=10s GO=$(GO) bash scripts/fuzz.sh

# soak runs the long soak test (many connections, random sizes, fragments
# and pings, every echo checked).
soak:
	WSFORGE_SOAK=long $(GO) test -run '^TestSoak' -count=1 -v -timeout 60m .

# demo is the README's main job: the multi-room chat on http://$(ADDR)/.
demo:
	$(GO) run ./examples/chat -addr $(ADDR)

echo:
	$(GO) run ./examples/echo -addr $(ADDR)

autobahn:
	@if [ -f autobahn/run.sh ]; then $(STAGE) autobahn bash autobahn/run.sh; \
	else echo "autobahn: autobahn/run.sh not found (the conformance runner is not in this tree yet)" >&2; exit 1; fi

autobahn-docker:
	@if [ -f autobahn/docker.sh ]; then bash autobahn/docker.sh; \
	else echo "autobahn-docker: autobahn/docker.sh not found" >&2; exit 1; fi

# interop runs the suite against real peers (Node's ws, Python's websockets,
# headless Chromium, nginx) and the multi-node example on Redis. The peers
# come from setup.
interop:
	@$(STAGE) 'interop: peers' bash interop/setup.sh
	@$(STAGE) 'interop: Node, Python, Chromium, nginx' sh -c 'cd interop && $(GO) vet ./... && $(GO) test -race -count=1 ./...'
	@$(STAGE) 'interop: examples/multinode (Redis, nginx)' sh -c 'cd examples/multinode && $(GO) vet ./... && $(GO) test -race -count=1 ./...'
	@$(STAGE) 'interop: examples/metrics-prometheus' sh -c 'cd examples/metrics-prometheus && $(GO) vet ./... && $(GO) test -race -count=1 ./...'
