#!/usr/bin/env bash
# `make bench-compare`: one generated waagent.log parsed
#   - by azure_waagent_log under `vql`                   (azvql's host)
#   - by azure_waagent_log under bin/velociraptor-azvql  (the same plugin in Velociraptor)
#   - by the best stock VQL under bin/velociraptor-azvql:
#       parse_lines + parse_string_with_regex (one row per line), and
#       parse_records_with_regex (one row per record, continuation lines
#       kept in Message)
# in one run; prints wall time, throughput, peak RSS and the ratio to the
# best stock query.
#   tests/integration/bench-compare.sh LOG [SIZE]   (LOG is generated with
#   tools/loggen when missing; SIZE default 200MB)
set -euo pipefail

LOG=${1:?usage: bench-compare.sh LOG [SIZE]}
SIZE=${2:-200MB}
ROOT=$(pwd)
VQL=${VQL:-$ROOT/bin/vql}
VR=${VR:-$ROOT/bin/velociraptor-azvql}

. "$(dirname "$0")/benchlog.sh"

# Every query counts its rows with a running count() and prints only every
# 100,000th, so output costs nothing and memory stays flat (GROUP BY would
# keep a scope per row). Rows is therefore rounded down to 100,000.
count() { printf "SELECT * FROM foreach(row={ SELECT count() AS Rows FROM %s }) WHERE format(format='%%v', args=Rows) =~ '00000\$'" "$1"; }

HEAD='^(?P<Time>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?Z?) (?P<Level>[A-Z]+) (?P<Thread>\S+) (?P<Message>'
Q_NATIVE=$(count "azure_waagent_log(filename=F)")
Q_LINES="LET R = '''${HEAD}.*)\$'''
$(count "parse_lines(filename=F) WHERE parse_string_with_regex(string=Line, regex=R).Time")"
Q_RECORDS="LET R = '''(?m)${HEAD}[^\\n]*(?:\\n[^\\d\\n][^\\n]*)*)'''
$(count "parse_records_with_regex(file=F, regex=R)")"

results=()
run() { # name binary query
	local name=$1 bin=$2 q=$3
	local out="$TMP/run.out" tm="$TMP/run.time"
	if ! /usr/bin/time -f '%e %U %S %M' -o "$tm" "$bin" query --format jsonl --env "F=$LOG" "$q" >"$out" 2>"$TMP/run.err"; then
		echo "$name failed:" >&2
		tail -5 "$TMP/run.err" >&2
		exit 1
	fi
	local wall user sys rss rows cpu
	read -r wall user sys rss <"$tm"
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	rows=$(tail -1 "$out" | sed -n 's/.*"Rows":\([0-9]*\).*/\1/p')
	results+=("$name|$wall|$cpu")
	printf '%-50s %7.2f s wall %7.2f s CPU %7.1f MB/s CPU %7.1f MB/s wall %4d MB RSS  >= %s rows\n' \
		"$name" "$wall" "$cpu" \
		"$(awk -v b="$bytes" -v s="$cpu" 'BEGIN { print (s > 0 ? b / 1048576 / s : 0) }')" \
		"$(awk -v b="$bytes" -v s="$wall" 'BEGIN { print (s > 0 ? b / 1048576 / s : 0) }')" \
		"$((rss / 1024))" "${rows:-0}"
}

printf 'bench-compare: %s, %d bytes (%.0f MiB), %s\n\n' "$LOG" "$bytes" "$(awk -v b="$bytes" 'BEGIN{print b/1048576}')" "$(date -u +%FT%TZ)"
run "vql: azure_waagent_log" "$VQL" "$Q_NATIVE"
run "velociraptor-azvql: azure_waagent_log" "$VR" "$Q_NATIVE"
run "velociraptor: parse_lines+parse_string_with_regex" "$VR" "$Q_LINES"
run "velociraptor: parse_records_with_regex" "$VR" "$Q_RECORDS"

# Ratios on CPU time (user+sys): wall time on a shared machine measures
# the neighbours as much as the parser.
echo
printf '%s\n' "${results[@]}" | awk -F'|' '
	/^velociraptor: / { if (best == "" || $3 + 0 < best + 0) { best = $3; bestname = $1 } }
	/^vql: / { v = $3 }
	/^velociraptor-azvql: / { r = $3 }
	END {
		printf "best stock VQL: %s\n", bestname
		printf "ratio (CPU time) vs the best stock VQL: vql %.1fx, velociraptor-azvql %.1fx (docs/design.md budget: >= 20x)\n", best / v, best / r
	}'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
