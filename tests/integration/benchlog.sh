# Sourced by bench-compare.sh and bench-e2e.sh: generates LOG (SIZE) with
# tools/loggen when it is missing, sets bytes to its size and TMP to a
# scratch folder removed on exit.
if [ ! -s "$LOG" ]; then
	mkdir -p "$(dirname "$LOG")"
	echo "generating $LOG ($SIZE) with tools/loggen"
	go run ./tools/loggen -size "$SIZE" -out "$LOG"
fi
bytes=$(wc -c <"$LOG")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/azvql-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
