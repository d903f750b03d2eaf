#!/usr/bin/env bash
# Installs the peers the interop suite and examples/multinode test against:
# Debian's nginx, redis-server, chromium and python3-websockets, and Node's
# ws from interop/node/package-lock.json. It is idempotent: packages already
# present are not fetched again, and apt-get update runs only when something
# is missing.
set -euo pipefail
cd "$(dirname "$0")"

start=$(date +%s)
pkgs=(nginx redis-server chromium python3-websockets)
missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if ((${#missing[@]} > 0)); then
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "interop/setup.sh: apt-get not found; install ${missing[*]} by hand" >&2
		exit 1
	fi
	sudo=()
	if [ "$(id -u)" != 0 ]; then sudo=(sudo); fi
	echo "interop/setup.sh: installing ${missing[*]}"
	"${sudo[@]}" apt-get update -qq
	# nginx and redis-server must not start as services: the tests run
	# their own instances on loopback ports. policy-rc.d refuses the starts
	# that the packages' scripts attempt where a service manager runs.
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
		"${sudo[@]}" chmod +x "$policy"
		trap '"${sudo[@]}" rm -f "$policy"' EXIT
	fi
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "interop/setup.sh: Debian packages ready ($(($(date +%s) - start)) s)"

t=$(date +%s)
if ! command -v npm >/dev/null 2>&1; then
	echo "interop/setup.sh: npm not found; install Node.js 18 or later" >&2
	exit 1
fi
# npm ci deletes node_modules and installs afresh; skip it when the
# lockfile is the one the last install used.
stamp=node/node_modules/.installed-lock.json
if ! cmp -s node/package-lock.json "$stamp" 2>/dev/null; then
	(cd node && npm ci --no-audit --no-fund --loglevel=error)
	cp node/package-lock.json "$stamp"
fi
echo "interop/setup.sh: npm packages ready ($(($(date +%s) - t)) s)"
