#!/usr/bin/env bash
# stage.sh NAME [COMMAND [ARG...]] runs COMMAND as one stage of a make
# target and frames it with progress lines for the CI log:
#
#   == unit (race): go test -race -count=1 ./...   [at 0m41s]
#   ...the command's output...
#   == unit (race): ok in 3m02s                    [at 3m43s]
#
# "at" is the time since WSFORGE_T0 (seconds since the epoch; the Makefile
# sets it when make starts), so every line says how far the whole run has
# got. Without COMMAND it prints only the first line. The exit status is
# COMMAND's.
set -uo pipefail

name=$1
shift
t0=${WSFORGE_T0:-$(date +%s)}

# dur SECONDS prints a duration as 3m02s.
dur() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

start=$(date +%s)
if (($# == 0)); then
	echo "== $name   [at $(dur $((start - t0)))]"
	exit 0
fi
echo "== $name: $*   [at $(dur $((start - t0)))]"
"$@"
status=$?
end=$(date +%s)
if ((status == 0)); then
	echo "== $name: ok in $(dur $((end - start)))   [at $(dur $((end - t0)))]"
else
	echo "== $name: FAILED (exit $status) after $(dur $((end - start)))   [at $(dur $((end - t0)))]" >&2
fi
exit "$status"
