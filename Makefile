# wsforge developer commands. `make setup test` is what CI runs (.ci/run).

GO       ?= go
FUZZTIME ?= 20s
BENCHFLAGS ?=
ADDR     ?= 127.0.0.1:8080

.PHONY: all setup test vet lint unit bench bench-compare fuzz demo autobahn autobahn-docker

all: test

# setup is idempotent: it checks the toolchain and fetches the module's
# dependencies. Installs needed by later targets (apt, npm) belong here too.
setup:
	@command -v $(GO) >/dev/null 2>&1 || { echo "setup: '$(GO)' not found; install Go 1.25 or later from https://go.dev/dl/" >&2; exit 1; }
	$(GO) version
	$(GO) mod download

test: vet unit autobahn

# vet fails if any file needs gofmt, then runs go vet.
vet:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

lint: vet

unit:
	$(GO) test -race -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(BENCHFLAGS) ./...

# bench-compare runs the side-by-side benchmarks against other libraries
# (a nested module, so that the library itself depends on none of them).
bench-compare:
	bash bench/run.sh

# fuzz runs every fuzz target (func FuzzXxx in a _test.go file) of every
# package in the module for FUZZTIME each.
fuzz:
	@found=0; \
	for dir in $$($(GO) list -f '{{.Dir}}' ./...); do \
		for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do \
			found=1; \
			echo "== $$t in $$dir ($(FUZZTIME))"; \
			(cd "$$dir" && $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) .) || exit 1; \
		done; \
	done; \
	if [ $$found = 0 ]; then echo "fuzz: no fuzz targets found" >&2; exit 1; fi

demo:
	$(GO) run ./examples/echo -addr $(ADDR)

autobahn:
	@if [ -f autobahn/run.sh ]; then bash autobahn/run.sh; \
	else echo "autobahn: autobahn/run.sh not found (the conformance runner is not in this tree yet)" >&2; exit 1; fi

autobahn-docker:
	@if [ -f autobahn/docker.sh ]; then bash autobahn/docker.sh; \
	else echo "autobahn-docker: autobahn/docker.sh not found" >&2; exit 1; fi
