package goalstate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/azvql/azvql/internal/fixtures"

	"github.com/azvql/azvql/plugins/evidence"
)

// repoFixtures is tests/fixtures, from this package's directory.
const repoFixtures = "../../tests/fixtures"

// fixtureFile reads a file of a fixture tree.
func fixtureFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoFixtures, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureCopy copies tests/fixtures/<name>/ to a temporary directory and
// applies tests/fixtures/<name>.times.tsv to the copy, so tests see the
// manifest's times without touching the repository.
func fixtureCopy(t testing.TB, name string) string {
	t.Helper()
	dst, err := fixtures.CopyAndApply(repoFixtures, name, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// walkResult is what a walk produced.
type walkResult struct {
	Rows []*Row
	Logs []string
}

func (w walkResult) logText() string { return strings.Join(w.Logs, "\n") }

func (w walkResult) bySource(source, member string) []*Row {
	var out []*Row
	for _, r := range w.Rows {
		if r.Source == source && r.Member == member {
			out = append(out, r)
		}
	}
	return out
}

func walkRoot(t testing.TB, root *evidence.Root, redact bool) walkResult {
	t.Helper()
	var res walkResult
	w := &Walker{
		Root: root,
		Opts: Options{Redact: redact},
		Logf: func(format string, args ...interface{}) { res.Logs = append(res.Logs, fmt.Sprintf(format, args...)) },
		Emit: func(r *Row) bool { res.Rows = append(res.Rows, r); return true },
	}
	w.Walk(context.Background())
	return res
}

func walkDir(t testing.TB, dir string, redact bool) walkResult {
	t.Helper()
	return walkRoot(t, evidence.NewRoot(evidence.OSAccessor{}, dir), redact)
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func i64(p *int64) interface{} {
	if p == nil {
		return nil
	}
	return *p
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
