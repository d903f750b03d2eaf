#!/usr/bin/env bash
# fuzz.sh replays the stored fuzz corpora, then runs every fuzz target
# (func FuzzXxx in a _test.go file) of every package in the module for
# FUZZTIME each, and prints the executions each one reached.
#
#   FUZZTIME  how long each target runs (default 15s; go test -fuzztime syntax,
#             so 10000x means 10,000 executions)
#   FUZZ      a regular expression: run only the targets it matches
#   GO        the go command (default go)
#
# A failing input is written to testdata/fuzz/<Target>/ by go test; commit it
# with the fix so that every later `go test` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
FUZZTIME="${FUZZTIME:-15s}"
FUZZ="${FUZZ:-.}"

echo "== replaying the seed corpora"
"$GO" test -run '^Fuzz' -count=1 ./...

summary=()
found=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for dir in $("$GO" list -f '{{.Dir}}' ./...); do
	for t in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		if ! grep -Eq -- "$FUZZ" <<<"$t"; then
			continue
		fi
		found=1
		echo "== $t in ${dir#"$PWD"/} ($FUZZTIME)"
		if ! (cd "$dir" && "$GO" test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" .) 2>&1 | tee "$log"; then
			echo "fuzz: $t failed; the input is under ${dir#"$PWD"/}/testdata/fuzz/$t/" >&2
			exit 1
		fi
		execs="$(grep -o 'execs: [0-9]*' "$log" | tail -n 1 | sed 's/execs: //')"
		summary+=("$(printf '%-24s %12s execs in %s' "$t" "${execs:-?}" "$FUZZTIME")")
	done
done
if [ "$found" = 0 ]; then
	echo "fuzz: no fuzz target matches $FUZZ" >&2
	exit 1
fi
echo "== summary"
printf '%s\n' "${summary[@]}"
