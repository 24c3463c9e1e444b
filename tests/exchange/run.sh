#!/usr/bin/env bash
# The exchange pack and the collection container under a stock Velociraptor (docs/exchange.md):
#
#   1. every exchange edition, collected by `velociraptor artifacts collect --definitions <pack>`
#      over tests/fixtures/linux and tests/fixtures/windows with VqlBinary=<the vql built here>,
#      returns exactly the rows (columns, order, JSON values) of its native artifact collected by vql;
#   2. stock `velociraptor artifacts verify` accepts every edition;
#   3. a `vql artifacts collect --output X.zip` container (Linux.Azure.RunCommand and a test artifact
#      that uploads a file) imported with import_collection() on a server (config from
#      `velociraptor config generate`) lands as a flow with every source's rows and the upload.
#
# VELOCIRAPTOR=<stock binary> (default bin/velociraptor-stock). Without one the test is skipped
# (exit 0 and a SKIP line). No tools server: the pack is exported pinned (--tools-dir), so VqlBinary
# needs no tool. Needs python3 (the comparisons). Run from anywhere: tests/exchange/run.sh
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
VR=${VELOCIRAPTOR:-$SRC/bin/velociraptor-stock}
# Absolute (the verify step runs in the pack's folder): a relative path is the caller's, a bare
# name is looked up in PATH.
case "$VR" in
/*) ;;
*/*) VR=$(cd "$(dirname "$VR")" 2>/dev/null && pwd)/$(basename "$VR") ;;
*) VR=$(command -v "$VR" || echo "$VR") ;;
esac
if [ ! -x "$VR" ]; then
	echo "SKIP: no stock Velociraptor at $VR (set VELOCIRAPTOR=/path/to/velociraptor-v0.75.2-linux-amd64)"
	exit 0
fi
command -v python3 >/dev/null || { echo "FAIL: python3 is needed"; exit 1; }

W=$(mktemp -d /tmp/azvql-exchange.XXXXXX)
cleanup() {
	if [ -z "${KEEP:-}" ]; then rm -rf "$W"; else echo "kept $W"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

echo "== building vql"
(cd "$SRC" && go build -o "$W/vql" ./vql)
VQL=$W/vql
"$VQL" fixtures touch "$SRC/tests/fixtures" >/dev/null

# No tools server: the pack is pinned to the binaries (--tools-dir), so a collection with VqlBinary
# needs no tool at all (docs/exchange.md). The stand-ins are the vql built here, under the tool names.
mkdir -p "$W/tools"
for b in vql-linux-amd64 vql-linux-arm64 vql-windows-amd64.exe; do cp "$VQL" "$W/tools/$b"; done

echo "== exporting the pack"
"$VQL" artifacts export --output "$W/pack.zip" --tools-dir "$W/tools"
mkdir -p "$W/pack"
python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$W/pack.zip" "$W/pack"
mapfile -t EDITIONS < <(cd "$W/pack" && find Exchange -name '*.yaml' | sort)
[ "${#EDITIONS[@]}" -gt 0 ] || fail "empty pack"
NAMES=()
for f in "${EDITIONS[@]}"; do n=${f%.yaml}; NAMES+=("${n//\//.}"); done

echo "== stock velociraptor artifacts verify (${#EDITIONS[@]} editions)"
(cd "$W/pack" && "$VR" artifacts verify "${EDITIONS[@]}") >"$W/verify.log" 2>&1 || { cat "$W/verify.log"; fail "artifacts verify"; }
"$VQL" artifacts verify --stock --definitions "$W/pack" >/dev/null || fail "vql artifacts verify --stock"

# Each edition declares only its OS's tools (Generic.* all three): a Linux-only hunt needs only the
# Linux tools on the server.
for f in "${EDITIONS[@]}"; do
	tools=$(sed -n 's/^  - name: \(Azvql_[a-z0-9_]*\)$/\1/p' "$W/pack/$f" | sort | tr '\n' ' ')
	case "$f" in
	Exchange/Linux/*) want="Azvql_linux_amd64 Azvql_linux_arm64 " ;;
	Exchange/Windows/*) want="Azvql_windows_amd64 " ;;
	*) want="Azvql_linux_amd64 Azvql_linux_arm64 Azvql_windows_amd64 " ;;
	esac
	[ "$tools" = "$want" ] || fail "$f declares the tools '$tools', want '$want'"
done

# Without VqlBinary and with no tool available, the collection fails loudly: an ERROR with the fix.
"$VR" artifacts collect Exchange.Linux.Azure.RunCommand --definitions "$W/pack" --format jsonl \
	--args "Root=$SRC/tests/fixtures/linux" >"$W/notool.out" 2>"$W/notool.err" || true
[ ! -s "$W/notool.out" ] || fail "rows without a vql binary"
grep -q '^\[ERROR\].*no vql binary: the tool Azvql_linux_amd64 could not be fetched.*tools upload --name Azvql_linux_amd64 vql-linux-amd64.*or set VqlBinary' "$W/notool.err" ||
	{ cat "$W/notool.err"; fail "no ERROR naming the fix when the tool is missing"; }
echo "ok   no vql binary and no tool: ERROR with the fix"

# Every fixture tree (TREES="linux windows" to narrow it). On linux and windows every edition runs
# (the other OS's editions must find nothing, or the same as natively); on the other trees the
# editions of the OS whose folders the tree has (var/ for Linux, WindowsAzure/ or Packages/ for
# Windows), and the Generic ones.
if [ -z "${TREES:-}" ]; then
	TREES=$(cd "$SRC/tests/fixtures" && for d in */; do printf '%s ' "${d%/}"; done)
fi
status=0
declare -A ROWS=()
for ed in "${NAMES[@]}"; do ROWS[$ed]=0; done
for tree in $TREES; do
	root=$SRC/tests/fixtures/$tree
	for ed in "${NAMES[@]}"; do
		native=${ed#Exchange.}
		if [ "$tree" != linux ] && [ "$tree" != windows ]; then
			case "$native" in
			Linux.*) [ -d "$root/var" ] || continue ;;
			Windows.*) [ -d "$root/WindowsAzure" ] || [ -d "$root/Packages" ] || continue ;;
			esac
		fi
		out=$W/$tree.$native
		# Artifacts that join Activity Log exports get the tenant's exports fixture with every tree.
		extra=()
		if "$VQL" artifacts show "$native" | grep -c '^  - name: ActivityLogs$' >/dev/null; then
			extra=(--args "ActivityLogs=$SRC/tests/fixtures/activitylog/exports/**")
		fi
		# An artifact that reads a disk image, not a folder (Windows.Azure.DeletedExtensions:
		# the MFT and USN journal), gets the NTFS fixture image once, with the windows tree.
		rootarg="Root=$root"
		if ! "$VQL" artifacts show "$native" | grep -c '^  - name: Root$' >/dev/null; then
			"$VQL" artifacts show "$native" | grep -c '^  - name: Image$' >/dev/null && [ "$tree" = windows ] || continue
			rootarg="Image=$SRC/tests/images/windows-deleted.ntfs"
		fi
		"$VQL" artifacts collect "$native" --args "$rootarg" "${extra[@]}" --format jsonl >"$out.native" 2>"$out.native.err" ||
			{ cat "$out.native.err"; fail "vql collect $native on $tree"; }
		"$VR" artifacts collect "$ed" --definitions "$W/pack" --format jsonl \
			--args "$rootarg" "${extra[@]}" --args "VqlBinary=$VQL" >"$out.vr" 2>"$out.vr.err" ||
			{ tail -20 "$out.vr.err"; fail "velociraptor collect $ed on $tree"; }
		# Velociraptor's CLI exits 0 when the edition logged an error (vql missing or failed):
		# an ERROR line fails the test, even when the rows happen to match (none on both sides).
		if grep -q '^\[ERROR\]' "$out.vr.err"; then
			echo "FAIL $ed on $tree: errors logged"
			grep '^\[ERROR\]' "$out.vr.err" | head -5
			status=1
			continue
		fi
		if res=$(python3 - "$out.native" "$out.vr" 2>&1 <<'EOF'
import json, sys
def load(path, strip):
    rows = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line:
            continue
        row = json.loads(line)
        src = row.pop("_Source", "")
        if strip and src.startswith("Exchange."):
            src = src[len("Exchange."):]
        rows.setdefault(src, []).append(json.dumps(row))
    return rows
a, b = load(sys.argv[1], False), load(sys.argv[2], True)
n = sum(len(v) for v in a.values())
if a != b:
    for src in sorted(set(a) | set(b)):
        if a.get(src) != b.get(src):
            print("  %s: native %d rows, exchange %d rows" % (src, len(a.get(src, [])), len(b.get(src, []))))
            for x, y in zip(a.get(src, []), b.get(src, [])):
                if x != y:
                    print("    native:   " + x[:400]); print("    exchange: " + y[:400]); break
    sys.exit(1)
print("%d rows" % n)
EOF
		); then
			echo "ok   $ed on $tree: $res"
			ROWS[$ed]=$((ROWS[$ed] + ${res%% *}))
		else
			echo "FAIL $ed on $tree"
			echo "$res"
			status=1
		fi
	done
done
[ $status -eq 0 ] || fail "exchange editions differ from their native artifacts"
# Equal and empty proves little: every edition must have returned rows on some tree.
for ed in "${NAMES[@]}"; do
	[ "${ROWS[$ed]}" -gt 0 ] || { echo "FAIL $ed: no rows on any tree ($TREES)"; status=1; }
done
[ $status -eq 0 ] || fail "editions never compared on rows"

echo "== import_collection() of a vql collection zip"
upload=$SRC/tests/fixtures/linux/var/lib/waagent/GoalState.1.xml
"$VQL" --definitions "$SRC/tests/exchange/artifacts" artifacts collect Linux.Azure.RunCommand Test.Exchange.Upload \
	--args "Root=$SRC/tests/fixtures/linux" --args "File=$upload" --output "$W/collection.zip"
mkdir -p "$W/server/ds" "$W/server/logs"
"$VR" config generate --merge "{\"Datastore\":{\"location\":\"$W/server/ds\",\"filestore_directory\":\"$W/server/ds\"},\"Logging\":{\"output_directory\":\"$W/server/logs\"}}" \
	>"$W/server/server.config.yaml" 2>"$W/server/gen.err" || { cat "$W/server/gen.err"; fail "config generate"; }
"$VR" --config "$W/server/server.config.yaml" query --format jsonl \
	"SELECT import_collection(filename='$W/collection.zip') AS Flow FROM scope()" >"$W/import.json" 2>"$W/import.err" ||
	{ tail -20 "$W/import.err"; fail "import_collection"; }
python3 - "$W/import.json" "$W/collection.zip" "$W/server/ds" "$upload" <<'EOF' || fail "the imported flow"
import json, os, sys, zipfile
flow = json.loads(open(sys.argv[1]).read().strip().splitlines()[0])["Flow"]
if not flow:
    sys.exit("import_collection returned NULL")
z = zipfile.ZipFile(sys.argv[2])
ctx = json.loads(z.read("collection_context.json"))
client, session = flow["client_id"], flow["session_id"]
want = sorted(ctx["artifacts_with_results"])
if sorted(flow["artifacts_with_results"]) != want or "Test.Exchange.Upload/Files" not in want:
    sys.exit("artifacts_with_results %s, want %s" % (flow["artifacts_with_results"], want))
base = os.path.join(sys.argv[3], "clients", client)
total = 0
for full in want:
    art, src = full.split("/", 1)
    path = os.path.join(base, "artifacts", art, session, src + ".json")
    got = open(path, encoding="utf-8").read()
    exp = z.read("results/" + full.replace("/", "%2F") + ".json").decode("utf-8")
    if got != exp:
        sys.exit("%s: the server's rows differ from the container's" % full)
    total += len(got.splitlines())
    print("  %s: %d rows" % (full, len(got.splitlines())))
if total != flow["total_collected_rows"]:
    sys.exit("total_collected_rows %s, rows %d" % (flow["total_collected_rows"], total))
comp = os.path.abspath(sys.argv[4]).strip("/").split("/")
up = os.path.join(base, "collections", session, "uploads", "auto", *comp)
if open(up, "rb").read() != open(sys.argv[4], "rb").read():
    sys.exit("upload missing or different: " + up)
ups = [json.loads(l) for l in open(os.path.join(base, "collections", session, "uploads.json"))]
if len(ups) != 1 or ups[0]["file_size"] != os.path.getsize(sys.argv[4]):
    sys.exit("uploads.json %s" % ups)
print("  upload %s arrived; flow %s of client %s" % ("/".join(comp), session, client))
EOF
echo "PASS"
