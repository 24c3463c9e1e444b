#!/usr/bin/env bash
# Builds a Velociraptor offline collector (one Linux binary) holding the exchange editions and the
# vql tools (docs/exchange.md, "Offline collector"), from a release: a stock Velociraptor v0.75.2
# binary, the vql binaries of `make cross`, and vql to export the pack.
#
#   tools/exchange/collector.sh OUT [Name=Value ...]      (`make offline-collector`)
#
# OUT: the collector to write. Name=Value: parameters given to every artifact (Root=/mnt/vm ...).
# Environment: VELOCIRAPTOR (default bin/velociraptor-stock), VQL (default bin/vql), TOOLS_DIR
# (default bin: vql-linux-amd64, vql-linux-arm64, vql-windows-amd64.exe), ARTIFACTS (default every
# Exchange.Linux.* and Exchange.Generic.* edition), VR_VERSION (default 0.75.2: the tool version the
# Velociraptor binary is uploaded as; it is what the collector is repacked from), KEEP=1 keeps the
# work folder. No network: every binary is uploaded to a throwaway datastore.
set -euo pipefail

OUT=${1:?usage: tools/exchange/collector.sh OUT [Name=Value ...]}
shift
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
OUT=$(abs "$OUT")
VR=$(abs "${VELOCIRAPTOR:-bin/velociraptor-stock}")
VQL=$(abs "${VQL:-bin/vql}")
TOOLS_DIR=$(abs "${TOOLS_DIR:-bin}")
VR_VERSION=${VR_VERSION:-0.75.2}
for f in "$VR" "$VQL"; do [ -x "$f" ] || { echo "collector.sh: $f is not an executable" >&2; exit 1; }; done
[ ! -e "$OUT" ] || { echo "collector.sh: $OUT exists (not overwritten)" >&2; exit 1; }

W=$(mktemp -d /tmp/azvql-collector.XXXXXX)
cleanup() { if [ -z "${KEEP:-}" ]; then rm -rf "$W"; else echo "kept $W" >&2; fi; }
trap cleanup EXIT
step() { printf '== %s\n' "$*" >&2; }

step "pack, pinned to $TOOLS_DIR"
"$VQL" artifacts export --output "$W/pack.zip" --tools-dir "$TOOLS_DIR" 2>"$W/export.log" || { cat "$W/export.log" >&2; exit 1; }
mkdir -p "$W/pack"
python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$W/pack.zip" "$W/pack"
if [ -z "${ARTIFACTS:-}" ]; then
	ARTIFACTS=$(cd "$W/pack" && find Exchange/Linux Exchange/Generic -name '*.yaml' | sort | sed 's/\.yaml$//; s|/|.|g' | tr '\n' ' ')
fi

step "datastore and tools"
mkdir -p "$W/ds/logs"
"$VR" config generate --merge "{\"Datastore\":{\"location\":\"$W/ds\",\"filestore_directory\":\"$W/ds\"},\"Logging\":{\"output_directory\":\"$W/ds/logs\"}}" \
	>"$W/ds/server.config.yaml" 2>"$W/gen.log" || { cat "$W/gen.log" >&2; exit 1; }
upload() { # name file [flags]
	local name=$1 file=$2
	shift 2
	"$VR" --config "$W/ds/server.config.yaml" tools upload --name "$name" "$@" "$file" >"$W/upload.log" 2>&1 ||
		{ cat "$W/upload.log" >&2; echo "collector.sh: tools upload $name failed" >&2; exit 1; }
}
upload VelociraptorLinux "$VR" --tool_version "$VR_VERSION"
python3 - "$W/pack/tools.json" <<'PY' >"$W/tools.txt"
import json, sys
for t in json.load(open(sys.argv[1])):
    print(t["name"], t["binary"])
PY
while read -r name binary; do upload "$name" "$TOOLS_DIR/$binary" --filename "$binary"; done <"$W/tools.txt"

step "collector of: $ARTIFACTS"
{
	echo "OS: Linux"
	echo "Artifacts:"
	for a in $ARTIFACTS; do
		if [ $# -eq 0 ]; then echo "  $a: {}"; continue; fi
		echo "  $a:"
		for kv in "$@"; do
			printf '    %s: %s\n' "${kv%%=*}" "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "${kv#*=}")"
		done
	done
	cat <<SPEC
Target: ZIP
EncryptionScheme: None
OptVerbose: Y
OptBanner: N
OptPrompt: N
OptAdmin: N
OptLevel: 5
OptConcurrency: 2
OptFilenameTemplate: "Collection-%FQDN%-%TIMESTAMP%"
OptCollectorTemplate: "collector"
OptFormat: jsonl
OptOutputDirectory: ""
OptCpuLimit: 0
OptProgressTimeout: 1800
OptTimeout: 0
OptVersion: "$VR_VERSION"
OptDeleteAtExit: N
SPEC
} >"$W/spec.yaml"
"$VR" --definitions "$W/pack/Exchange" collector --datastore "$W/ds" "$W/spec.yaml" >"$W/collector.log" 2>&1 || true
# The collector command exits 0 even when the repack failed: the binary is the proof.
if [ ! -s "$W/ds/collector" ] || grep -q '^ERROR:' "$W/collector.log"; then
	grep -E '^ERROR:|"Repacked"' "$W/collector.log" >&2 || tail -20 "$W/collector.log" >&2
	echo "collector.sh: no collector built" >&2
	exit 1
fi
mv "$W/ds/collector" "$OUT"
chmod +x "$OUT"
step "done: $OUT (run it in an empty folder: it writes Collection-<host>-<time>.zip there)"
