#!/usr/bin/env bash
# Runs the official Autobahn|Testsuite (Docker image crossbario/autobahn-testsuite)
# against wsforge's testees, in both roles, with the configurations in
# autobahn/config. Needs a Docker engine and host networking (Linux); not
# run in CI. The official reports land in autobahn/reports/docker and are
# checked with the runner's checkreport mode.
#
# Environment:
#   AUTOBAHN_IMAGE  image to run (default crossbario/autobahn-testsuite)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

image=${AUTOBAHN_IMAGE:-crossbario/autobahn-testsuite}
reports="$root/autobahn/reports/docker"
container=wsforge-autobahn-fuzzingserver
mkdir -p "$reports"

work=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
	docker rm -f "$container" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v docker >/dev/null || { echo "docker is not installed" >&2; exit 2; }

go build -o "$work/runner" ./autobahn/runner
go build -o "$work/server" ./autobahn/server
go build -o "$work/client" ./autobahn/client

# wait_port PORT: wait until something listens on 127.0.0.1:PORT (60 s max).
wait_port() {
	for _ in $(seq 1 600); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

echo "== server role: official fuzzing client against autobahn/server (ws://127.0.0.1:9002)"
"$work/server" -addr 127.0.0.1:9002 &
server_pid=$!
wait_port 9002
docker run --rm --network host \
	-v "$root/autobahn/config:/config:ro" -v "$reports:/reports" \
	"$image" wstest -m fuzzingclient -s /config/fuzzingclient.json
kill "$server_pid" 2>/dev/null || true
server_pid=
server_rc=0
"$work/runner" -mode checkreport -report "$reports/servers/index.json" || server_rc=$?

echo "== client role: autobahn/client against the official fuzzing server (ws://127.0.0.1:9001)"
docker run -d --rm --name "$container" --network host \
	-v "$root/autobahn/config:/config:ro" -v "$reports:/reports" \
	"$image" wstest -m fuzzingserver -s /config/fuzzingserver.json >/dev/null
wait_port 9001
client_rc=0
"$work/client" -url ws://127.0.0.1:9001 -agent wsforge || client_rc=$?
docker rm -f "$container" >/dev/null 2>&1 || true
"$work/runner" -mode checkreport -report "$reports/clients/index.json" || client_rc=$?

if [ "$server_rc" -ne 0 ] || [ "$client_rc" -ne 0 ]; then
	echo "autobahn-docker: FAILED"
	exit 1
fi
echo "autobahn-docker: OK"
