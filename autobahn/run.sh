#!/usr/bin/env bash
# Runs wsforge's Autobahn-equivalent conformance suite in both roles:
#   1. server role: our echo server (autobahn/server) tested by the runner in
#      fuzzing client mode;
#   2. client role: the runner in fuzzing server mode, tested by our echo
#      client (autobahn/client).
# Both testees negotiate permessage-deflate, which sections 12 and 13 need.
# The two roles run at the same time (each case is a strict round trip
# between one runner and one testee, so one role keeps about one core busy);
# their output is shown one after the other. Fails when either role has a
# case that is not OK (or informational).
#
# Environment:
#   AUTOBAHN_CASES     case patterns to run (default "*": all 517 cases)
#   AUTOBAHN_EXCLUDE   case patterns to leave out (default none)
#   AUTOBAHN_AGENT     agent name in the reports (default wsforge)
#   AUTOBAHN_REPORTS   report directory (default autobahn/reports)
#   AUTOBAHN_PARALLEL  0 runs the roles one after the other (default 1)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

cases=${AUTOBAHN_CASES:-*}
exclude=${AUTOBAHN_EXCLUDE:-}
agent=${AUTOBAHN_AGENT:-wsforge}
reports=${AUTOBAHN_REPORTS:-autobahn/reports}
parallel=${AUTOBAHN_PARALLEL:-1}

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

# server_role writes its exit status to $work/server.rc and its time to
# $work/server.time.
server_role() {
	echo "== server role: runner (fuzzingclient) against autobahn/server"
	"$work/server" -addr 127.0.0.1:0 -addr-file "$work/server.addr" 2>"$work/server.log" &
	local server_pid=$!
	if ! wait_for_file "$work/server.addr" "$server_pid"; then
		echo "echo server did not start:"
		cat "$work/server.log"
		echo 2 >"$work/server.rc"
		return
	fi
	local t0 rc=0
	t0=$(now)
	"$work/runner" -mode fuzzingclient -url "ws://$(cat "$work/server.addr")" -agent "$agent" \
		-cases "$cases" -exclude "$exclude" -outdir "$reports/servers" || rc=$?
	elapsed "$t0" >"$work/server.time"
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	if [ -s "$work/server.log" ]; then
		echo "-- echo server log:"
		cat "$work/server.log"
	fi
	echo "$rc" >"$work/server.rc"
}

# client_role writes the runner's and the client's exit status to
# $work/fuzzer.rc and $work/client.rc and its time to $work/client.time.
client_role() {
	echo "== client role: autobahn/client against the runner (fuzzingserver)"
	"$work/runner" -mode fuzzingserver -addr 127.0.0.1:0 -addr-file "$work/fuzzer.addr" \
		-cases "$cases" -exclude "$exclude" -outdir "$reports/clients" -timeout 10m &
	local fuzzer_pid=$!
	if ! wait_for_file "$work/fuzzer.addr" "$fuzzer_pid"; then
		echo "fuzzing server did not start"
		echo 2 >"$work/fuzzer.rc"
		echo 2 >"$work/client.rc"
		return
	fi
	local t0 client_rc=0 fuzzer_rc=0
	t0=$(now)
	"$work/client" -url "ws://$(cat "$work/fuzzer.addr")" -agent "$agent" || client_rc=$?
	# The runner exits once the client asked for the reports; bound the wait.
	for _ in $(seq 1 300); do
		kill -0 "$fuzzer_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$fuzzer_pid" 2>/dev/null; then
		echo "fuzzing server still running 30 s after the client ended; stopping it"
		kill "$fuzzer_pid" 2>/dev/null || true
		fuzzer_rc=2
	fi
	wait "$fuzzer_pid" || fuzzer_rc=$?
	elapsed "$t0" >"$work/client.time"
	echo "$fuzzer_rc" >"$work/fuzzer.rc"
	echo "$client_rc" >"$work/client.rc"
}

echo "== building the runner and the testees"
go build -o "$work/runner" ./autobahn/runner
go build -o "$work/server" ./autobahn/server
go build -o "$work/client" ./autobahn/client

t0=$(now)
if [ "$parallel" = 0 ]; then
	server_role
	echo
	client_role
else
	echo "== running both roles at the same time"
	server_role >"$work/server-role.out" 2>&1 &
	pids+=("$!")
	client_role >"$work/client-role.out" 2>&1 &
	pids+=("$!")
	wait "${pids[0]}" "${pids[1]}" || true
	cat "$work/server-role.out"
	echo
	cat "$work/client-role.out"
fi
total_time=$(elapsed "$t0")

server_rc=$(cat "$work/server.rc" 2>/dev/null || echo 2)
fuzzer_rc=$(cat "$work/fuzzer.rc" 2>/dev/null || echo 2)
client_rc=$(cat "$work/client.rc" 2>/dev/null || echo 2)
echo
echo "== result"
echo "server role: runner exit $server_rc, $(cat "$work/server.time" 2>/dev/null || echo "?") (reports in $reports/servers)"
echo "client role: runner exit $fuzzer_rc, client exit $client_rc, $(cat "$work/client.time" 2>/dev/null || echo "?") (reports in $reports/clients)"
echo "both roles: $total_time"
if [ "$server_rc" -ne 0 ] || [ "$fuzzer_rc" -ne 0 ] || [ "$client_rc" -ne 0 ]; then
	echo "autobahn: FAILED"
	exit 1
fi
echo "autobahn: OK"
