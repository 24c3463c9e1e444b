#!/usr/bin/env bash
# The exchange pack as users deploy it, under a stock Velociraptor and with no tools server
# (docs/exchange.md; the README's fleet section runs these commands):
#
#   1. offline collector: tools/exchange/collector.sh builds a collector holding every Linux edition
#      and the vql tools, it runs on tests/fixtures/linux, its zip is imported with
#      import_collection() into a server, and the imported rows equal the native artifacts' rows;
#   2. fleet: a server from `velociraptor config generate` (every listener on 127.0.0.1, free ports),
#      the pack loaded with --definitions, ONLY the Linux tools uploaded with `tools upload`, a client
#      enrolled to it; collect_client() of each Linux edition on tests/fixtures/linux (the client
#      fetches vql from the server), rows read back with source() equal the native artifact's rows;
#      and Exchange.Generic.Azure.Executions with VqlBinary (its Windows tool is not uploaded).
#
# VELOCIRAPTOR=<stock binary> (default bin/velociraptor-stock); skipped (SKIP line, exit 0) without
# one, or when it lacks the server VQL (collect_client, import_collection: server_vql build tags).
# Every wait is bounded; the server and the client are killed at the end. KEEP=1 keeps the folder.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
VR=${VELOCIRAPTOR:-$SRC/bin/velociraptor-stock}
case "$VR" in /*) ;; */*) VR=$(cd "$(dirname "$VR")" && pwd)/$(basename "$VR") ;; *) VR=$(command -v "$VR" || echo "$VR") ;; esac
if [ ! -x "$VR" ]; then
	echo "SKIP: no stock Velociraptor at $VR (set VELOCIRAPTOR=/path/to/velociraptor-v0.75.2-linux-amd64)"
	exit 0
fi
if ! "$VR" vql list 2>/dev/null | grep -c '^## collect_client$' >/dev/null; then
	echo "SKIP: $VR has no server VQL (collect_client): build it with the server_vql tag, as releases are"
	exit 0
fi
command -v python3 >/dev/null || { echo "FAIL: python3 is needed"; exit 1; }

W=$(mktemp -d /tmp/azvql-fleet.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -z "${KEEP:-}" ]; then rm -rf "$W"; else echo "kept $W"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
FIX=$SRC/tests/fixtures/linux

echo "== building vql"
(cd "$SRC" && go build -o "$W/vql" ./vql)
VQL=$W/vql
"$VQL" fixtures touch "$SRC/tests/fixtures" >/dev/null
# The tools: this machine's vql under the three names (the arm64 and Windows ones are stand-ins
# that are packed and uploaded but never run here).
mkdir -p "$W/bin"
for b in vql-linux-amd64 vql-linux-arm64 vql-windows-amd64.exe; do cp "$VQL" "$W/bin/$b"; done
"$VQL" artifacts export --tools-dir "$W/bin" --output "$W/azvql-exchange.zip" 2>/dev/null
mkdir -p "$W/pack"
python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$W/azvql-exchange.zip" "$W/pack"
mapfile -t LINUX < <(cd "$W/pack" && find Exchange/Linux -name '*.yaml' | sort | sed 's/\.yaml$//; s|/|.|g')

# native NAME: the native artifact's rows, by source, into $W/native.NAME.jsonl
native() {
	"$VQL" artifacts collect "$1" --args "Root=$FIX" --format jsonl >"$W/native.$1.jsonl" 2>"$W/native.$1.err" ||
		{ cat "$W/native.$1.err"; fail "vql collect $1"; }
}
# compare NATIVE GOT_DIR: GOT_DIR/<Source>.json (one JSON row a line) against the native rows.
compare() {
	python3 - "$W/native.$1.jsonl" "$2" <<'PY'
import json, os, sys
want = {}
for line in open(sys.argv[1], encoding="utf-8"):
    if line.strip():
        row = json.loads(line)
        src = row.pop("_Source").split("/", 1)[1]
        want.setdefault(src, []).append(json.dumps(row))
got = {}
for name in (os.listdir(sys.argv[2]) if os.path.isdir(sys.argv[2]) else []):  # no folder: no rows
    if name.endswith(".json"):
        rows = [json.loads(l) for l in open(os.path.join(sys.argv[2], name), encoding="utf-8") if l.strip()]
        for r in rows:
            r.pop("_Source", None)
        got[name[:-5]] = [json.dumps(r) for r in rows]
n = sum(len(v) for v in want.values())
if {k: v for k, v in got.items() if v} != want:
    for src in sorted(set(want) | set(got)):
        if want.get(src, []) != got.get(src, []):
            print("  %s: native %d rows, got %d" % (src, len(want.get(src, [])), len(got.get(src, []))))
            for x, y in zip(want.get(src, []), got.get(src, [])):
                if x != y:
                    print("    native: " + x[:300]); print("    got:    " + y[:300]); break
    sys.exit(1)
print("%d rows" % n)
PY
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------------------------------------
echo "== 1. offline collector"
VELOCIRAPTOR=$VR VQL=$VQL TOOLS_DIR=$W/bin ARTIFACTS="${LINUX[*]}" \
	timeout 600 "$SRC/tools/exchange/collector.sh" "$W/collector" "Root=$FIX" || fail "collector.sh"
mkdir -p "$W/run"
(cd "$W/run" && timeout 600 "$W/collector" >"$W/run.log" 2>&1) || { tail -20 "$W/run.log"; fail "the collector"; }
ZIP=$(ls "$W"/run/Collection-*.zip 2>/dev/null | head -1)
[ -n "$ZIP" ] || { tail -20 "$W/run.log"; fail "the collector wrote no zip"; }
if grep -q '^\[ERROR\]\|"level": *"ERROR"' "$W/run.log"; then grep ERROR "$W/run.log" | head -5; fail "the collector logged errors"; fi

mkdir -p "$W/imp/ds/logs"
"$VR" config generate --merge "{\"Datastore\":{\"location\":\"$W/imp/ds\",\"filestore_directory\":\"$W/imp/ds\"},\"Logging\":{\"output_directory\":\"$W/imp/ds/logs\"}}" \
	>"$W/imp/server.config.yaml" 2>/dev/null
timeout 300 "$VR" --config "$W/imp/server.config.yaml" --definitions "$W/pack/Exchange" query --format jsonl \
	"SELECT import_collection(filename='$ZIP', hostname='fixture-linux') AS Flow FROM scope()" >"$W/import.json" 2>"$W/import.err" ||
	{ tail -20 "$W/import.err"; fail "import_collection"; }
read -r CLIENT SESSION < <(python3 -c 'import json,sys; f=json.loads(open(sys.argv[1]).readline())["Flow"]; print(f["client_id"], f["session_id"])' "$W/import.json") ||
	{ cat "$W/import.json"; fail "import_collection returned no flow"; }
for ed in "${LINUX[@]}"; do
	n=${ed#Exchange.}
	native "$n"
	res=$(compare "$n" "$W/imp/ds/clients/$CLIENT/artifacts/$ed/$SESSION") || { echo "$res"; fail "imported $ed differs from $n"; }
	echo "ok   offline collector, imported: $ed = $n ($res)"
done

# ---------------------------------------------------------------------------------------------
echo "== 2. fleet: server, client, Linux tools only, collect_client()"
S=$W/fleet
mkdir -p "$S/ds/logs" "$S/client"
FE=$(free_port); GUI=$(free_port); API=$(free_port); MON=$(free_port)
"$VR" config generate --merge "$(cat <<JSON
{"Datastore": {"location": "$S/ds", "filestore_directory": "$S/ds"},
 "Logging": {"output_directory": "$S/ds/logs"},
 "Frontend": {"hostname": "localhost", "bind_address": "127.0.0.1", "bind_port": $FE},
 "GUI": {"bind_address": "127.0.0.1", "bind_port": $GUI},
 "API": {"bind_address": "127.0.0.1", "bind_port": $API},
 "Monitoring": {"bind_address": "127.0.0.1", "bind_port": $MON},
 "Client": {"server_urls": ["https://localhost:$FE/"],
            "writeback_linux": "$S/client/writeback.yaml",
            "tempdir_linux": "$S/client/tmp",
            "local_buffer": {"filename_linux": "$S/client/buffer.bin"}}}
JSON
)" >"$S/server.config.yaml" 2>"$S/gen.err" || { cat "$S/gen.err"; fail "config generate"; }
mkdir -p "$S/client/tmp"
"$VR" --config "$S/server.config.yaml" config client >"$S/client.config.yaml"
"$VR" --config "$S/server.config.yaml" config api_client --name admin --role administrator "$S/api.config.yaml" >/dev/null 2>&1 ||
	fail "config api_client"
# Only the Linux tools: a Linux-only hunt needs nothing else.
for t in linux_amd64 linux_arm64; do
	"$VR" --config "$S/server.config.yaml" tools upload --name "Azvql_$t" "$W/bin/vql-${t/_/-}" >"$S/upload.log" 2>&1 ||
		{ cat "$S/upload.log"; fail "tools upload Azvql_$t"; }
done
"$VR" --config "$S/server.config.yaml" --definitions "$W/pack/Exchange" frontend -v >"$S/frontend.log" 2>&1 &
PIDS+=($!)
"$VR" --config "$S/client.config.yaml" client -v >"$S/client.log" 2>&1 &
PIDS+=($!)

api() { timeout 120 "$VR" --api_config "$S/api.config.yaml" query --format jsonl "$1" 2>>"$S/api.err"; }
CLIENT=""
for _ in $(seq 90); do
	CLIENT=$(api "SELECT client_id FROM clients()" | python3 -c 'import json,sys; r=[json.loads(l) for l in sys.stdin if l.strip()]; print(r[0]["client_id"] if r else "")' 2>/dev/null || true)
	[ -n "$CLIENT" ] && break
	sleep 2
done
[ -n "$CLIENT" ] || { tail -5 "$S/frontend.log" "$S/client.log" "$S/api.err"; fail "no client enrolled within 180 s"; }
echo "ok   client $CLIENT enrolled"

# Each Linux edition fetching vql from the server; then Exchange.Generic.Azure.Executions, which
# declares the Windows tool too (never uploaded here), with VqlBinary: it runs with no tool resolvable.
for ed in "${LINUX[@]}" Exchange.Generic.Azure.Executions; do
	n=${ed#Exchange.}
	[ -f "$W/native.$n.jsonl" ] || native "$n"
	env="Root='$FIX'"
	case "$ed" in Exchange.Generic.*) env="$env, VqlBinary='$VQL'" ;; esac
	FLOW=$(api "SELECT collect_client(client_id='$CLIENT', artifacts='$ed', env=dict($env)).flow_id AS F FROM scope()" |
		python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["F"] or "")' 2>/dev/null || true)
	[ -n "$FLOW" ] || { tail -5 "$S/api.err"; fail "collect_client $ed"; }
	state=""
	for _ in $(seq 120); do
		state=$(api "SELECT state FROM flows(client_id='$CLIENT', flow_id='$FLOW')" |
			python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["state"])' 2>/dev/null || true)
		case "$state" in FINISHED | ERROR) break ;; esac
		sleep 1
	done
	api "SELECT * FROM flow_logs(client_id='$CLIENT', flow_id='$FLOW')" >"$S/$ed.log.jsonl" || true
	[ "$state" = FINISHED ] || { grep -i error "$S/$ed.log.jsonl" | head -5; fail "$ed: flow $FLOW state '$state' (want FINISHED within 120 s)"; }
	if grep -q '"level": *"ERROR"\|"level":"ERROR"' "$S/$ed.log.jsonl"; then grep ERROR "$S/$ed.log.jsonl" | head -5; fail "$ed logged errors"; fi
	mkdir -p "$S/got/$ed"
	for src in $(python3 -c 'import json,sys; print(" ".join(sorted({json.loads(l)["_Source"].split("/",1)[1] for l in open(sys.argv[1]) if l.strip()})))' "$W/native.$n.jsonl"); do
		api "SELECT * FROM source(client_id='$CLIENT', flow_id='$FLOW', artifact='$ed', source='$src')" >"$S/got/$ed/$src.json"
	done
	res=$(compare "$n" "$S/got/$ed") || { echo "$res"; fail "fleet $ed differs from $n"; }
	echo "ok   fleet, collect_client($env) + source(): $ed = $n ($res)"
done
echo "PASS"
