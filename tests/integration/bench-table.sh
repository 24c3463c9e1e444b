#!/usr/bin/env bash
# `make bench` (second half): every line of issue 18's table, measured in
# one run on this machine, each pinned to one core (taskset -c 0) and
# unpinned, median of RUNS (default 5) runs: wall time, CPU time
# (user+sys) and peak RSS of the median-wall run's set. Where there is a
# floor (the engine alone, range()) or a stock query (Velociraptor's
# parse_records_with_regex, only when bin/velociraptor-azvql exists:
# `make velociraptor`), it is measured in the same run and the ratio is
# printed.
#
#   tests/integration/bench-table.sh LOG [SIZE] [RUNS]
# LOG is generated with tools/loggen when missing (SIZE default 200MB).
# The executions lines use generated trees of BENCH_EXEC_N executions
# (default "10000"; e.g. "10000 30000 100000" for the RSS line), kept in
# BENCH_TREES between runs (default /tmp/azvql-bench).
# Duration on this machine, idle, RUNS=5: about 8 minutes (the 200 MiB
# log's lines dominate); RUNS=1 about 2.
set -euo pipefail

LOG=${1:?usage: bench-table.sh LOG [SIZE] [RUNS]}
SIZE=${2:-200MB}
RUNS=${3:-5}
ROOT=$(pwd)
VQL=${VQL:-$ROOT/bin/vql}
VR=${VR:-$ROOT/bin/velociraptor-azvql}
TREES=${BENCH_TREES:-/tmp/azvql-bench}
EXEC_N=${BENCH_EXEC_N:-10000}

. "$(dirname "$0")/benchlog.sh"

# The log inside a Linux tree, for the artifacts (a hard link: the
# evidence layer does not follow symlinks).
LOGROOT="$TREES/logroot"
mkdir -p "$LOGROOT/var/log"
ln -f "$LOG" "$LOGROOT/var/log/waagent.log" 2>/dev/null || cp "$LOG" "$LOGROOT/var/log/waagent.log"
CLEAN="$TMP/clean"
mkdir -p "$CLEAN/var/lib/waagent" "$CLEAN/var/log"

# Execution trees (plugins/extensions genExecTree: RC v1 runs with
# settings, status, script, output and a dropped file each).
gen_tree() {
	local n=$1 dir="$TREES/exec-$1"
	if [ ! -f "$dir/.complete" ]; then
		echo "generating $dir ($n executions)"
		rm -rf "$dir"
		go test -c -o "$TMP/ext.test" ./plugins/extensions/
		AZVQL_EXEC_TREE="$dir" AZVQL_EXEC_N="$n" "$TMP/ext.test" -test.run '^TestWriteExecTree$' >/dev/null
		touch "$dir/.complete"
	fi
}
for n in $EXEC_N; do gen_tree "$n"; done
N0=${EXEC_N%% *}
TREE0="$TREES/exec-$N0"

PIN=(taskset -c 0)
command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null || PIN=()

# measure LABEL PIN(0|1) BIN ARGS... -> prints one line; sets M_WALL M_CPU M_RSS
measure() {
	local label=$1 pin=$2 bin=$3
	shift 3
	local pre=()
	[ "$pin" = 1 ] && pre=("${PIN[@]}")
	: >"$TMP/m"
	for _ in $(seq "$RUNS"); do
		if ! "${pre[@]}" /usr/bin/time -f '%e %U %S %M' -o "$TMP/t" "$bin" "$@" >/dev/null 2>"$TMP/err"; then
			echo "$label: failed" >&2
			tail -5 "$TMP/err" >&2
			return 1
		fi
		awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$TMP/t" >>"$TMP/m"
	done
	read -r M_WALL M_CPU M_RSS < <(sort -n "$TMP/m" | awk '{ w[NR] = $1; c[NR] = $2; if ($3 > r) r = $3 }
		END { m = int((NR + 1) / 2); printf "%s %s %d\n", w[m], c[m], r }')
	M_CPU=$(sort -k2 -n "$TMP/m" | awk -v m=$(((RUNS + 1) / 2)) 'NR == m { print $2 }')
	printf '  %-8s %-58s %7.2f s wall %7.2f s CPU %6.1f MB RSS\n' \
		"$([ "$pin" = 1 ] && echo pinned || echo 2-cores)" "$label" "$M_WALL" "$M_CPU" "$(awk -v r="$M_RSS" 'BEGIN { print r / 1024 }')"
}
mbs() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.1f MB/s", (s > 0 ? b / 1e6 / s : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }'; }

records=$("$VQL" query --format jsonl --env "F=$LOG" \
	"SELECT count() AS N FROM azure_waagent_log(filename=F) GROUP BY 1" | sed -n 's/.*"N":\([0-9]*\).*/\1/p')
HEAD='^(?P<Time>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?Z?) (?P<Level>[A-Z]+) (?P<Thread>\S+) (?P<Message>'
STOCK="LET R = '''(?m)${HEAD}[^\\n]*(?:\\n[^\\d\\n][^\\n]*)*)'''
SELECT count() AS N FROM parse_records_with_regex(file=F, regex=R) GROUP BY 1"
# Six hours in the middle of the generated log's span.
WIN_AFTER=2024-03-01T00:00:00Z
WIN_BEFORE=2024-03-01T06:00:00Z

printf 'bench-table: %s (%d bytes, %s records), %s runs each, median; %s; commit %s\n' "$LOG" "$bytes" "$records" "$RUNS" \
	"$(date -u +%FT%TZ)" "$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

for pin in 1 0; do
	echo
	echo "== count() over the log (budget: within 1.25x of the floor; two cores never slower than one)"
	measure "SELECT count() FROM azure_waagent_log(filename=F)" $pin "$VQL" query --format jsonl --env "F=$LOG" "SELECT count() FROM azure_waagent_log(filename=F)"
	ours=$M_WALL ours_cpu=$M_CPU
	[ "$pin" = 1 ] && one_core=$M_WALL
	measure "floor: SELECT count() FROM range(end=$records)" $pin "$VQL" query --format jsonl --env "F=$LOG" "SELECT count() FROM range(end=$records)"
	echo "  -> $(mbs "$ours"); ratio to the floor $(ratio "$ours" "$M_WALL") (wall), $(ratio "$ours_cpu" "$M_CPU") (CPU)"
	[ "$pin" = 0 ] && echo "  -> two cores / one core (wall): $(ratio "$ours" "$one_core")"

	echo "== the questions analysts ask (budget: >= 200 MB/s end to end; >= 20x stock by CPU)"
	measure "Linux.Azure.AgentLogs, 6-hour DateAfter/DateBefore window" $pin "$VQL" \
		artifacts collect Linux.Azure.AgentLogs --format jsonl --args "Root=$LOGROOT" --args "DateAfter=$WIN_AFTER" --args "DateBefore=$WIN_BEFORE"
	win_cpu=$M_CPU
	echo "  -> $(mbs "$M_WALL") wall, $(mbs "$M_CPU") CPU"
	measure "errors only: azure_waagent_log(filename=F, levels='ERROR')" $pin "$VQL" query --format jsonl --env "F=$LOG" "SELECT * FROM azure_waagent_log(filename=F, levels='ERROR')"
	err_cpu=$M_CPU
	echo "  -> $(mbs "$M_WALL") wall, $(mbs "$M_CPU") CPU"
	measure "a handler: azure_waagent_log(filename=F, handler_regex='RunCommand')" $pin "$VQL" \
		query --format jsonl --env "F=$LOG" "SELECT * FROM azure_waagent_log(filename=F, handler_regex='RunCommand')"
	ours_cpu=$M_CPU
	echo "  -> $(mbs "$M_WALL") wall, $(mbs "$M_CPU") CPU"
	if [ -x "$VR" ]; then
		measure "stock: parse_records_with_regex (velociraptor)" $pin "$VR" query --format jsonl --env "F=$LOG" "$STOCK"
		echo "  -> stock CPU / ours: window $(ratio "$M_CPU" "$win_cpu"), errors only $(ratio "$M_CPU" "$err_cpu"), a handler $(ratio "$M_CPU" "$ours_cpu")"
	else
		echo "  stock: $VR missing (make velociraptor): not measured"
	fi

	echo "== executions (budgets: count() under 1 s, RunCommand under 2 s at 10,000; RSS under 64 MB at 100,000; clean VM under 0.2 s)"
	measure "count() of azure_run_executions, $N0 executions" $pin "$VQL" \
		query --format jsonl "SELECT count() AS N FROM azure_run_executions(root='$TREE0') GROUP BY 1"
	measure "Linux.Azure.RunCommand, $N0 executions" $pin "$VQL" \
		artifacts collect Linux.Azure.RunCommand --format jsonl --args "Root=$TREE0"
	for n in $EXEC_N; do
		measure "peak RSS of the executions walk, $n executions" $pin "$VQL" \
			query --format jsonl "SELECT count() AS N FROM azure_run_executions(root='$TREES/exec-$n') GROUP BY 1"
	done
	measure "a hunt on a clean VM (Linux.Azure.RunCommand)" $pin "$VQL" \
		artifacts collect Linux.Azure.RunCommand --format jsonl --args "Root=$CLEAN"
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
