#!/usr/bin/env bash
# Runs wsforge's Autobahn-equivalent conformance suite in both roles:
#   1. server role: our echo server (autobahn/server) tested by the runner in
#      fuzzing client mode;
#   2. client role: the runner in fuzzing server mode, tested by our echo
#      client (autobahn/client).
# Fails when either role has a case that is not OK (or informational).
#
# Environment:
#   AUTOBAHN_CASES    case patterns to run (default "*": sections 12 and 13 are
#                     listed as not run)
#   AUTOBAHN_EXCLUDE  case patterns to leave out (default none)
#   AUTOBAHN_AGENT    agent name in the reports (default wsforge)
#   AUTOBAHN_REPORTS  report directory (default autobahn/reports)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

cases=${AUTOBAHN_CASES:-*}
exclude=${AUTOBAHN_EXCLUDE:-}
agent=${AUTOBAHN_AGENT:-wsforge}
reports=${AUTOBAHN_REPORTS:-autobahn/reports}

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s%N; }
elapsed() { echo "$(( ($(now) - $1) / 1000000 ))" | awk '{printf "%.1f s", $1/1000}'; }

# wait_for_file FILE PID: wait until FILE is written, or PID died (10 s max).
wait_for_file() {
	for _ in $(seq 1 100); do
		[ -s "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

echo "== building the runner and the testees"
go build -o "$work/runner" ./autobahn/runner
go build -o "$work/server" ./autobahn/server
go build -o "$work/client" ./autobahn/client

echo "== server role: runner (fuzzing client) against autobahn/server"
"$work/server" -addr 127.0.0.1:0 -addr-file "$work/server.addr" 2>"$work/server.log" &
server_pid=$!
pids+=("$server_pid")
if ! wait_for_file "$work/server.addr" "$server_pid"; then
	echo "echo server did not start:" >&2
	cat "$work/server.log" >&2
	exit 2
fi
t0=$(now)
server_rc=0
"$work/runner" -mode fuzzingclient -url "ws://$(cat "$work/server.addr")" -agent "$agent" \
	-cases "$cases" -exclude "$exclude" -outdir "$reports/servers" || server_rc=$?
server_time=$(elapsed "$t0")
kill "$server_pid" 2>/dev/null || true
if [ -s "$work/server.log" ]; then
	echo "-- echo server log:"
	cat "$work/server.log"
fi

echo
echo "== client role: autobahn/client against the runner (fuzzing server)"
"$work/runner" -mode fuzzingserver -addr 127.0.0.1:0 -addr-file "$work/fuzzer.addr" \
	-cases "$cases" -exclude "$exclude" -outdir "$reports/clients" -timeout 10m &
fuzzer_pid=$!
pids+=("$fuzzer_pid")
if ! wait_for_file "$work/fuzzer.addr" "$fuzzer_pid"; then
	echo "fuzzing server did not start" >&2
	exit 2
fi
t0=$(now)
client_rc=0
"$work/client" -url "ws://$(cat "$work/fuzzer.addr")" -agent "$agent" || client_rc=$?
# The runner exits once the client asked for the reports; bound the wait.
for _ in $(seq 1 300); do
	kill -0 "$fuzzer_pid" 2>/dev/null || break
	sleep 0.1
done
fuzzer_rc=0
if kill -0 "$fuzzer_pid" 2>/dev/null; then
	echo "fuzzing server still running 30 s after the client ended; stopping it" >&2
	kill "$fuzzer_pid" 2>/dev/null || true
	fuzzer_rc=2
fi
wait "$fuzzer_pid" || fuzzer_rc=$?
client_time=$(elapsed "$t0")

echo
echo "== result"
echo "server role: runner exit $server_rc, $server_time (reports in $reports/servers)"
echo "client role: runner exit $fuzzer_rc, client exit $client_rc, $client_time (reports in $reports/clients)"
if [ "$server_rc" -ne 0 ] || [ "$fuzzer_rc" -ne 0 ] || [ "$client_rc" -ne 0 ]; then
	echo "autobahn: FAILED"
	exit 1
fi
echo "autobahn: OK"
