#!/usr/bin/env bash
# `make bench` (second half): docs/design.md's waagent.log budget measured as it
# is written, end to end through `vql query` on one core:
#
#   SELECT count() FROM azure_waagent_log(filename=LOG)      (>= 100 MB/s, peak RSS < 64 MB)
#
# and, for scale, the query engine's own floor: the same number of rows
# from range(), which parses nothing, through the same command.
#
#   tests/integration/bench-e2e.sh LOG [SIZE] [RUNS]
# LOG is generated with tools/loggen when missing (SIZE default 200MB).
# Each query runs RUNS times (default 5); the median wall time is quoted.
set -euo pipefail

LOG=${1:?usage: bench-e2e.sh LOG [SIZE] [RUNS]}
SIZE=${2:-200MB}
RUNS=${3:-5}
VQL=${VQL:-$(pwd)/bin/vql}

. "$(dirname "$0")/benchlog.sh"

# One core, as the budget is stated: Go then sets GOMAXPROCS to 1.
PIN=()
if command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null; then
	PIN=(taskset -c 0)
	cores="pinned to cpu 0"
else
	cores="not pinned (no taskset): $(nproc) cores"
fi

# records in the log, from the plugin itself (one row)
records=$("$VQL" query --format jsonl --env "F=$LOG" \
	"SELECT count() AS N FROM azure_waagent_log(filename=F) GROUP BY 1" | sed -n 's/.*"N":\([0-9]*\).*/\1/p')

measure() { # name query -> "median_wall max_rss_kb"
	local name=$1 q=$2 walls=() rss=0 w r
	for _ in $(seq "$RUNS"); do
		"${PIN[@]}" /usr/bin/time -f '%e %M' -o "$TMP/t" "$VQL" query --format json --env "F=$LOG" "$q" >/dev/null
		read -r w r <"$TMP/t"
		walls+=("$w")
		[ "$r" -gt "$rss" ] && rss=$r
	done
	local med
	med=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	printf '%-62s median %6.2f s  (runs: %s)  %7.1f MB/s  peak RSS %5.1f MB\n' "$name" "$med" \
		"$(printf '%s ' "${walls[@]}" | sed 's/ $//')" \
		"$(awk -v b="$bytes" -v s="$med" 'BEGIN { print b / 1e6 / s }')" \
		"$(awk -v r="$rss" 'BEGIN { print r / 1024 }')"
	echo "$med" >"$TMP/$name.med"
}

printf 'bench-e2e: %s, %d bytes, %s records (%.0f bytes per record), %s, %s\n' \
	"$LOG" "$bytes" "$records" "$(awk -v b="$bytes" -v n="$records" 'BEGIN { print b / n }')" "$cores" \
	"$(date -u +%FT%TZ)"
measure "SELECT count() FROM azure_waagent_log(filename=F)" "SELECT count() FROM azure_waagent_log(filename=F)"
measure "engine floor: SELECT count() FROM range(end=$records)" "SELECT count() FROM range(end=$records)"
a=$(cat "$TMP/SELECT count() FROM azure_waagent_log(filename=F).med")
f=$(cat "$TMP/engine floor: SELECT count() FROM range(end=$records).med")
awk -v b="$bytes" -v a="$a" -v f="$f" -v n="$records" 'BEGIN {
	printf "budget: 100 MB/s = %.2f s for this log; the engine floor alone is %.2f s (%.2f us per row); azvql adds %.2f s (%.2f us per record)\n",
		b / 1e8, f, f / n * 1e6, a - f, (a - f) / n * 1e6
}'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
