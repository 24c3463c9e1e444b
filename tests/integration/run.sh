#!/usr/bin/env bash
# `make test-integration`: the artifacts and goldens under real Velociraptor
# (bin/velociraptor-azvql, azvql's plugins compiled in). Run from the
# repository root after `make build velociraptor`.
#
#  1. every golden testcase, run by `velociraptor golden` into a temporary
#     copy of tests/testcases; each output must be byte-identical to the vql
#     host's NAME.out.yaml;
#  2. `velociraptor artifacts verify` on every artifact, and on every
#     tests/bad_artifacts file, which both verifiers must reject (except
#     two that only vql rejects: its verifier is stricter on purpose);
#  3. every hunt artifact collected with `velociraptor artifacts collect` on
#     the fixture trees (Linux.* on tests/fixtures/linux, Windows.* on
#     tests/fixtures/windows, Generic.* on both): it must succeed, log no
#     error and, for the executions sources, return rows;
#  4. the Windows artifacts once more through a dead-disk remapping
#     (`velociraptor deaddisk --add_windows_directory tests/fixtures/windows`)
#     with their default Root (C:\): the rows must be the same as in 3;
#  5. and through an NTFS partition image of that folder (deaddisk
#     --add_windows_disk; raw_ntfs/ntfs accessors) where mkntfs and ntfs-3g
#     are available.
set -uo pipefail

ROOT=$(pwd)
VQL=${VQL:-$ROOT/bin/vql}
VR=${VR:-$ROOT/bin/velociraptor-azvql}
KEEP=${KEEP:-}
for b in "$VQL" "$VR"; do
	[ -x "$b" ] || { echo "missing $b (make build velociraptor)" >&2; exit 2; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/azvql-integration.XXXXXX")
if [ -z "$KEEP" ]; then trap 'rm -rf "$TMP"' EXIT; else echo "keeping $TMP"; fi

failures=()
fail() { failures+=("$*"); echo "FAIL: $*"; }
step() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

# A wall-clock cap per Velociraptor run (a hang must not stall CI).
TIMEOUT=${TIMEOUT:-600}
vr() { timeout --kill-after=10 "$TIMEOUT" "$VR" "$@"; }

step "fixture times"
"$VQL" fixtures touch tests/fixtures || { echo "vql fixtures touch failed" >&2; exit 1; }

step "licence notice"
# The azvql build states its licence (AGPL-3.0, Velociraptor's) before
# Velociraptor's build record; the output must still be that record.
if ! vr version >"$TMP/version.txt" 2>&1 || ! grep -q 'GNU AGPL-3.0' "$TMP/version.txt" ||
	! grep -q '^name: velociraptor' "$TMP/version.txt"; then
	cat "$TMP/version.txt"
	fail "velociraptor version: no AGPL-3.0 notice before the build record"
fi

step "argument errors"
# A misspelt plugin argument is an error under Velociraptor too: logged at
# level ERROR with the valid arguments, and the query command exits 1.
if vr query "SELECT * FROM azure_run_executions(rot='/')" >"$TMP/argerr.txt" 2>&1 ||
	! grep -q 'ERROR.*azure_run_executions: unexpected argument "rot" (valid arguments: root, ' "$TMP/argerr.txt"; then
	cat "$TMP/argerr.txt"
	fail "velociraptor query with a misspelt argument: no ERROR naming it, or exit 0"
fi

step "config"
# One definitions folder per run would need two --definitions flags, which
# Velociraptor does not take (the flag is a single string): the generated
# config lists both folders instead.
merge=$(printf '{"Datastore":{"location":"%s","filestore_directory":"%s"},"defaults":{"artifact_definitions_directories":["%s","%s"]}}' \
	"$TMP/datastore" "$TMP/datastore" "$ROOT/artifacts" "$ROOT/tests/artifacts_fixtures")
mkdir -p "$TMP/datastore"
if ! vr config generate --merge "$merge" >"$TMP/server.config.yaml" 2>"$TMP/config.log"; then
	cat "$TMP/config.log"
	echo "velociraptor config generate failed" >&2
	exit 1
fi

# ---------------------------------------------------------------- 1. golden
# One `velociraptor golden` per testcase (--filter): Velociraptor's runner
# stops at the first testcase that errors, which would hide the others.
# The copy holds no .out.yaml, so every output compared was written by
# Velociraptor in this run.
#
# tests/integration/known-differences/ records reviewed differences whose
# cause is known and reported (a vql-host bug, a testcase or artifact bug;
# README.md there says which): NAME.out.yaml is Velociraptor's expected
# output, NAME.error the error its runner must stop with, NAME.sed a
# normalisation applied to Velociraptor's output first (wall-clock values).
# A known difference that disappears fails the run until its files are
# deleted. UPDATE_KNOWN=1 records Velociraptor's current output again in
# every existing NAME.out.yaml (after a reviewed change to the testcase or
# the plugins; check it with git diff).
#
# Velociraptor's glob() descends into subdirectories in Go map order (glob/
# glob.go, ExpandWithContext: `for name, nexts := range children`), so a
# testcase that globs several directories without ORDER BY gets its rows
# in a different order from run to run; the vql host descends in name
# order. An output with exactly the same lines in another order is
# reported as ORDER (the testcase needs an ORDER BY), not as a failure.
# STRICT=1 makes every KNOWN and ORDER a failure.
step "golden testcases"
KNOWN=tests/integration/known-differences
mkdir -p "$TMP/testcases"
n=0
known=0
ordered=0
same_lines() { cmp -s <(LC_ALL=C sort "$1") <(LC_ALL=C sort "$2"); }
known_diff() {
	known=$((known + 1))
	echo "KNOWN golden $name: $* (see $KNOWN/README.md)"
	[ -z "${STRICT:-}" ] || fail "golden $name: known difference (STRICT=1)"
}
golden_case() { # IN WANT: run IN under Velociraptor, compare with WANT
	local in=$1 want=$2 name got err normalised
	name=$(basename "$in" .in.yaml)
	n=$((n + 1))
	got="$TMP/testcases/$name.out.yaml"
	cp "$in" "$TMP/testcases/"
	vr --config "$TMP/server.config.yaml" golden "$TMP/testcases" --filter "$name.in.yaml" \
		--env "srcDir=$ROOT" --disable_alarm >"$TMP/golden-$name.log" 2>&1
	err=$(grep -o 'error: golden: Running test .*' "$TMP/golden-$name.log" | sed 's/^error: golden: Running test [^:]*: //' | head -1)
	normalised=""
	if [ -f "$got" ] && [ -f "$KNOWN/$name.sed" ]; then
		mv "$got" "$got.raw"
		sed -E -f "$KNOWN/$name.sed" "$got.raw" >"$got"
		if cmp -s "$got.raw" "$got"; then
			fail "golden $name: $KNOWN/$name.sed changes nothing any more: delete it"
		else
			normalised=1
		fi
	fi
	if [ ! -f "$want" ]; then
		fail "golden $name: $want is missing (vql golden --update)"
	elif [ -n "$err" ] || [ ! -f "$got" ]; then
		if [ -f "$KNOWN/$name.error" ] && [ "$err" = "$(cat "$KNOWN/$name.error")" ]; then
			known_diff "Velociraptor's runner stops: $err"
		else
			fail "golden $name: Velociraptor's runner failed: ${err:-no output}"
			grep -v '^Not time to fire\|^Setting deadline\|^Disarming' "$TMP/golden-$name.log" | tail -5
		fi
	elif cmp -s "$want" "$got"; then
		if [ -f "$KNOWN/$name.out.yaml" ] || [ -f "$KNOWN/$name.error" ]; then
			fail "golden $name: now identical on both hosts: delete $KNOWN/$name.*"
		elif [ -n "$normalised" ]; then
			known_diff "identical after $KNOWN/$name.sed"
		else
			echo "ok   golden $name"
		fi
	elif same_lines "$want" "$got"; then
		if [ -f "$KNOWN/$name.out.yaml" ] || [ -f "$KNOWN/$name.error" ]; then
			fail "golden $name: now the same rows on both hosts: delete $KNOWN/$name.*"
		else
			ordered=$((ordered + 1))
			echo "ORDER golden $name: the same rows in another order (a glob() without ORDER BY)"
			[ -z "${STRICT:-}" ] || fail "golden $name: rows in another order (STRICT=1)"
		fi
	elif [ -f "$KNOWN/$name.out.yaml" ] && [ -n "${UPDATE_KNOWN:-}" ]; then
		cp "$got" "$KNOWN/$name.out.yaml"
		known_diff "recorded again in $KNOWN/$name.out.yaml (UPDATE_KNOWN=1: review with git diff)"
	elif [ -f "$KNOWN/$name.out.yaml" ] && same_lines "$KNOWN/$name.out.yaml" "$got"; then
		known_diff "differs as recorded in $KNOWN/$name.out.yaml"
	else
		fail "golden $name: Velociraptor's output differs from the vql host's"
		diff -u "$want" "$got" | head -"${DIFFLINES:-80}"
		if [ -f "$KNOWN/$name.out.yaml" ]; then
			echo "   (and from the recorded known difference $KNOWN/$name.out.yaml:)"
			diff -u "$KNOWN/$name.out.yaml" "$got" | head -"${DIFFLINES:-80}"
		fi
	fi
}

for in in tests/testcases/*.in.yaml; do
	golden_case "$in" "tests/testcases/$(basename "$in" .in.yaml).out.yaml"
done

# tests/integration/testcases: checks of the vql host's Velociraptor-compatible
# built-ins, with no stored output: `vql golden --update` writes the vql
# host's output in this run, and Velociraptor's must be the same.
mkdir -p "$TMP/vql-testcases"
cp tests/integration/testcases/*.in.yaml "$TMP/vql-testcases/"
"$VQL" golden "$TMP/vql-testcases" --update --env "srcDir=$ROOT" >"$TMP/vql-golden.log" 2>&1 || true
for in in tests/integration/testcases/*.in.yaml; do
	golden_case "$in" "$TMP/vql-testcases/$(basename "$in" .in.yaml).out.yaml"
done
echo "$n testcases: $known known differences, $ordered in another order"

# ---------------------------------------------------------------- 2. verify
step "artifacts verify"
mapfile -t yamls < <(find artifacts -name '*.yaml' | sort)
if vr artifacts verify "${yamls[@]}" >"$TMP/verify.log" 2>&1; then
	echo "ok   velociraptor artifacts verify: ${#yamls[@]} artifacts"
else
	cat "$TMP/verify.log"
	fail "velociraptor artifacts verify"
fi

# tests/bad_artifacts: every file breaks one rule and `vql artifacts verify`
# rejects each (tests/verify_test.go); Velociraptor must reject them too,
# except the ones in vql_stricter. Those are deliberate: vql's verifier is
# stricter than Velociraptor v0.75.2's, which accepts a parameter type it
# does not know (`boolean`: it treats the parameter as a string) or does not
# support for collection (`starlark`). They are reported as ok, not as
# differences to fix; if Velociraptor ever rejects one, the list is stale.
vql_stricter=" unknown_param_type.yaml unsupported_param_type.yaml "
mapfile -t bads < <(find tests/bad_artifacts -name '*.yaml' | sort)
for f in "${bads[@]}"; do
	b=$(basename "$f")
	if "$VQL" artifacts verify "$f" >"$TMP/verify-bad-vql-$b.log" 2>&1; then
		fail "vql artifacts verify accepts $f"
		continue
	fi
	if vr artifacts verify "$f" >"$TMP/verify-bad-$b.log" 2>&1; then
		if [[ $vql_stricter == *" $b "* ]]; then
			echo "ok   bad artifact $b: rejected by vql, accepted by Velociraptor (vql's verifier is stricter on purpose)"
		else
			fail "velociraptor artifacts verify accepts $f (vql rejects it)"
		fi
	elif [[ $vql_stricter == *" $b "* ]]; then
		fail "velociraptor artifacts verify now rejects $f: drop it from vql_stricter in $0"
	else
		echo "ok   bad artifact $b: rejected by both"
	fi
done

# ---------------------------------------------------------------- 3. collect
# collect NAME ROOT OUT [velociraptor flags...]: every source of NAME as
# JSON; fails on a non-zero exit or an error in the log.
collect() {
	local name=$1 root=$2 out=$3
	shift 3
	local args=()
	case "$root" in
	"") ;;
	*=*) args=(--args "$root") ;; # another parameter than Root (Image=...)
	*) args=(--args "Root=$root") ;;
	esac
	if ! vr "$@" --definitions "$ROOT/artifacts" artifacts collect "$name" \
		"${args[@]}" --format json >"$out" 2>"$out.log"; then
		tail -20 "$out.log"
		fail "collect $name ${root:-(default Root)}: exit status"
		return 1
	fi
	if grep -Ei '(^|[^a-z])(error|panic)' "$out.log" | grep -v 'level=info' >/dev/null; then
		grep -Ei '(^|[^a-z])(error|panic)' "$out.log" | head -10
		fail "collect $name ${root:-(default Root)}: errors in the log"
		return 1
	fi
	return 0
}

# Hunt artifacts: Linux.*, Windows.*, Generic.* from artifacts/.
mapfile -t names < <(grep -h '^name:' "${yamls[@]}" | awk '{print $2}' | sort)
step "collect ${#names[@]} artifacts on the fixtures"
for name in "${names[@]}"; do
	case "$name" in
	Windows.Azure.DeletedExtensions) roots=("Image=$ROOT/tests/images/windows-deleted.ntfs") ;; # reads an NTFS volume, not a folder
	Linux.*) roots=("$ROOT/tests/fixtures/linux") ;;
	Windows.*) roots=("$ROOT/tests/fixtures/windows") ;;
	*) roots=("$ROOT/tests/fixtures/linux" "$ROOT/tests/fixtures/windows") ;;
	esac
	for r in "${roots[@]}"; do
		tree=$(basename "$r")
		out="$TMP/collect-$name-$tree.json"
		collect "$name" "$r" "$out" || continue
		rows=$(grep -c '^ *"' "$out" || true)
		if [[ $name == *RunCommand* || $name == *Executions* ]] && ! grep -q '"SeqNo"' "$out"; then
			fail "collect $name on $tree: no executions"
			continue
		fi
		echo "ok   collect $name on $tree ($(wc -c <"$out") bytes, $rows lines)"
	done
done

# ---------------------------------------------------------------- 4. dead disk
step "dead disk: Windows artifacts through a remapping of tests/fixtures/windows"
if vr deaddisk --add_windows_directory "$ROOT/tests/fixtures/windows" "$TMP/remap.yaml" >"$TMP/deaddisk.log" 2>&1; then
	for name in "${names[@]}"; do
		case "$name" in Windows.Azure.DeletedExtensions) echo "skip remapped $name: it reads an NTFS volume (Image=), not a folder"; continue ;; Windows.*) ;; *) continue ;; esac
		out="$TMP/remap-$name.json"
		collect "$name" "" "$out" --remap "$TMP/remap.yaml" || continue
		if cmp -s "$out" "$TMP/collect-$name-windows.json"; then
			echo "ok   remapped $name: same rows as with Root=tests/fixtures/windows"
		elif same_lines "$out" "$TMP/collect-$name-windows.json"; then
			echo "ok   remapped $name: same rows as with Root=tests/fixtures/windows (in another order: a glob() without ORDER BY)"
		else
			fail "remapped $name: rows differ from the direct collection"
			diff -u "$TMP/collect-$name-windows.json" "$out" | head -${DIFFLINES:-40}
		fi
	done
else
	cat "$TMP/deaddisk.log"
	fail "velociraptor deaddisk"
fi

# ---------------------------------------------------------------- 5. NTFS image
# The same through a real NTFS partition image (Velociraptor's raw_ntfs and
# ntfs accessors): only where mkntfs and a FUSE ntfs-3g mount work (here as
# root; CI without them skips). `velociraptor deaddisk --add_windows_disk`
# of v0.75.2 writes two things its own loader rejects or misreads for a bare
# partition image, fixed here: registry hive mounts with `prefix: {}` (a
# pathspec() marshalled as an empty map: "cannot unmarshal !!map into
# string"; dropped, azvql reads no registry) and the image as a plain path
# prefix for raw_ntfs (which needs a pathspec: DelegatePath=image).
step "NTFS image: Windows artifacts through deaddisk --add_windows_disk"
if command -v mkntfs >/dev/null && command -v ntfs-3g >/dev/null && [ -e /dev/fuse ] && [ "$(id -u)" = 0 ]; then
	img="$TMP/windows.ntfs"
	mnt="$TMP/ntfs-mnt"
	mkdir -p "$mnt"
	truncate -s 16M "$img"
	if mkntfs -q -F -Q -L azvql "$img" >/dev/null 2>&1 && timeout 30 ntfs-3g "$img" "$mnt" 2>/dev/null; then
		cp -a tests/fixtures/windows/. "$mnt/"
		fusermount -u "$mnt" 2>/dev/null || umount "$mnt"
		if vr deaddisk --add_windows_disk "$img" "$TMP/remap-img.raw.yaml" >"$TMP/deaddisk-img.log" 2>&1; then
			awk '/^- /{ if (blk != "" && blk !~ /prefix: \{\}/) printf "%s", blk; blk = $0 "\n"; next }
			     { if (blk == "") print; else blk = blk $0 "\n" }
			     END { if (blk !~ /prefix: \{\}/) printf "%s", blk }' "$TMP/remap-img.raw.yaml" |
				sed "s#^\(    prefix: \)$img\$#\1'{\"DelegateAccessor\":\"file\",\"DelegatePath\":\"$img\",\"Path\":\"/\"}'#" \
					>"$TMP/remap-img.yaml"
			for name in "${names[@]}"; do
				case "$name" in Windows.Azure.DeletedExtensions) echo "skip NTFS image $name: Velociraptor's ntfs accessor does not hand the volume to azvql's plugins (Image= is collected in step 3)"; continue ;; Windows.*) ;; *) continue ;; esac
				out="$TMP/ntfs-$name.json"
				collect "$name" "" "$out" --remap "$TMP/remap-img.yaml" || continue
				if cmp -s "$out" "$TMP/collect-$name-windows.json"; then
					echo "ok   NTFS image $name: same rows as with Root=tests/fixtures/windows"
				elif same_lines "$out" "$TMP/collect-$name-windows.json"; then
					echo "ok   NTFS image $name: same rows as with Root=tests/fixtures/windows (in another order: a glob() without ORDER BY)"
				else
					fail "NTFS image $name: rows differ from the direct collection"
					diff -u "$TMP/collect-$name-windows.json" "$out" | head -"${DIFFLINES:-40}"
				fi
			done
		else
			cat "$TMP/deaddisk-img.log"
			fail "velociraptor deaddisk --add_windows_disk"
		fi
	else
		echo "skip (mkntfs or the ntfs-3g mount failed here)"
	fi
else
	echo "skip (needs mkntfs, ntfs-3g, /dev/fuse and root: apt-get install ntfs-3g)"
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "test-integration: ${#failures[@]} failure(s):"
	printf '  %s\n' "${failures[@]}"
	exit 1
fi
echo "test-integration: ok"
