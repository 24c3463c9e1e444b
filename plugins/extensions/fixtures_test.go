package extensions

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/azvql/azvql/internal/fixtures"
)

// fixtureTree copies tests/fixtures/<name>/ into a temp dir (symlinks
// kept as links) and applies <name>.times.tsv there, so tests see the
// fixture's times without touching the repository's files. It skips the
// test when the fixture is absent.
func fixtureTree(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "tests", "fixtures")
	if _, err := os.Stat(filepath.Join(src, name)); err != nil {
		t.Skipf("fixture %s absent", name)
	}
	dst, err := fixtures.CopyAndApply(src, name, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func dumpRows(t *testing.T, rows []map[string]any) {
	if testing.Verbose() {
		b, _ := json.MarshalIndent(rows, "", " ")
		t.Logf("%s", b)
	}
}
