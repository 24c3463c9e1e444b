package goalstate

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

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
// applies tests/fixtures/<name>.times.tsv to the copy (files first, then
// directories, deepest first), so tests see the manifest's times without
// touching the repository.
func fixtureCopy(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join(repoFixtures, name)
	dst := filepath.Join(t.TempDir(), name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, in)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	applyTimes(t, dst, filepath.Join(repoFixtures, name+".times.tsv"))
	return dst
}

func applyTimes(t testing.TB, root, manifest string) {
	t.Helper()
	f, err := os.Open(manifest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type entry struct {
		path  string
		mtime time.Time
		dir   bool
	}
	var list []entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 2 {
			t.Fatalf("%s: bad line %q", manifest, line)
		}
		ts, err := time.Parse(time.RFC3339Nano, parts[1])
		if err != nil {
			t.Fatalf("%s: %v", manifest, err)
		}
		p := filepath.Join(root, filepath.FromSlash(parts[0]))
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", manifest, err)
		}
		list = append(list, entry{p, ts, st.IsDir()})
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].dir != list[j].dir {
			return !list[i].dir
		}
		return strings.Count(list[i].path, string(filepath.Separator)) > strings.Count(list[j].path, string(filepath.Separator))
	})
	for _, e := range list {
		if err := os.Chtimes(e.path, e.mtime, e.mtime); err != nil {
			t.Fatal(err)
		}
	}
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
