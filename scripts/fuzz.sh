#!/usr/bin/env bash
# fuzz.sh replays the stored fuzz corpora, then runs every fuzz target
# (func FuzzXxx in a _test.go file) of every package in the module for
# FUZZTIME each, and prints the executions each one reached.
#
#   FUZZTIME    how long each target runs (default 15s; go test -fuzztime
#               syntax, so 10000x means 10,000 executions)
#   FUZZ        a regular expression: run only the targets it matches
#   GO          the go command (default go)
#   WSFORGE_T0  when the whole run started (seconds since the epoch; set by
#               the Makefile): progress lines show the time since
#
# Each target starts with a line "== fuzz FuzzXxx (n/N)" and ends with its
# duration, which includes building its instrumented test binary: on a
# loaded machine that build takes longer than the fuzzing itself.
#
# A failing input is written to testdata/fuzz/<Target>/ by go test; commit it
# with the fix so that every later `go test` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
FUZZTIME="${FUZZTIME:-15s}"
FUZZ="${FUZZ:-.}"
t0="${WSFORGE_T0:-$(date +%s)}"

# dur SECONDS prints a duration as 3m02s; at prints the time since t0.
dur() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
at() { echo "[at $(dur $(($(date +%s) - t0)))]"; }

start=$(date +%s)
echo "== fuzz: replaying the seed corpora (builds the test binaries)   $(at)"
"$GO" test -run '^Fuzz' -count=1 ./...
echo "== fuzz: corpora replayed in $(dur $(($(date +%s) - start)))   $(at)"

# The targets, as "dir target" lines, so that the count is known up front.
targets=()
for dir in $("$GO" list -f '{{.Dir}}' ./...); do
	for t in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		if grep -Eq -- "$FUZZ" <<<"$t"; then
			targets+=("$dir $t")
		fi
	done
done
if ((${#targets[@]} == 0)); then
	echo "fuzz: no fuzz target matches $FUZZ" >&2
	exit 1
fi

summary=()
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
n=0
for entry in "${targets[@]}"; do
	dir=${entry% *}
	t=${entry##* }
	n=$((n + 1))
	pkg=.${dir#"$PWD"} # . or ./autobahn/client
	start=$(date +%s)
	echo "== fuzz $t ($n/${#targets[@]}) in $pkg: building, then fuzzing for $FUZZTIME   $(at)"
	if ! (cd "$dir" && "$GO" test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" .) 2>&1 | tee "$log"; then
		echo "fuzz: $t failed; the input is under $pkg/testdata/fuzz/$t/" >&2
		exit 1
	fi
	took=$(dur $(($(date +%s) - start)))
	execs="$(grep -o 'execs: [0-9]*' "$log" | tail -n 1 | sed 's/execs: //')"
	echo "== fuzz $t ($n/${#targets[@]}): ok in $took, ${execs:-?} execs   $(at)"
	summary+=("$(printf '%-24s %12s execs in %s, %s with the build' "$t" "${execs:-?}" "$FUZZTIME" "$took")")
done
echo "== fuzz: summary"
printf '%s\n' "${summary[@]}"
