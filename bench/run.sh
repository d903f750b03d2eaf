#!/usr/bin/env bash
# run.sh runs the side-by-side benchmarks and summarises them with benchstat.
#
#   bash run.sh                          # 5 samples of everything, 2,000 idle conns
#   BENCH_IDLE_CONNS=10000 bash run.sh   # the full idle figure
#
# COUNT (default 5) samples are taken as COUNT passes of -count=1 over the
# whole suite rather than one -count=COUNT pass, so that a change in the
# machine's load spreads over every library instead of landing on one.
# IDLE_COUNT (default COUNT) does the same for the idle benchmark (0 skips
# it). Raw output goes to OUT (default ./results).
set -euo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-5}
IDLE_COUNT=${IDLE_COUNT:-$COUNT}
OUT=${OUT:-results}
export BENCH_IDLE_CONNS=${BENCH_IDLE_CONNS:-2000}
mkdir -p "$OUT"
raw=$OUT/throughput.txt
idle=$OUT/idle.txt
: >"$raw"
: >"$idle"

note() { echo "# $(date -u +%FT%TZ) $*" | tee -a "$raw"; }

note "go $(go env GOVERSION), $(nproc) CPUs, GOMAXPROCS=${GOMAXPROCS:-default}, load: $(cut -d' ' -f1-3 /proc/loadavg)"

# Every library must echo correctly, compressed or not, before it is timed.
go test -count=1 -run '^TestEcho$' .

go test -c -o "$OUT/bench.test" .
for i in $(seq "$COUNT"); do
	note "pass $i of $COUNT, load: $(cut -d' ' -f1-3 /proc/loadavg)"
	"$OUT/bench.test" -test.run '^$' -test.benchmem \
		-test.bench '^(BenchmarkEcho|BenchmarkServerIO|BenchmarkEchoCompressed)$' | tee -a "$raw"
done
for i in $(seq "$IDLE_COUNT"); do
	echo "# pass $i of $IDLE_COUNT, $BENCH_IDLE_CONNS conns, load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$idle"
	"$OUT/bench.test" -test.run '^$' -test.benchmem -test.benchtime 1x \
		-test.bench '^BenchmarkIdle$' | tee -a "$idle"
done
note "done, load: $(cut -d' ' -f1-3 /proc/loadavg)"

# benchstat: the one on PATH, else the latest through the module proxy.
if command -v benchstat >/dev/null 2>&1; then
	benchstat=(benchstat)
elif go run golang.org/x/perf/cmd/benchstat@latest -h >/dev/null 2>&1; then
	benchstat=(go run golang.org/x/perf/cmd/benchstat@latest)
else
	echo "benchstat not available: raw results are in $raw and $idle" >&2
	exit 0
fi
# One column per library, one row per benchmark and size. Five samples are
# too few for benchstat's default 0.95 confidence interval; 0.9 needs five.
"${benchstat[@]}" -confidence 0.9 -col /lib "$raw" | tee "$OUT/summary.txt"
if grep -q '^Benchmark' "$idle"; then
	"${benchstat[@]}" -confidence 0.9 -col /lib "$idle" | tee -a "$OUT/summary.txt"
fi
